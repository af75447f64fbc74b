import t from 'tap';
import { Methods } from '../../rpc/methods.js';
import { echoPair } from './helpers.js';

t.test('a Ping round trip echoes the payload', async (t) => {
  const p = await echoPair();
  t.teardown(() => p.stop());
  const res = await p.client.call(p.addr, Methods.Ping, { payload: Buffer.from('hello') });
  t.equal(res.nodeId, 'test');
  t.equal(Buffer.from(res.payload).toString(), 'hello');
});
