/**
 * AntiEntropyService over an in-memory 3-node cluster (N=3, P=8): a replica that missed the writes of
 * epochs 3..5 converges, deletes stay deleted, one session repairs both sides, equal replicas exchange
 * only roots, verifiedThrough advances and survives a restart, failures back off, late writes are counted
 * and compared again, and a power loss after a marker is saved never leaves that range's repairs behind.
 */
import t from 'tap';
import { TREE_VERSION } from '../../cluster/antientropy/merkle-format.js';
import type { AntiEntropyTransport } from '../../cluster/antientropy/peers.js';
import { AntiEntropyService } from '../../cluster/antientropy/service.js';
import { VerifiedStore } from '../../cluster/antientropy/verified-store.js';
import { RingCache } from '../../cluster/coordinator-ring.js';
import type { StoredRecord } from '../../cluster/storage/record.js';
import { ReplicaStore } from '../../cluster/storage/replica-store.js';
import { MemFileSystem } from '../../lsm/index.js';
import { silentLogger } from '../../rpc/logger.js';
import { aeState, contents, makeAeFixture, settle, type AeFixture } from './antientropy-fixture.js';

const IDS = ['n1', 'n2', 'n3'];
const P = 8;

function rec(value: string | null, ms: number, epoch: number): Omit<StoredRecord, 'partition'> {
  return { value: Buffer.from(value ?? ''), timestamp: { physicalMs: ms, logical: 0, node: 'n1' }, epoch, tombstone: value === null };
}

/** The root of `node`'s tree of partition p over [from, to], through its responder. */
async function root(f: AeFixture, node: string, p: number, from: number, to: number): Promise<string> {
  const r = await f.node(node).ae.responder.treeHashes({ partition: p, range: { from, to }, treeVersion: TREE_VERSION, level: 0, indices: [0] });
  return Buffer.from(r.hashes).toString('hex');
}

t.test('a replica that missed the writes of epochs 3..5 converges; deleted keys stay deleted everywhere', async (t) => {
  const f = await makeAeFixture(t, IDS, aeState(IDS, { epoch: 7, partitions: P }));
  for (let i = 0; i < 200; i++) await f.put(IDS, `old-${i}`, rec(`v${i}`, 1000 + i, 1 + (i % 2)));
  // n3 is down during epochs 3..5: 120 new keys and 20 deletes reach n1 and n2 only.
  for (let i = 0; i < 120; i++) await f.put(['n1', 'n2'], `new-${i}`, rec(`w${i}`, 5000 + i, 3 + (i % 3)));
  for (let i = 0; i < 20; i++) await f.put(['n1', 'n2'], `old-${i}`, rec(null, 9000 + i, 4));

  const before = await contents(f.node('n3'), P, { from: 1, to: 7 });
  t.equal(before.get('old-0'), 'v0@1000', 'n3 still has the value of a deleted key');
  await settle(f, ['n3']);
  const expected = await contents(f.node('n1'), P, { from: 1, to: 7 });
  t.equal(expected.size, 320);
  for (const id of IDS) t.same(await contents(f.node(id), P, { from: 1, to: 7 }), expected, `${id} holds every version`);
  for (const id of IDS) {
    for (let i = 0; i < 20; i++) t.equal((await f.node(id).store.get(Buffer.from(`old-${i}`)))?.tombstone, true, `old-${i} is a tombstone on ${id}`);
  }
  for (let p = 0; p < P; p++) {
    const roots = await Promise.all(IDS.map((id) => root(f, id, p, 1, 7)));
    t.equal(new Set(roots).size, 1, `partition ${p}: the three roots are equal`);
    t.equal(f.node('n3').ae.verifiedThrough(p), 5, `partition ${p} verified through E-2 = 5 on n3`);
  }
  const s = f.node('n3').ae.antiEntropyStats();
  t.equal(s.keysApplied, 140, 'n3 applied exactly the 120 writes and 20 deletes it missed');
  t.equal(s.keysAppliedByPeer, 0, 'nothing n3 pushed was new to its peers');
  t.ok(s.sessionsRepaired >= 1 && s.sessionsFailed === 0, `${s.sessionsRepaired} sessions repaired, none failed`);
});

