/**
 * Last-write-wins across nodes whose clocks disagree. A node's clock can run behind another's; without
 * care, a write it coordinates gets an older timestamp than a write the client made before, and the
 * earlier value wins. Two rules prevent it (cluster/coordinator-api.ts, cluster/replica-service.ts):
 *   - replicas move their hybrid clock past every record they store (the HLC receive rule);
 *   - a client sends the newest version it has seen (`after`) with every write, and the coordinator
 *     moves its clock past it before stamping — this covers a coordinator that is not a replica.
 * An in-memory 4-node cluster (N=3) whose node `slow` runs 5 s behind, serving the client API over RPC.
 */
import Long from 'long';
import t, { type Test } from 'tap';
import { Client } from '../../client/index.js';
import { RequestGate, registerClientApi } from '../../cluster/coordinator-api.js';
import { compareTimestamps } from '../../cluster/hlc.js';
import { ringOf } from '../../cluster/state/cluster-state.js';
import { RpcClient } from '../../rpc/client.js';
import { InvalidArgumentError, Status, UnavailableError } from '../../rpc/errors.js';
import { silentLogger } from '../../rpc/logger.js';
import { Methods } from '../../rpc/methods.js';
import { RpcServer } from '../../rpc/server.js';
import { clusterState, makeFixture, type Fixture } from './data-fixture.js';

const SKEW_MS = 5000;
const ids = ['a', 'b', 'c', 'slow'];
const enc = (s: string): Buffer => Buffer.from(s);

async function serve(t: Test, f: Fixture, id: string): Promise<string> {
  const server = new RpcServer({ logger: silentLogger });
  registerClientApi(server, f.node(id).coordinator, new RequestGate());
  const addr = await server.listen(0, '127.0.0.1');
  t.teardown(() => server.stop());
  return `127.0.0.1:${addr.port}`;
}

/** A key whose N=3 replicas do (or do not) include `node`. */
function keyWhere(f: Fixture, node: string, replica: boolean): string {
  const ring = ringOf(f.state());
  for (let i = 0; ; i++) {
    const key = `key-${i}`;
    if (ring.preferenceList(ring.partitionOf(enc(key))).includes(node) === replica) return key;
  }
}

async function setup(t: Test) {
  const f = await makeFixture(t, ids, clusterState(ids), { wall: (id) => (id === 'slow' ? () => Date.now() - SKEW_MS : Date.now) });
  const rpc = new RpcClient({ connectTimeoutMs: 1000, defaultTimeoutMs: 3000 });
  t.teardown(() => rpc.destroy());
  return { f, rpc, fast: await serve(t, f, 'a'), slow: await serve(t, f, 'slow') };
}

const versionOf = (v: { physicalMs?: unknown; logical?: number | null; node?: string | null } | null | undefined) => ({
  physicalMs: Number(v?.physicalMs ?? 0),
  logical: v?.logical ?? 0,
  node: v?.node ?? '',
});

t.test('a lagging coordinator orders a write after the version the client sends as `after`', async (t) => {
  const { f, rpc, fast, slow } = await setup(t);
  const key = enc(keyWhere(f, 'slow', false)); // slow never stores it: only the token can help
  const first = await rpc.call(fast, Methods.Put, { key, value: enc('first') });
  const v1 = versionOf(first.version);
  t.equal(v1.node, 'a', 'a Put answers its version in full (node)');
  t.equal(v1.physicalMs, first.timestamp.toNumber(), 'with the same milliseconds as `timestamp`');

  const blind = await rpc.call(slow, Methods.Put, { key, value: enc('blind') });
  t.ok(compareTimestamps(versionOf(blind.version), v1) < 0, 'without the token, the slow node stamps an OLDER version (the bug this guards against)');
  const afterBlind = await rpc.call(fast, Methods.Get, { key, r: { named: 3 } });
  t.equal(Buffer.from(afterBlind.value).toString(), 'first', 'so that write loses under last-write-wins');

  const second = await rpc.call(slow, Methods.Put, { key, value: enc('second'), after: first.version });
  t.ok(compareTimestamps(versionOf(second.version), v1) > 0, 'with `after`, the slow node stamps a newer version');
  const got = await rpc.call(fast, Methods.Get, { key, r: { named: 3 } });
  t.equal(Buffer.from(got.value).toString(), 'second', 'and a read at ALL returns the later write');
  t.same(versionOf(got.version), versionOf(second.version), 'Get answers the version it returns');
});

t.test('a replica moves its clock past every record it stores (HLC receive rule)', async (t) => {
  const { f, rpc, fast, slow } = await setup(t);
  const key = enc(keyWhere(f, 'slow', true));
  const first = await rpc.call(fast, Methods.Put, { key, value: enc('first'), w: { named: 3 } });
  const second = await rpc.call(slow, Methods.Put, { key, value: enc('second') }); // no token
  t.ok(compareTimestamps(versionOf(second.version), versionOf(first.version)) > 0, 'the slow replica stamps after the version it stored');
  const got = await rpc.call(fast, Methods.Get, { key, r: { named: 3 } });
  t.equal(Buffer.from(got.value).toString(), 'second', 'the later write wins');
});

t.test('a bad or implausible `after` is refused before anything is written', async (t) => {
  const { f, rpc, fast } = await setup(t);
  const key = enc('k');
  await t.rejects(rpc.call(fast, Methods.Put, { key, value: enc('x'), after: { physicalMs: Long.fromNumber(1, true), logical: 0, node: '' } }), InvalidArgumentError, 'an empty node id: INVALID_ARGUMENT');
  const ahead = { physicalMs: Long.fromNumber(Date.now() + 10 * 60_000, true), logical: 0, node: 'elsewhere' };
  const err = await rpc.call(fast, Methods.Put, { key, value: enc('x'), after: ahead }).then(
    () => undefined,
    (e: unknown) => e,
  );
  t.type(err, UnavailableError, 'a version 10 minutes ahead of the node clock: UNAVAILABLE (retry elsewhere)');
  t.match((err as Error).message, /ahead of our clock/, 'saying why');
  t.notOk((err as UnavailableError).required, 'without `required`: nothing was written, a client may retry the write');
  t.equal((await rpc.call(fast, Methods.Get, { key, r: { named: 3 } })).status, Status.NOT_FOUND, 'nothing was written');
  t.ok((await f.node('a').store.get(key)) === undefined, 'not even on the coordinator');
});

t.test('the Client carries its causality token: a writer alternating between nodes always reads its last write', async (t) => {
  const { f, fast, slow } = await setup(t);
  const key = keyWhere(f, 'slow', false);
  const db = new Client({ seeds: [fast, slow], tokenAware: false, defaultDeadlineMs: 3000 });
  t.teardown(() => db.close());
  let bySlow = 0;
  for (let i = 0; i < 40; i++) {
    const res = await db.put(key, `v${i}`, { consistency: 'ALL' });
    if (res.version.node === 'slow') bySlow++;
    t.equal((await db.get(key, { consistency: 'ALL' }))?.toString(), `v${i}`, `write ${i} is the one read back`);
    await db.get('elsewhere'); // three requests per round over two seeds: the writes alternate between the nodes
  }
  t.ok(bySlow > 0, `the lagging node coordinated ${bySlow} of the 40 writes`);
});
