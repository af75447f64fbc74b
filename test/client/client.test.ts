import t, { type Test } from 'tap';
import { Client, InvalidArgumentError, TimeoutError, UnavailableError } from '../../client/index.js';
import type { FakeKvServer } from './fake-kv-server.js';
import { deadAddress, startFakeKvServer } from './fake-kv-server.js';

async function fake(t: Test): Promise<FakeKvServer> {
  const s = await startFakeKvServer();
  t.teardown(() => s.stop());
  return s;
}

function client(t: Test, seeds: string[], extra: Partial<ConstructorParameters<typeof Client>[0]> = {}): Client {
  const c = new Client({ seeds, random: () => 0.5, ...extra });
  t.teardown(() => c.close());
  return c;
}

t.test('put, get and del round-trip strings and bytes; a missing key is undefined, an empty value is a value', async (t) => {
  const s = await fake(t);
  const c = client(t, [s.address]);
  const w = await c.put('k1', 'v1');
  t.equal(w.acks, 3);
  t.type(w.timestamp, 'bigint');
  t.same(await c.get('k1'), Buffer.from('v1'));
  await c.put(Buffer.from([0, 255, 1]), new Uint8Array([9, 0, 9]));
  t.same(await c.get(new Uint8Array([0, 255, 1])), Buffer.from([9, 0, 9]));
  await c.put('empty', '');
  const empty = await c.get('empty');
  t.ok(Buffer.isBuffer(empty), 'an empty value comes back as a Buffer');
  t.equal(empty?.length, 0);
  t.equal(await c.get('never-set'), undefined);
  const d = await c.del('k1');
  t.ok(d.timestamp > w.timestamp, 'the delete has a newer version');
  t.equal(await c.get('k1'), undefined);
  await c.del('never-set');
});

t.test('batch applies each mutation and reports each result in order', async (t) => {
  const s = await fake(t);
  const c = client(t, [s.address]);
  await c.put('gone', 'x');
  const res = await c.batch([
    { type: 'put', key: 'a', value: '1' },
    { type: 'del', key: 'gone' },
    { type: 'put', key: 'b', value: '' },
  ]);
  t.same(res.map((r) => r.ok), [true, true, true]);
  t.same(await c.get('a'), Buffer.from('1'));
  t.equal(await c.get('gone'), undefined);
  t.equal((await c.get('b'))?.length, 0);
  t.same(await c.batch([]), [], 'an empty batch sends nothing');
  t.equal(s.calls.Batch, 1);
  await t.rejects(c.batch([{ type: 'nope', key: 'k' } as never]), InvalidArgumentError);
});

t.test('consistency travels per request and bad values are refused with InvalidArgumentError', async (t) => {
  const s = await fake(t);
  const c = client(t, [s.address], { defaultConsistency: 'ONE' });
  await c.put('k', 'v');
  await c.put('k', 'v', { consistency: 'ALL' });
  await c.get('k', { consistency: 2 });
  await c.get('k', { consistency: 'quorum' });
  await c.del('k', { consistency: '3' });
  t.same(s.consistency, [1, 3, 2, 2, 3], 'ONE (default), ALL, 2, QUORUM, 3 as the server resolved them');
  const calls = s.calls.Put;
  await t.rejects(c.put('k', 'v', { consistency: 0 }), InvalidArgumentError, 'a count of 0 is refused locally');
  await t.rejects(c.put('k', 'v', { consistency: 'MOST' }), { name: 'InvalidArgumentError', message: /unknown consistency "MOST"/ });
  t.equal(s.calls.Put, calls, 'nothing was sent for a locally refused consistency');
  await t.rejects(c.get('k', { consistency: 5 }), { name: 'InvalidArgumentError', code: 'RPC_INVALID_ARGUMENT', message: /only N=3/ }, 'R above N is refused by the server');
  await t.rejects(c.get(''), InvalidArgumentError, 'an empty key is refused');
  await t.rejects(c.get(42 as never), InvalidArgumentError);
});

