/**
 * The responder (TreeHashes, BucketRecords) on one node of the in-memory fixture and over a real RPC
 * server: typed refusals (range, version, partition not replicated → WRONG_OWNER, buckets, budget,
 * resume token, cluster id), paging that returns each record once, and a session that refuses a peer's
 * record of another partition.
 */
import Long from 'long';
import t from 'tap';
import { TREE_VERSION, bucketOf } from '../../cluster/antientropy/merkle-format.js';
import { MAX_EPOCHS_PER_TREE, toAntiEntropyRpcError, type BucketRecordsQuery } from '../../cluster/antientropy/responder.js';
import { runSession } from '../../cluster/antientropy/session.js';
import { TreeSource } from '../../cluster/antientropy/tree-source.js';
import { RingCache } from '../../cluster/coordinator-ring.js';
import { encodeRecord } from '../../cluster/storage/record.js';
import { RpcClient } from '../../rpc/client.js';
import { silentLogger } from '../../rpc/logger.js';
import { Methods } from '../../rpc/methods.js';
import { RpcServer } from '../../rpc/server.js';
import { aeState, makeAeFixture } from './antientropy-fixture.js';

const IDS = ['n1', 'n2', 'n3', 'n4'];
const state = aeState(IDS, { epoch: 9, partitions: 8, replicas: 2 });
const ring = new RingCache(() => state).current()!.ring;
const mine = [...Array(8).keys()].find((p) => ring.preferenceList(p).includes('n1'))!;
const notMine = [...Array(8).keys()].find((p) => !ring.preferenceList(p).includes('n1'))!;

function keyIn(p: number, i: number): string {
  for (let j = i * 1000; ; j++) if (ring.partitionOf(Buffer.from(`k${j}`)) === p) return `k${j}`;
}

t.test('bad requests are typed refusals', async (t) => {
  const f = await makeAeFixture(t, IDS, state);
  const r = f.node('n1').ae.responder;
  const q = { partition: mine, range: { from: 1, to: 5 }, treeVersion: TREE_VERSION, level: 0, indices: [0] };
  const bad: [string, () => Promise<unknown>, string][] = [
    ['reversed range', () => r.treeHashes({ ...q, range: { from: 5, to: 1 } }), 'ANTIENTROPY_BAD_REQUEST'],
    ['range too long', () => r.treeHashes({ ...q, range: { from: 1, to: MAX_EPOCHS_PER_TREE + 1 } }), 'ANTIENTROPY_BAD_REQUEST'],
    ['other tree version', () => r.treeHashes({ ...q, treeVersion: 2 }), 'ANTIENTROPY_BAD_REQUEST'],
    ['partition out of range', () => r.treeHashes({ ...q, partition: 8 }), 'ANTIENTROPY_BAD_REQUEST'],
    ['partition not replicated', () => r.treeHashes({ ...q, partition: notMine }), 'CLUSTER_WRONG_OWNER'],
    ['level 4', () => r.treeHashes({ ...q, level: 4 }), 'MERKLE_BAD_REQUEST'],
    ['no indices', () => r.treeHashes({ ...q, indices: [] }), 'MERKLE_BAD_REQUEST'],
    ['bucket 4096', () => r.bucketRecords({ ...q, buckets: [4096], maxBytes: 0 }), 'MERKLE_BAD_REQUEST'],
    ['budget over 4 MiB', () => r.bucketRecords({ ...q, buckets: [1], maxBytes: 5 << 20 }), 'ANTIENTROPY_BAD_REQUEST'],
    ['resume outside the range', () => r.bucketRecords({ ...q, buckets: [1], maxBytes: 0, resume: { epoch: 6, afterKey: Buffer.from('a') } }), 'ANTIENTROPY_BAD_REQUEST'],
  ];
  for (const [what, call, code] of bad) await t.rejects(call(), { code }, what);
  t.equal((toAntiEntropyRpcError(await r.treeHashes({ ...q, level: 9 }).catch((e: unknown) => e)) as { code: string }).code, 'RPC_INVALID_ARGUMENT', 'sent as INVALID_ARGUMENT');
  f.setState({ ...state, created: false });
  await t.rejects(r.treeHashes(q), { code: 'CLUSTER_NO_RING' });
});

