import net from 'node:net';
import t from 'tap';
import { backoffMs, neverSent, retryable } from '../../client/retry.js';
import { RpcClient } from '../../rpc/client.js';
import { ConnectionError, InvalidArgumentError, TimeoutError, UnavailableError } from '../../rpc/errors.js';
import { Methods } from '../../rpc/methods.js';
import { deadAddress } from './fake-kv-server.js';

async function errorOf(p: Promise<unknown>): Promise<unknown> {
  return p.then(() => undefined, (e: unknown) => e);
}

// Write failover depends on the real RPC client flagging the errors of requests that never left.
t.test('the real RpcClient\'s refused and backing-off errors count as never sent', async (t) => {
  const rpc = new RpcClient({ backoffBaseMs: 60_000, random: () => 0.99 });
  t.teardown(() => rpc.destroy());
  const dead = await deadAddress();
  const refused = await errorOf(rpc.call(dead, Methods.Ping, {}, { timeoutMs: 2000 }));
  t.type(refused, ConnectionError);
  t.ok(neverSent(refused), `refused: ${(refused as Error).message}`);
  const backingOff = await errorOf(rpc.call(dead, Methods.Ping, {}, { timeoutMs: 2000 }));
  t.type(backingOff, ConnectionError);
  t.ok(neverSent(backingOff), `backing off: ${(backingOff as Error).message}`);
});

t.test('a connection that broke after the request was sent does not count as never sent', async (t) => {
  // A peer that accepts, reads the request, and hangs up without answering.
  const srv = net.createServer((sock) => sock.once('data', () => sock.destroy()));
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  t.teardown(() => new Promise<void>((r) => srv.close(() => r())));
  const rpc = new RpcClient();
  t.teardown(() => rpc.destroy());
  const port = (srv.address() as net.AddressInfo).port;
  const err = await errorOf(rpc.call(`127.0.0.1:${port}`, Methods.Put, { key: Buffer.from('k') }, { timeoutMs: 5000 }));
  t.type(err, ConnectionError);
  t.notOk(neverSent(err), `broken mid-request: ${(err as Error).message}`);
  t.notOk(retryable(err, false), 'a write is not retried');
  t.ok(retryable(err, true), 'a read is');
});

t.test('which errors are retried', (t) => {
  t.ok(retryable(new UnavailableError('x'), true));
  t.ok(retryable(new TimeoutError('x'), true));
  t.notOk(retryable(new TimeoutError('x'), false));
  t.notOk(retryable(new InvalidArgumentError('x'), true));
  t.notOk(retryable(new Error('x'), true));
  t.ok(retryable(ConnectionError.notSent('refused'), false), 'a write that never left is retried');
  t.ok(retryable(new UnavailableError('node n3 has no committed ring yet'), false), 'a write refused by a node without a ring is retried');
  t.notOk(retryable(new UnavailableError('2 of 3 needed', { acks: 1, required: 2 }), false), 'a write that missed its quorum is not');
  t.notOk(retryable(new ConnectionError('broke'), false), 'a write that may have arrived is not');
  t.ok(retryable(new ConnectionError('broke'), true), 'a read is, either way');
  t.end();
});

t.test('backoff is full jitter under an exponential ceiling', (t) => {
  const p = { baseMs: 20, maxMs: 1000, random: () => 0.999 };
  t.same([1, 2, 3, 4, 5, 6, 7, 30].map((k) => backoffMs(k, p)), [19, 39, 79, 159, 319, 639, 999, 999]);
  t.equal(backoffMs(3, { ...p, random: () => 0 }), 0);
  t.end();
});