t.test('one session repairs both sides', async (t) => {
  const f = await makeAeFixture(t, IDS, aeState(IDS, { epoch: 6, partitions: P }));
  for (let i = 0; i < 30; i++) await f.put(['n1'], `only-n1-${i}`, rec(`a${i}`, 2000 + i, 3));
  for (let i = 0; i < 30; i++) await f.put(['n2'], `only-n2-${i}`, rec(`b${i}`, 3000 + i, 4));
  // Only n1 runs: its session with n2 fetches n2's keys and pushes its own; with n3 it pushes both.
  await settle(f, ['n1']);
  const expected = await contents(f.node('n1'), P, { from: 1, to: 6 });
  t.equal(expected.size, 60, 'n1 got the keys only n2 had');
  t.same(await contents(f.node('n2'), P, { from: 1, to: 6 }), expected, 'n2 got the keys only n1 had');
  t.same(await contents(f.node('n3'), P, { from: 1, to: 6 }), expected, 'n3 got all of them');
  const s = f.node('n1').ae.antiEntropyStats();
  t.equal(s.keysApplied, 30);
  t.equal(s.keysAppliedByPeer, 30 + 60, 'n2 stored n1\'s 30, n3 stored all 60 (a second pass where n3 came first)');
  t.equal(f.node('n2').ae.antiEntropyStats().sessions, 0, 'n2 ran no session of its own');
});

t.test('equal replicas exchange only their roots', async (t) => {
  const f = await makeAeFixture(t, IDS, aeState(IDS, { epoch: 5, partitions: P }));
  for (let i = 0; i < 100; i++) await f.put(IDS, `k${i}`, rec(`v${i}`, 1000 + i, 1 + (i % 3)));
  t.equal(await f.node('n1').ae.runRound(), 2, 'a round starts at most `concurrency` (2) jobs');
  await settle(f, ['n1']);
  const s = f.node('n1').ae.antiEntropyStats();
  t.equal(s.sessions, 2 * P, 'one session per partition and peer');
  // Each session: the 1-byte index of the root sent; its 8-byte hash and a 1- or 2-byte entry count received.
  t.ok(s.hashBytes >= 2 * P * 10 && s.hashBytes <= 2 * P * 11, `each session exchanged only the root: ${s.hashBytes} B`);
  t.equal(s.mismatchingBuckets, 0);
  t.equal(s.keysReceived + s.keysSent + s.bytesReceived + s.bytesSent, 0, 'no record moved');
  for (let p = 0; p < P; p++) t.equal(f.node('n1').ae.verifiedThrough(p), 3);
});

t.test('a partition a peer is comparing with us waits until that session is over', async (t) => {
  const f = await makeAeFixture(t, IDS, aeState(IDS, { epoch: 5, partitions: P }), { concurrency: P });
  for (let i = 0; i < 20; i++) await f.put(IDS, `k${i}`, rec(`v${i}`, 1000 + i, 2));
  t.equal(await f.node('n1').ae.runRound(), P, 'n1 compares every partition with n2 and n3');
  t.equal(await f.node('n2').ae.runRound(), 0, 'n2 starts none of them while n1\'s sessions are fresh');
  f.clock += 1001;
  t.equal(await f.node('n2').ae.runRound(), P, 'a second later it does');
  for (let p = 0; p < P; p++) t.equal(f.node('n2').ae.verifiedThrough(p), 3);
});

t.test('a wider range does not wait behind a peer\'s narrower one (a node catching up is not starved)', async (t) => {
  const f = await makeAeFixture(t, IDS, aeState(IDS, { epoch: 5, partitions: P }), { concurrency: P });
  for (let i = 0; i < 20; i++) await f.put(IDS, `k${i}`, rec(`v${i}`, 1000 + i, 2));
  t.equal(await f.node('n1').ae.runRound(), P, 'n1 verifies [1, 3]');
  f.setState(aeState(IDS, { epoch: 7, partitions: P }));
  t.equal(await f.node('n1').ae.runRound(), P, 'then [4, 5]');
  t.equal(await f.node('n2').ae.runRound(), P, 'n2, due for [1, 5], does not wait for n1\'s [4, 5]');
  for (let p = 0; p < P; p++) t.equal(f.node('n2').ae.verifiedThrough(p), 5);
});