t.test('constructor options are checked', (t) => {
  t.throws(() => new Client({ seeds: [] }), InvalidArgumentError);
  t.throws(() => new Client(undefined as never), InvalidArgumentError);
  t.throws(() => new Client({ seeds: ['127.0.0.1:1'], retries: -1 }), InvalidArgumentError);
  t.throws(() => new Client({ seeds: ['127.0.0.1:1'], defaultDeadlineMs: 0 }), InvalidArgumentError);
  t.throws(() => new Client({ seeds: ['127.0.0.1:1'], defaultConsistency: 'SOME' }), InvalidArgumentError);
  t.end();
});

t.test('fails over from a dead seed to a live one, for reads and for writes', async (t) => {
  const s = await fake(t);
  const dead = await deadAddress();
  const c = client(t, [dead, s.address]);
  for (let i = 0; i < 6; i++) await c.put(`k${i}`, `v${i}`, { deadlineMs: 3000 });
  for (let i = 0; i < 6; i++) t.same(await c.get(`k${i}`, { deadlineMs: 3000 }), Buffer.from(`v${i}`));
  t.equal(s.calls.Put, 6, 'each write reached the live node exactly once');
});

t.test('keeps serving when a node it was using stops', async (t) => {
  const a = await fake(t);
  const b = await fake(t);
  const c = client(t, [a.address, b.address]);
  for (let i = 0; i < 4; i++) await c.get('k');
  t.ok((a.calls.Get ?? 0) > 0 && (b.calls.Get ?? 0) > 0, 'requests are spread over the seeds');
  await a.stop();
  for (let i = 0; i < 6; i++) await c.put(`after${i}`, 'x');
  for (let i = 0; i < 6; i++) t.same(await c.get(`after${i}`), Buffer.from('x'));
});

t.test('reads are retried on UNAVAILABLE, on another seed; writes are not', async (t) => {
  const a = await fake(t);
  const b = await fake(t);
  a.failWith = new UnavailableError('1 of 2 replicas answered', { acks: 1, required: 2 });
  b.data.set('k', Buffer.from('v'));
  const c = client(t, [a.address, b.address]);
  for (let i = 0; i < 4; i++) t.same(await c.get('k'), Buffer.from('v'), `read ${i} succeeds`);
  t.ok((a.calls.Get ?? 0) >= 1, 'the failing node was tried');
  b.failWith = a.failWith;
  const err = await c.put('k', 'v2').then(() => undefined, (e: unknown) => e);
  t.type(err, UnavailableError);
  t.match(err, { code: 'RPC_UNAVAILABLE', acks: 1, required: 2, message: /1 of 2 replicas/ }, 'the detail survives the wire');
  t.equal((a.calls.Put ?? 0) + (b.calls.Put ?? 0), 1, 'a write that reached a node is not retried');
});

t.test('a read retries at most `retries` times', async (t) => {
  const s = await fake(t);
  s.failWith = new UnavailableError('no quorum', { acks: 1, required: 2 });
  const c = client(t, [s.address], { retries: 2, backoffBaseMs: 1 });
  await t.rejects(c.get('k'), UnavailableError);
  t.equal(s.calls.Get, 3, 'one try and two retries');
  const none = client(t, [s.address], { retries: 0 });
  await t.rejects(none.get('k'), UnavailableError);
  t.equal(s.calls.Get, 4);
});

t.test('the deadline bounds a request, retries included', async (t) => {
  const s = await fake(t);
  let release!: () => void;
  s.stall = new Promise((r) => (release = r));
  t.teardown(() => release());
  const c = client(t, [s.address]);
  const start = Date.now();
  await t.rejects(c.get('k', { deadlineMs: 300 }), TimeoutError);
  const took = Date.now() - start;
  t.ok(took >= 290 && took < 3000, `gave up after ${took} ms`);
  await t.rejects(c.put('k', 'v', { deadlineMs: 200 }), { name: 'TimeoutError', code: 'RPC_TIMEOUT' });
  t.equal(s.calls.Put, 1, 'a write that timed out is not retried: it may have been applied');
  const ac = new AbortController();
  const p = c.get('k', { signal: ac.signal });
  ac.abort();
  await t.rejects(p, { code: 'RPC_CANCELLED' });
});

t.test('after close, requests fail with a connection error and are not retried', async (t) => {
  const s = await fake(t);
  const c = new Client({ seeds: [s.address] });
  await c.put('k', 'v');
  await c.close();
  await t.rejects(c.get('k'), { code: 'RPC_CONNECTION', message: /closed/ });
});
