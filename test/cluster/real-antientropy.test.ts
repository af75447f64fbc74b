/**
 * Anti-entropy over real processes (issue 8, Tests), the CI-sized version of bench/antientropy.ts:
 * 3 nodes, N=3, hint replay effectively off (--hint-replay-interval 1 h) so that only anti-entropy can
 * bring a restarted node what it missed. Load K keys; stop n3 (SIGKILL); write M new keys and delete D
 * old ones; restart n3; wait until the three nodes' Merkle roots of every partition over all epochs
 * (TreeHashes, level 0, range [0, current]) are equal. Then: the deleted keys are tombstones on every
 * replica, n3 holds the new keys, and the bytes anti-entropy moved (records and the tree walk) are at
 * most 2× the bytes of the writes n3 missed (logged with the measured figure). The load is let settle
 * (equal roots) before n3 stops, so that only what n3 missed is counted.
 */
import Long from 'long';
import t from 'tap';
import { TREE_VERSION } from '../../cluster/antientropy/merkle-format.js';
import { recordFromPb } from '../../cluster/replica-service.js';
import { encodeRecord } from '../../cluster/storage/record.js';
import { Methods } from '../../rpc/methods.js';
import { statusFromPb } from '../../tools/commands/status.js';
import { killAndWait } from '../support/processes.js';
import { waitFor } from '../support/wait.js';
import { RealCluster, enc, type RunningNode } from './real-cluster.js';

// The missed writes (1,000 new keys, 100 deletes) over a CI-sized load; bench/antientropy.ts
// runs the same at 100,000 and 1,000,000 keys.
const K = 20_000;
const M = 1000;
const D = 100;
const P = 64;
const VALUE = 'v'.repeat(100);
const CLUSTER = 'real-ae';

async function inParallel<T>(items: T[], width: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: width }, async () => {
    while (next < items.length) await fn(items[next++]!);
  }));
}