t.test('verifiedThrough advances by epoch, persists across a restart, and nothing is due before E-2', async (t) => {
  const f = await makeAeFixture(t, IDS, aeState(IDS, { epoch: 2, partitions: P }), { concurrency: P });
  t.equal(await f.node('n1').ae.runRound(), 0, 'at epoch 2 nothing is due (epoch 0 is not an epoch)');
  f.setState(aeState(IDS, { epoch: 4, partitions: P }));
  t.equal(await f.node('n1').ae.runRound(), P, 'at epoch 4 every partition is due for [1, 2]');
  t.equal(f.node('n1').ae.verifiedThrough(3), 2);
  t.equal(await f.node('n1').ae.runRound(), 0, 'nothing more until the epoch advances');
  await f.node('n1').reopen();
  t.equal(f.node('n1').ae.verifiedThrough(3), 2, 'the marker was reloaded from DATA/antientropy/VERIFIED');
  t.equal(await f.node('n1').ae.runRound(), 0, 'a restart does not verify the same range again');
  await f.put(IDS, 'x', rec('1', 100, 3));
  f.setState(aeState(IDS, { epoch: 9, partitions: P }));
  await f.node('n1').ae.runRound();
  t.equal(f.node('n1').ae.verifiedThrough(f.partitionOf('x')), 7, 'the next range is [3, 7]');
});

t.test('a down peer is skipped; a failing one keeps the partition due, with backoff', async (t) => {
  const f = await makeAeFixture(t, IDS, aeState(IDS, { epoch: 5, partitions: P }), { concurrency: P });
  await f.put(['n1'], 'k', rec('v', 100, 2));
  f.down.add('n3');
  await f.node('n1').ae.runRound();
  t.equal(f.node('n1').ae.verifiedThrough(0), 3, 'verified with the live peer only');
  t.equal((await f.node('n2').store.get(Buffer.from('k')))?.epoch, 2, 'n2 got the key');
  f.down.delete('n3');

  f.setState(aeState(IDS, { epoch: 7, partitions: P }));
  f.failing.add('n3');
  t.equal(await f.node('n1').ae.runRound(), P);
  t.equal(f.node('n1').ae.verifiedThrough(0), 3, 'not advanced: n3 failed');
  t.equal(f.node('n1').ae.antiEntropyStats().partitionsFailing, P);
  t.equal(f.node('n1').ae.antiEntropyStats().sessionsFailed, P);
  t.equal(await f.node('n1').ae.runRound(), 0, 'backing off');
  f.clock += 1000;
  t.equal(await f.node('n1').ae.runRound(), P, 'retried after 1 s');
  t.equal(await f.node('n1').ae.runRound(), 0);
  f.clock += 1999;
  t.equal(await f.node('n1').ae.runRound(), 0, 'the second retry waits 2 s');
  f.failing.delete('n3');
  f.clock += 1;
  t.equal(await f.node('n1').ae.runRound(), P);
  t.equal(f.node('n1').ae.verifiedThrough(0), 5);
  t.equal(f.node('n1').ae.antiEntropyStats().partitionsFailing, 0);
});

t.test('with no live peer (a restarted node before gossip has seen the others) nothing is verified', async (t) => {
  const f = await makeAeFixture(t, IDS, aeState(IDS, { epoch: 5, partitions: P }), { concurrency: P });
  await f.put(['n2', 'n3'], 'missed', rec('v', 100, 2));
  f.down.add('n2');
  f.down.add('n3');
  await f.node('n1').ae.runRound();
  t.equal(f.node('n1').ae.verifiedThrough(0), 0, 'not advanced: there was nobody to compare with');
  f.down.clear();
  f.clock += 1000;
  await f.node('n1').ae.runRound();
  t.equal(f.node('n1').ae.verifiedThrough(0), 3, 'verified once the peers are alive');
  t.equal((await f.node('n1').store.get(Buffer.from('missed')))?.epoch, 2, 'and the missed write arrived');
});

