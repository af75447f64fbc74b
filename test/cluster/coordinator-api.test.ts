/**
 * The client API over a real RPC server (127.0.0.1, port 0) on an in-memory cluster: Get/Put/Delete/Batch
 * answers, and the status each coordinator failure travels as (UNAVAILABLE with acks/required, no ring
 * yet, INVALID_ARGUMENT, SHUTTING_DOWN while draining).
 */
import t from 'tap';
import { RequestGate, registerClientApi } from '../../cluster/coordinator-api.js';
import { RpcClient } from '../../rpc/client.js';
import { InvalidArgumentError, ShuttingDownError, Status, UnavailableError } from '../../rpc/errors.js';
import { silentLogger } from '../../rpc/logger.js';
import { Methods } from '../../rpc/methods.js';
import { RpcServer } from '../../rpc/server.js';
import { Client } from '../../client/index.js';
import { makeFixture } from './data-fixture.js';

const enc = (s: string): Buffer => Buffer.from(s);

t.test('client methods over RPC and their error statuses', async (t) => {
  const f = await makeFixture(t, ['a', 'b', 'c']);
  const server = new RpcServer({ logger: silentLogger });
  const gate = new RequestGate();
  registerClientApi(server, f.node('a').coordinator, gate);
  const addr = await server.listen(0, '127.0.0.1');
  t.teardown(() => server.stop());
  const client = new RpcClient({ connectTimeoutMs: 1000, defaultTimeoutMs: 3000 });
  t.teardown(() => client.destroy());
  const at = `127.0.0.1:${addr.port}`;

  const put = await client.call(at, Methods.Put, { key: enc('k'), value: enc('v') });
  t.equal(put.status, Status.OK, 'Put answers OK');
  t.ok(put.acks >= 2 && put.timestamp.toNumber() > 0, `with ${put.acks} acks and a timestamp`);
  const got = await client.call(at, Methods.Get, { key: enc('k'), r: { named: 3 }, blockingReadRepair: true });
  t.equal(got.status, Status.OK, 'Get with R=ALL answers OK');
  t.equal(Buffer.from(got.value).toString(), 'v', 'with the value');
  t.equal(got.timestamp.toString(), put.timestamp.toString(), 'and the put\'s timestamp');
  const del = await client.call(at, Methods.Delete, { key: enc('k') });
  t.equal(del.status, Status.OK, 'Delete answers OK');
  t.equal((await client.call(at, Methods.Get, { key: enc('k') })).status, Status.NOT_FOUND, 'then Get answers NOT_FOUND in its payload');

  const batch = await client.call(at, Methods.Batch, {
    mutations: [
      { kind: 0, key: enc('b1'), value: enc('1') },
      { kind: 0, key: Buffer.alloc(0), value: enc('x') },
      { kind: 1, key: enc('b1') },
    ],
  });
  t.same(batch.results.map((r) => r.status), [Status.OK, Status.INVALID_ARGUMENT, Status.OK], 'Batch reports each mutation, a bad one among good ones');
  t.match(batch.results[1]!.message, /key must not be empty/, 'with the reason');

  await t.rejects(client.call(at, Methods.Put, { key: enc('k'), value: enc('v'), w: { count: 4 } }), InvalidArgumentError, 'W=4 > N: INVALID_ARGUMENT');
  await t.rejects(client.call(at, Methods.Get, { key: Buffer.alloc(0) }), InvalidArgumentError, 'empty key: INVALID_ARGUMENT');

  f.down.add('b');
  f.down.add('c');
  const err = await client.call(at, Methods.Put, { key: enc('k'), value: enc('v') }).catch((e: unknown) => e);
  t.ok(err instanceof UnavailableError, 'two replicas down: UNAVAILABLE');
  t.equal((err as UnavailableError).acks, 1, 'ErrorDetail.acks = 1');
  t.equal((err as UnavailableError).required, 2, 'ErrorDetail.required = 2');
  t.match((err as Error).message, /2 of 3 replicas needed, 1 acknowledged/);
  f.down.clear();

  f.setState({ ...f.state(), created: false });
  await t.rejects(client.call(at, Methods.Get, { key: enc('k') }), { constructor: UnavailableError, message: /no committed ring yet/ }, 'no committed ring: UNAVAILABLE saying so');

  await gate.drain(1000);
  await t.rejects(client.call(at, Methods.Get, { key: enc('k') }), ShuttingDownError, 'once draining: SHUTTING_DOWN');
});

t.test('durable: true from the client makes Put, Delete and Batch fdatasync on every replica', async (t) => {
  const ids = ['a', 'b', 'c'];
  const f = await makeFixture(t, ids, undefined, { syncIntervalMs: 3_600_000 }); // no periodic sync meanwhile
  const server = new RpcServer({ logger: silentLogger });
  registerClientApi(server, f.node('a').coordinator, new RequestGate());
  const addr = await server.listen(0, '127.0.0.1');
  t.teardown(() => server.stop());
  const client = new Client({ seeds: [`127.0.0.1:${addr.port}`], tokenAware: false });
  t.teardown(() => client.close());
  const all = { consistency: 'ALL' as const };
  await client.put('put', 'v', { ...all, durable: true });
  await client.put('deleted', 'v', all);
  await client.del('deleted', { ...all, durable: true });
  await client.batch([{ type: 'put', key: 'batched', value: 'v' }], { ...all, durable: true });
  await client.put('plain', 'v', all); // last: an fdatasync after it would cover it too
  await t.rejects(client.put('k', 'v', { durable: 'yes' as unknown as boolean }), { code: 'RPC_INVALID_ARGUMENT' }, 'a non-boolean durable is refused');
  await f.node('a').coordinator.drain();
  const seen = { put: 0, batched: 0, deleted: 0, plain: 0 };
  for (const id of ids) {
    const store = await f.node(id).crashAndReopen();
    for (const k of ['put', 'batched', 'plain'] as const) if ((await store.get(enc(k)))?.tombstone === false) seen[k]++;
    if ((await store.get(enc('deleted')))?.tombstone === true) seen.deleted++;
  }
  t.same(seen, { put: 3, batched: 3, deleted: 3, plain: 0 }, 'durable writes survive a power loss of every replica; the default one was not yet synced');
});