t.test('a node restarted after missing writes and deletes converges through anti-entropy alone', async (t) => {
  const cluster = new RealCluster(t, { clusterId: CLUSTER, extraArgs: ['--hint-replay-interval', '3600000', '--epoch-interval', '1000', '--partitions', String(P)] });
  const rpc = cluster.rpc;
  const [n1, n2, n3] = await cluster.startThree();
  const from = { clusterId: CLUSTER, nodeId: 'test' };

  const t0 = Date.now();
  const loaded = Array.from({ length: K }, (_, i) => `key-${i}`);
  const coordinators = [n1, n2, n3];
  let sent = 0;
  await inParallel(loaded, 96, async (k) => void (await rpc.call(coordinators[sent++ % 3]!.address, Methods.Put, { key: enc(k), value: enc(VALUE) })));
  t.pass(`loaded ${K} keys in ${Date.now() - t0} ms`);

  const moved = async (n: RunningNode): Promise<{ records: number; hashes: number }> => ({
    records: (await cluster.metric(n, 'mydatastore_antientropy_bytes_received_total')) + (await cluster.metric(n, 'mydatastore_antientropy_bytes_sent_total')),
    hashes: await cluster.metric(n, 'mydatastore_antientropy_hash_bytes_total'),
  });
  // Every partition's Merkle root over all epochs, equal on the given nodes.
  const rootsEqual = async (nodes: RunningNode[]): Promise<boolean> => {
    const epoch = Long.fromValue(statusFromPb(await rpc.call(n1.address, Methods.Status, {})).epoch).toNumber();
    const epochs = { fromEpoch: Long.fromNumber(0, true), toEpoch: Long.fromNumber(epoch, true) };
    for (let p = 0; p < P; p++) {
      const req = { from, partition: p, epochs, treeVersion: TREE_VERSION, level: 0, indices: [0] };
      const roots = await Promise.all(nodes.map(async (n) => Buffer.from((await rpc.call(n.address, Methods.TreeHashes, req)).hashes).toString('hex')));
      if (new Set(roots).size !== 1) return false;
    }
    return true;
  };
  // Start from replicas in sync: a write the load left on two replicas only (hints are off) would be
  // repaired after the restart and counted as if n3 had missed it.
  // Anti-entropy works through every epoch the load spanned: on a slow box the load spans more of them.
  await waitFor(() => rootsEqual([n1, n2, n3]).catch(() => false), 200_000, 'the replicas to be in sync after the load');

  // What anti-entropy costs with replicas in sync: every epoch each node compares every partition's new
  // range with both peers (about 11 bytes each). Measured over 5 epochs, to be told apart from the repair.
  const epochNow = async (): Promise<number> => Long.fromValue(statusFromPb(await rpc.call(n1.address, Methods.Status, {})).epoch).toNumber();
  const allBytes = async (nodes: RunningNode[]): Promise<number> => {
    let sum = 0;
    for (const n of nodes) {
      const m = await moved(n);
      sum += m.records + m.hashes;
    }
    return sum;
  };
  const e0 = await epochNow();
  const b0 = await allBytes([n1, n2, n3]);
  await waitFor(async () => (await epochNow()) >= e0 + 5, 60_000, 'five epochs with the replicas in sync');
  const e1 = await epochNow();
  const inSyncPerEpoch = ((await allBytes([n1, n2, n3])) - b0) / (e1 - e0);

  await killAndWait(n3.child, 'SIGKILL');
  await cluster.waitGossip([n1, n2], 'n3', false);
  const added = Array.from({ length: M }, (_, i) => `new-${i}`);
  const deleted = loaded.filter((_, i) => i % (K / D) === 0);
  await inParallel(added, 32, async (k) => void (await rpc.call(n1.address, Methods.Put, { key: enc(k), value: enc(VALUE) })));
  await inParallel(deleted, 32, async (k) => void (await rpc.call(n2.address, Methods.Delete, { key: enc(k) })));

  // What n3 missed, in the bytes anti-entropy counts: key + encoded stored record.
  let missedBytes = 0;
  for (const k of [...added, ...deleted]) {
    const res = await rpc.call(n1.address, Methods.ReplicaRead, { from, key: enc(k) });
    missedBytes += k.length + encodeRecord(recordFromPb(res.record, enc(k)).record).length;
  }
  const before = await Promise.all([moved(n1), moved(n2)]);

  const restartedAt = Date.now();
  const restartEpoch = await epochNow();
  const n3b = await cluster.start('n3', n3.address, [n1.address, n2.address]);
  const nodes = [n1, n2, n3b];
  // Comparing every root builds 3·P trees: do it only once n3 has received at least what it missed, by
  // its own sessions or by its peers' pushes.
  const caughtUp = async (): Promise<boolean> =>
    (await cluster.metric(n3b, 'mydatastore_antientropy_keys_applied_total')) +
      (await cluster.metric(n1, 'mydatastore_antientropy_keys_applied_by_peer_total')) +
      (await cluster.metric(n2, 'mydatastore_antientropy_keys_applied_by_peer_total')) >=
    M + D;
  await waitFor(async () => (await caughtUp().catch(() => false)) && (await rootsEqual(nodes).catch(() => false)), 120_000, 'every partition\'s Merkle root to be equal on the three nodes');
  const convergeMs = Date.now() - restartedAt;
  const epochs = (await epochNow()) - restartEpoch;

  for (const k of deleted) {
    for (const n of nodes) t.equal((await cluster.stored(n, k))?.tombstone, true, `${k} is deleted on ${n.id}`);
  }
  let newOnN3 = 0;
  for (const k of added) if ((await cluster.storedValue(n3b, k)) === VALUE) newOnN3++;
  t.equal(newOnN3, M, `n3 holds all ${M} keys written while it was down`);

  const after = await Promise.all([moved(n1), moved(n2), moved(n3b)]);
  const records = after[0].records - before[0].records + after[1].records - before[1].records + after[2].records;
  const hashes = after[0].hashes - before[0].hashes + after[1].hashes - before[1].hashes + after[2].hashes;
  const lateWrites = (await Promise.all(nodes.map((n) => cluster.metric(n, 'mydatastore_antientropy_late_writes_total')))).reduce((a, b) => a + b, 0);
  const total = records + hashes;
  const inSync = Math.round(Math.min(hashes, inSyncPerEpoch * epochs)); // tree-walk bytes only: never credited against records
  const figure =
    `converged ${convergeMs} ms (${epochs} epochs) after restart; ${records} record bytes and ${hashes} bytes of tree walk moved ` +
    `(${(total / missedBytes).toFixed(2)}× the ${missedBytes} bytes missed), of which ~${inSync} the in-sync comparisons of those epochs ` +
    `(${Math.round(inSyncPerEpoch)} B per epoch, measured before n3 stopped): repair ${((total - inSync) / missedBytes).toFixed(2)}×; late writes ${lateWrites}`;
  t.comment(figure);
  t.ok(total - inSync <= 2 * missedBytes, `bytes moved for the repair (records and tree walk) ≤ 2× bytes missed: ${figure}`);
  t.ok(records >= missedBytes, 'at least the missed writes themselves moved');
});