t.test('a power loss after a verified marker is saved keeps the repairs it vouches for', async (t) => {
  const state = aeState(IDS, { epoch: 5, partitions: P });
  // The fixture holds n2 and n3; n1, the replica that missed the writes, is built here on a store with no
  // periodic sync within the test: only the service's own sync can put its repairs on disk.
  const f = await makeAeFixture(t, ['n2', 'n3'], state);
  const missed: string[] = [];
  for (let i = 0; i < 40; i++) {
    missed.push(`missed-${i}`);
    await f.put(['n2', 'n3'], `missed-${i}`, rec(`v${i}`, 1000 + i, 2 + (i % 2)));
  }
  const fs = new MemFileSystem();
  const store = await ReplicaStore.open('/store', { fs, syncIntervalMs: 3_600_000 });
  const rings = new RingCache(() => state);
  const transport: AntiEntropyTransport = {
    peer: (node) => ({
      treeHashes: (q) => f.node(node).ae.responder.treeHashes(q),
      bucketRecords: (q) => f.node(node).ae.responder.bucketRecords(q),
      write: (records) => f.node(node).replica.write(records, undefined),
    }),
  };
  const ae = await AntiEntropyService.open({
    nodeId: 'n1', clusterId: 'c', store, view: () => rings.current(), isAlive: () => true, transport,
    verified: new VerifiedStore(fs, '/antientropy'), logger: silentLogger, concurrency: P,
    now: () => f.clock, sleep: () => Promise.resolve(), pause: () => Promise.resolve(),
  });
  t.equal(await ae.runRound(), P, 'one round compares every partition and saves the markers');
  t.equal(ae.antiEntropyStats().keysApplied, missed.length, 'n1 applied the writes it missed');

  fs.crash();
  await ae.stop();
  await store.close().catch(() => undefined); // its handles died with the power
  const { markers } = await new VerifiedStore(fs, '/antientropy').load();
  const after = await ReplicaStore.open('/store', { fs, syncIntervalMs: 0 });
  t.teardown(() => after.close());
  for (let p = 0; p < P; p++) t.equal(markers.get(p), 3, `partition ${p}: the marker (through 3) survived`);
  const lost: string[] = [];
  for (const key of missed) if ((await after.get(Buffer.from(key))) === undefined) lost.push(key);
  t.same(lost, [], 'every repair a surviving marker covers survived with it');
});

t.test('a write stored with an already verified epoch counts as a late write', async (t) => {
  const f = await makeAeFixture(t, IDS, aeState(IDS, { epoch: 6, partitions: P }));
  await settle(f, ['n1']);
  t.equal(f.node('n1').ae.verifiedThrough(f.partitionOf('late')), 4);
  await f.put(['n1'], 'late', rec('v', 100, 4));
  await f.put(['n1'], 'fresh', rec('v', 100, 5));
  await f.put(['n1'], 'late', rec('older', 50, 3));
  t.equal(f.node('n1').ae.antiEntropyStats().lateWrites, 1, 'epoch 4 ≤ verifiedThrough 4 counts; epoch 5 and a write not applied do not');
});

t.test('a late write that reached one replica after all three verified its epoch reaches the other two', async (t) => {
  const f = await makeAeFixture(t, IDS, aeState(IDS, { epoch: 6, partitions: P }), { concurrency: P });
  // Each node in turn, a second apart: a node holds back a range a peer compared with it just now.
  const everyNode = async (): Promise<void> => {
    for (const id of IDS) {
      await settle(f, [id]);
      f.clock += 1001;
    }
  };
  await everyNode();
  const p = f.partitionOf('late');
  for (const id of IDS) t.equal(f.node(id).ae.verifiedThrough(p), 4);
  // Its coordinator (lagging two epochs) reached only n2, and died before it could keep hints for n1 and n3.
  await f.put(['n2'], 'late', rec('v', 100, 3));
  t.equal(f.node('n2').ae.verifiedThrough(p), 2, 'n2 compares epoch 3 again');
  // n2's sessions push it to n1 and n3; to them it is late too, so they compare epoch 3 once more (equal roots).
  await everyNode();
  await everyNode();
  for (const id of IDS) {
    t.equal(Buffer.from((await f.node(id).store.get(Buffer.from('late')))?.value ?? []).toString(), 'v', `${id} holds the late write`);
    t.equal(f.node(id).ae.verifiedThrough(p), 4, `${id} verified through 4 again`);
  }
  const roots = await Promise.all(IDS.map((id) => root(f, id, p, 1, 6)));
  t.equal(new Set(roots).size, 1, 'the three roots are equal');
});

t.test('the bandwidth budget makes sessions wait', async (t) => {
  const f = await makeAeFixture(t, IDS, aeState(IDS, { epoch: 5, partitions: 1 }), { bytesPerSec: 10_000, concurrency: 1 });
  for (let i = 0; i < 100; i++) await f.put(['n1'], `k${i}`, rec('x'.repeat(500), 1000 + i, 2));
  await settle(f, ['n1']);
  const s = f.node('n1').ae.antiEntropyStats();
  const moved = s.bytesSent + s.bytesReceived + s.hashBytes;
  const slept = f.sleeps.reduce((a, b) => a + b, 0);
  t.ok(moved > 100_000, `${moved} bytes moved`);
  t.ok(slept >= ((moved - 10_000) / 10_000) * 1000 - 50, `slept ${slept} ms for ${moved} bytes at 10,000 B/s`);
});