t.test('BucketRecords pages under a byte budget and returns every record of the buckets once', async (t) => {
  const f = await makeAeFixture(t, IDS, state);
  const keys: string[] = [];
  for (let i = 0; i < 60; i++) {
    const key = keyIn(mine, i);
    keys.push(key);
    await f.put(['n1'], key, { value: Buffer.alloc(200, 1), timestamp: { physicalMs: 100 + i, logical: 0, node: 'x' }, epoch: 1 + (i % 4), tombstone: false });
  }
  const buckets = [...new Set(keys.slice(0, 40).map((k) => bucketOf(Buffer.from(k))))];
  const wanted = keys.filter((k) => buckets.includes(bucketOf(Buffer.from(k))));
  const got: string[] = [];
  let pages = 0;
  let q: BucketRecordsQuery = { partition: mine, range: { from: 1, to: 4 }, treeVersion: TREE_VERSION, buckets, maxBytes: 1000 };
  for (;;) {
    const page = await f.node('n1').ae.responder.bucketRecords(q);
    pages++;
    let bytes = 0;
    for (const r of page.records) {
      got.push(Buffer.from(r.key).toString());
      bytes += r.key.length + r.record.length;
    }
    t.ok(bytes < 1000 + 300, `page ${pages}: ${bytes} bytes, about the budget`);
    if (page.next === undefined) break;
    q = { ...q, resume: page.next };
  }
  t.same(got.sort(), wanted.sort(), `${wanted.length} records in ${pages} pages, each once`);
  t.ok(pages >= 5);
});

t.test('over RPC: WRONG_OWNER with the epoch, PERMISSION_DENIED for another cluster, hashes for a good request', async (t) => {
  const f = await makeAeFixture(t, IDS, state);
  const server = new RpcServer({ logger: silentLogger });
  f.node('n1').ae.register(server);
  const { port } = await server.listen(0, '127.0.0.1');
  const client = new RpcClient({ connectTimeoutMs: 1000 });
  t.teardown(async () => {
    client.destroy();
    await server.stop();
  });
  const at = `127.0.0.1:${port}`;
  const epochs = { fromEpoch: Long.fromNumber(1, true), toEpoch: Long.fromNumber(7, true) };
  const req = { from: { clusterId: 'c', nodeId: 'n2' }, partition: mine, epochs, treeVersion: TREE_VERSION, level: 1, indices: [0, 1, 2] };
  const res = await client.call(at, Methods.TreeHashes, req);
  t.equal(res.hashes.length, 24);
  t.equal(res.root.length, 8);
  await t.rejects(client.call(at, Methods.TreeHashes, { ...req, partition: notMine }), { code: 'RPC_WRONG_OWNER' });
  const err = (await client.call(at, Methods.TreeHashes, { ...req, partition: notMine }).catch((e: unknown) => e)) as { epoch?: bigint };
  t.equal(err.epoch, 9n, 'with our committed epoch');
  await t.rejects(client.call(at, Methods.TreeHashes, { ...req, from: { clusterId: 'other' } }), { code: 'RPC_PERMISSION_DENIED' });
  await t.rejects(client.call(at, Methods.BucketRecords, { ...req, epochs: null, buckets: [1] }), { code: 'RPC_INVALID_ARGUMENT' });
  const page = await client.call(at, Methods.BucketRecords, { from: { clusterId: 'c' }, partition: mine, epochs, treeVersion: TREE_VERSION, buckets: [1, 2] });
  t.same(page.records, []);
});

t.test('a session refuses a peer record of another partition and applies nothing of that page', async (t) => {
  const f = await makeAeFixture(t, IDS, state);
  const n1 = f.node('n1');
  const key = Buffer.from(keyIn(notMine, 0));
  const record = { value: Buffer.from('v'), timestamp: { physicalMs: 1, logical: 0, node: 'x' }, epoch: 2, partition: notMine, tombstone: false };
  const peer = {
    // Every node differs; sparse lists name the first leaf under each node asked.
    treeHashes: (q: { level: number; indices: readonly number[]; sparse?: boolean }) =>
      Promise.resolve(
        q.sparse === true
          ? { hashes: Buffer.alloc(8 * q.indices.length, 7), root: Buffer.alloc(8, 7), leaves: q.indices.map((i) => i * 16 ** (3 - q.level)) }
          : { hashes: Buffer.alloc(8 * q.indices.length, 7), root: Buffer.alloc(8, 7), counts: q.indices.map(() => 1000) },
      ),
    bucketRecords: () => Promise.resolve({ records: [{ key, record: encodeRecord(record) }] }),
    write: () => Promise.resolve(0),
  };
  const session = runSession(
    {
      partition: mine, range: { from: 1, to: 7 }, peerId: 'evil', peer, store: n1.store, source: new TreeSource(n1.store),
      localTree: async () => ({ tree: await n1.ae.responder.treeOf(mine, { from: 1, to: 7 }), built: true }),
      partitionOf: (k) => ring.partitionOf(k), onApplied: () => undefined, throttle: () => Promise.resolve(),
    },
    Date.now,
  );
  const err = await session.then(() => undefined, (e: unknown) => e);
  t.match(err, { code: 'ANTIENTROPY_BAD_PEER_ANSWER', name: 'AntiEntropyPeerError' }, String(err));
  t.equal(await n1.store.get(key), undefined, 'nothing stored');
});
