/**
 * Coordinator over an in-memory cluster (test/cluster/data-fixture.ts): quorum puts, gets and deletes;
 * a down owner gets a hint that the replay loop delivers once it is back; two down owners fail with
 * UnavailableError saying how many acked; a hung replica makes the request fail at its deadline; read
 * repair (blocking and background) brings stale replicas up to date; stand-ins keep hints for down owners
 * and their acks do not count toward W; a durable write is fdatasynced by every replica before it acks
 * (and by a pending owner, whose copy goes in the background); bad R/W and keys are refused;
 * PreferenceLists are cached per ring.
 */
import t from 'tap';
import { ConsistencyError } from '../../cluster/consistency.js';
import { RingCache } from '../../cluster/coordinator-ring.js';
import { UnavailableError } from '../../cluster/quorum/errors.js';
import { NoRingError, ReplicaRequestError } from '../../cluster/replica-service.js';
import type { StoredRecord } from '../../cluster/storage/record.js';
import { ringOf } from '../../cluster/state/cluster-state.js';
import { waitFor } from '../support/wait.js';
import { clusterState, makeFixture, type Fixture } from './data-fixture.js';

const enc = (s: string): Buffer => Buffer.from(s);
const text = (r: StoredRecord | undefined): string | undefined => (r === undefined || r.tombstone ? undefined : Buffer.from(r.value).toString());

async function storedEverywhere(f: Fixture, key: Buffer, ids: string[]): Promise<(string | undefined)[]> {
  return Promise.all(ids.map(async (id) => text(await f.node(id).store.get(key))));
}

t.test('put, get and delete through different coordinators', async (t) => {
  const f = await makeFixture(t, ['a', 'b', 'c']);
  const put = await f.node('a').coordinator.put(enc('k'), enc('v1'));
  t.equal(put.acks, 2, 'the put succeeds at W=2 (the committed default)');
  const got = await f.node('b').coordinator.get(enc('k'));
  t.ok(got.found, 'a get through b finds it');
  t.equal(text(got.record), 'v1', 'with its value');
  t.same(got.record!.timestamp, put.timestamp, 'and the version the put was given');
  await f.node('a').coordinator.drain();
  await waitFor(async () => (await storedEverywhere(f, enc('k'), ['a', 'b', 'c'])).every((v) => v === 'v1'), 5000, 'all 3 replicas to store it');
  t.pass('every replica stores it');
  const later = await f.node('c').coordinator.put(enc('k'), enc('v2'), { consistency: 'ALL' });
  t.equal(later.acks, 3, 'W=ALL waits for all 3');
  t.equal(text((await f.node('a').coordinator.get(enc('k'), { consistency: 1 })).record), 'v2', 'R=1 sees the W=ALL write');
  await f.node('b').coordinator.del(enc('k'));
  const gone = await f.node('a').coordinator.get(enc('k'), { consistency: 'QUORUM' });
  t.notOk(gone.found, 'after a delete the key is not found');
  t.ok(gone.record?.tombstone, 'the newest version is the tombstone');
  t.notOk((await f.node('a').coordinator.get(enc('never'))).found, 'a key never written is not found');
  const empty = await f.node('a').coordinator.put(enc('empty'), new Uint8Array(0));
  t.ok(empty.acks >= 2, 'an empty value can be written');
  t.ok((await f.node('b').coordinator.get(enc('empty'))).found, 'and is a value, not a missing key');
});

t.test('one owner down: W=2 succeeds, a hint is kept and replayed when the owner is back', async (t) => {
  const f = await makeFixture(t, ['a', 'b', 'c']);
  f.down.add('c');
  const res = await f.node('a').coordinator.put(enc('k'), enc('v'), { consistency: 2 });
  t.equal(res.acks, 2, 'W=2 with c down: 2 acks');
  await f.node('a').coordinator.drain();
  t.equal(f.node('a').hints.pendingFor('c'), 1, 'the coordinator keeps a hint for c');
  t.equal(f.node('a').coordinator.stats.hintsStored, 1, 'counted in stats');
  t.equal(text((await f.node('b').coordinator.get(enc('k'), { consistency: 2 })).record), 'v', 'R=2 sees the write');

  await f.node('a').replayer.round();
  t.equal(f.node('a').hints.pendingFor('c'), 1, 'no replay while c is down');
  f.down.delete('c');
  f.node('a').replayer.start();
  await waitFor(() => f.node('a').hints.pendingFor('c') === 0, 5000, 'the hint to be replayed');
  t.equal(text(await f.node('c').store.get(enc('k'))), 'v', 'c stores the write without any read');
  t.equal(f.node('a').replayer.stats.replayed, 1, 'one hint replayed and removed');
});

t.test('two owners down: UnavailableError says how many acked; a hung owner fails at the deadline', async (t) => {
  const f = await makeFixture(t, ['a', 'b', 'c']);
  f.down.add('b');
  f.down.add('c');
  const err = await f.node('a').coordinator.put(enc('k'), enc('v'), { consistency: 2 }).catch((e: unknown) => e);
  t.ok(err instanceof UnavailableError, 'W=2 with two owners down fails with UnavailableError');
  const u = err as UnavailableError;
  t.equal(u.acks, 1, '1 replica (the coordinator) acknowledged');
  t.equal(u.required, 2, '2 were required');
  t.equal(u.timedOut, false, 'decided without waiting for the deadline');
  t.match(u.message, /2 of 3 replicas needed, 1 acknowledged and 2 failed/);
  t.equal(text(await f.node('a').store.get(enc('k'))), 'v', 'the coordinator kept the write');
  await f.node('a').coordinator.drain();
  t.same([f.node('a').hints.pendingFor('b'), f.node('a').hints.pendingFor('c')], [1, 1], 'and a hint for each down owner');
  await t.rejects(f.node('a').coordinator.get(enc('k'), { consistency: 2 }), UnavailableError, 'R=2 fails too');
  t.equal(text((await f.node('a').coordinator.get(enc('k'), { consistency: 1 })).record), 'v', 'R=1 answers');

  f.down.clear();
  f.silent.add('c');
  f.silent.add('b');
  const started = Date.now();
  const late = await f.node('a').coordinator.put(enc('k2'), enc('v'), { consistency: 2, deadlineMs: 100 }).catch((e: unknown) => e);
  t.ok(late instanceof UnavailableError && late.timedOut, 'with two hung owners the put fails at its deadline');
  t.ok(Date.now() - started >= 90, `after the deadline (${Date.now() - started} ms)`);
  t.match((late as Error).message, /1 acknowledged before the deadline/);
  const ac = new AbortController();
  const aborted = f.node('a').coordinator.get(enc('k'), { consistency: 3, signal: ac.signal });
  ac.abort();
  await t.rejects(aborted, UnavailableError, 'an aborted request fails like a passed deadline');
});

t.test('read repair: blocking and in the background, counted in stats', async (t) => {
  const f = await makeFixture(t, ['a', 'b', 'c']);
  const a = f.node('a');
  await a.coordinator.put(enc('k'), enc('old'), { consistency: 'ALL' });
  // A newer version only on b (as if a write reached b alone).
  const part = ringOf(f.state()).partitionOf(enc('k'));
  await f.node('b').service.write([{ key: enc('k'), record: { value: enc('new'), timestamp: { physicalMs: Date.now() + 1000, logical: 0, node: 'z' }, epoch: 5, partition: part, tombstone: false } }], undefined);
  const got = await a.coordinator.get(enc('k'), { consistency: 'ALL', blockingRepair: true });
  t.equal(text(got.record), 'new', 'R=ALL returns the newest version');
  t.same(await storedEverywhere(f, enc('k'), ['a', 'b', 'c']), ['new', 'new', 'new'], 'blocking repair updated a and c before the answer');
  t.equal(a.coordinator.stats.readRepairs, 2, 'two repairs counted');

  // A replica that missed a write (down during it) is repaired in the background by a later read.
  f.down.add('c');
  await a.coordinator.put(enc('k2'), enc('v'));
  f.down.delete('c');
  await a.hints.remove('c', ...(await collectSeqs(f, 'a', 'c')));
  t.equal(await f.node('c').store.get(enc('k2')), undefined, 'c missed k2 (its hint discarded)');
  await f.node('b').coordinator.get(enc('k2'), { consistency: 3 });
  await waitFor(async () => text(await f.node('c').store.get(enc('k2'))) === 'v', 5000, 'background read repair of c');
  t.equal(f.node('b').coordinator.stats.readRepairs, 1, 'b counted one background repair');
});

t.test('R=1 at an owner answers from its own replica alone; without one it asks the others', async (t) => {
  const f = await makeFixture(t, ['a', 'b', 'c']);
  const a = f.node('a');
  await a.coordinator.put(enc('k'), enc('old'), { consistency: 'ALL' });
  const part = ringOf(f.state()).partitionOf(enc('k'));
  await f.node('b').service.write([{ key: enc('k'), record: { value: enc('new'), timestamp: { physicalMs: Date.now() + 1000, logical: 0, node: 'z' }, epoch: 5, partition: part, tombstone: false } }], undefined);
  t.equal(text((await a.coordinator.get(enc('k'), { consistency: 1 })).record), 'old', 'its own copy (b was not asked)');
  await a.coordinator.drain();
  t.equal(a.coordinator.stats.readRepairs, 0, 'no read repair: nobody else answered');
  t.equal(text(await a.store.get(enc('k'))), 'old');
  t.equal(text((await a.coordinator.get(enc('k'), { consistency: 2 })).record), 'new', 'R=2 asks the others and sees the newer version');
  await a.coordinator.get(enc('k'), { consistency: 1, blockingRepair: true });
  t.same(await storedEverywhere(f, enc('k'), ['a', 'b', 'c']), ['new', 'new', 'new'], 'blocking repair asks (and repairs) every owner even at R=1');
  // A local store that fails: the read goes to the other owners.
  await f.node('c').coordinator.put(enc('k3'), enc('v3'), { consistency: 'ALL' });
  await a.store.close();
  t.equal(text((await a.coordinator.get(enc('k3'), { consistency: 1 })).record), 'v3', 'answered by another owner');
});

t.test('R=2 asks two owners, this one first; the third only when one fails or is slow', async (t) => {
  const check = async (speculativeReadMs: number, trouble: 'none' | 'silent' | 'failing'): Promise<{ value: string | undefined; ms: number; thirdAsked: number }> => {
    const f = await makeFixture(t, ['a', 'b', 'c'], undefined, { speculativeReadMs });
    const key = enc(`k-${trouble}`);
    const [first, second, third] = ringOf(f.state()).preferenceList(ringOf(f.state()).partitionOf(key)) as [string, string, string];
    await f.node(first).coordinator.put(key, enc('v'), { consistency: 'ALL' });
    // The third owner alone holds a newer version: only a read that asks it can see it.
    const part = ringOf(f.state()).partitionOf(key);
    await f.node(third).service.write([{ key, record: { value: enc('newest'), timestamp: { physicalMs: Date.now() + 1000, logical: 0, node: 'z' }, epoch: 5, partition: part, tombstone: false } }], undefined);
    if (trouble === 'silent') f.silent.add(second);
    if (trouble === 'failing') await f.node(second).store.close();
    const t0 = Date.now();
    const got = await f.node(first).coordinator.get(key, { consistency: 2 });
    const ms = Date.now() - t0;
    await f.node(first).coordinator.drain();
    f.silent.clear();
    return { value: text(got.record), ms, thirdAsked: f.remoteReads.get(third) ?? 0 };
  };
  const healthy = await check(60_000, 'none');
  t.equal(healthy.value, 'v', 'two healthy owners answered; the third was not asked (its newer version unseen)');
  t.equal(healthy.thirdAsked, 0, 'no read was sent to the third owner');
  const slow = await check(20, 'silent');
  t.equal(slow.value, 'newest', 'a silent second owner: the third was asked after the speculative delay');
  t.ok(slow.ms < 1500, `answered in ${slow.ms} ms, before the 2 s deadline`);
  t.equal(slow.thirdAsked, 1);
  const failing = await check(60_000, 'failing');
  t.equal(failing.value, 'newest', 'a failing second owner: the third was asked at once (no speculation in this run)');
});

async function collectSeqs(f: Fixture, on: string, owner: string): Promise<number[]> {
  await f.node(on).coordinator.drain();
  const seqs: number[] = [];
  for await (const h of f.node(on).hints.forOwner(owner)) seqs.push(h.seq);
  return seqs;
}

t.test('a stand-in keeps the write for a down owner; its ack counts toward W only if sloppy', async (t) => {
  const ids = ['a', 'b', 'c', 'd'];
  const f = await makeFixture(t, ids);
  const ring = ringOf(f.state());
  const key = enc('stand-in-key');
  const owners = ring.nodesFor(key);
  const outsider = ids.find((id) => !owners.includes(id))!;
  const downOwner = owners[2]!;
  f.down.add(downOwner);
  const coord = f.node(owners[0]!).coordinator;
  t.equal((await coord.put(key, enc('v'), { consistency: 2 })).acks, 2, 'W=2 with one owner down succeeds on the 2 live owners');
  await waitFor(() => f.node(outsider).hints.pendingFor(downOwner) === 1, 5000, 'the stand-in to store a hint');
  t.pass(`the stand-in ${outsider} keeps a hint for ${downOwner}`);
  t.equal(await f.node(outsider).store.get(key), undefined, 'not in its replica store');
  const all = await coord.put(key, enc('v2'), { consistency: 'ALL' }).catch((e: unknown) => e);
  t.ok(all instanceof UnavailableError, 'W=ALL fails: the stand-in\'s ack does not count (strict quorum)');
  f.down.delete(downOwner);
  f.node(outsider).replayer.start();
  await waitFor(async () => text(await f.node(downOwner).store.get(key)) === 'v2', 5000, 'the stand-in to hand the newest write over');
  t.pass(`${downOwner} got the write from the stand-in once back`);
});

t.test('a durable write is on every acking replica\'s disk when acknowledged; a default one after the sync interval', async (t) => {
  const ids = ['a', 'b', 'c'];
  const survivors = async (f: Fixture, key: Buffer): Promise<number> => {
    let n = 0;
    for (const id of ids) if (text(await (await f.node(id).crashAndReopen()).get(key)) === 'v') n++;
    return n;
  };
  // No periodic sync within the test: only a durable write's own fdatasync can save it from a power loss.
  const lazy = await makeFixture(t, ids, clusterState(ids), { syncIntervalMs: 3_600_000 });
  await lazy.node('a').coordinator.put(enc('plain'), enc('v'), { consistency: 'ALL' });
  await lazy.node('a').coordinator.put(enc('durable'), enc('v'), { consistency: 'ALL', durable: true });
  await lazy.node('a').coordinator.drain();
  t.equal(await survivors(lazy, enc('durable')), 3, 'durable: true at W=ALL survives a power loss of every replica');
  const plain = await makeFixture(t, ids, clusterState(ids), { syncIntervalMs: 3_600_000 });
  await plain.node('b').coordinator.put(enc('plain'), enc('v'), { consistency: 'ALL' });
  t.equal(await survivors(plain, enc('plain')), 0, 'a default write is acknowledged before its fdatasync (the loss window)');

  const always = await makeFixture(t, ids, clusterState(ids), { syncIntervalMs: 3_600_000, durableWrites: true });
  await always.node('c').coordinator.del(enc('gone'), { consistency: 'ALL' });
  await always.node('c').coordinator.put(enc('k'), enc('v'), { consistency: 'ALL' });
  t.equal(await survivors(always, enc('k')), 3, 'a coordinator with durableWrites makes every write durable');

  const periodic = await makeFixture(t, ids, clusterState(ids), { syncIntervalMs: 20 });
  const syncs = (id: string): number => periodic.node(id).store.stats().walSyncs;
  const before = new Map(ids.map((id) => [id, syncs(id)]));
  await periodic.node('a').coordinator.put(enc('k'), enc('v'), { consistency: 'ALL' });
  await waitFor(() => ids.every((id) => syncs(id) > before.get(id)!), 20_000, 'every replica\'s periodic sync');
  t.equal(await survivors(periodic, enc('k')), 3, 'a default write survives once the periodic sync has run');
});

t.test('a durable write reaches a pending owner (a joiner streaming the partition in) fdatasynced', async (t) => {
  const ids = ['a', 'b', 'c', 'd'];
  const base = clusterState(ids);
  // d is joining: the partitions it gains have it as a pending owner, sent each write in the background.
  const joining = { ...base, members: base.members.map((m) => (m.id === 'd' ? { ...m, status: 'joining' as const } : m)) };
  const view = new RingCache(() => joining).current()!;
  const pendingOnD = (prefix: string): Buffer => {
    for (let i = 0; ; i++) {
      const key = enc(`${prefix}-${i}`);
      if (view.pendingOwners(view.ring.partitionOf(key)).includes('d')) return key;
    }
  };
  const onDAfterPowerLoss = async (f: Fixture, key: Buffer): Promise<string | undefined> => text(await (await f.node('d').crashAndReopen()).get(key));

  // No periodic sync within the test: only the write's own fdatasync can save it from a power loss.
  const f = await makeFixture(t, ids, joining, { syncIntervalMs: 3_600_000 });
  const durable = pendingOnD('durable');
  const plain = pendingOnD('plain');
  await f.node('a').coordinator.put(durable, enc('v'), { consistency: 'ALL', durable: true });
  await f.node('a').coordinator.drain(); // d's copy is stored (and synced) before the plain write arrives
  await f.node('a').coordinator.put(plain, enc('v'), { consistency: 'ALL' });
  await f.node('a').coordinator.drain();
  t.equal(text(await f.node('d').store.get(plain)), 'v', 'd stores the default write too');
  const after = await f.node('d').crashAndReopen();
  t.equal(text(await after.get(durable)), 'v', 'durable: true survives a power loss of the pending owner');
  t.equal(await after.get(plain), undefined, 'a default write to it is in the loss window, as on any replica');

  const always = await makeFixture(t, ids, joining, { syncIntervalMs: 3_600_000, durableWrites: true });
  const key = pendingOnD('always');
  await always.node('b').coordinator.put(key, enc('v'), { consistency: 'ALL' });
  await always.node('b').coordinator.drain();
  t.equal(await onDAfterPowerLoss(always, key), 'v', 'a coordinator with durableWrites syncs its writes to pending owners too');
});

t.test('bad requests are refused before anything is sent', async (t) => {
  const f = await makeFixture(t, ['a', 'b', 'c']);
  const c = f.node('a').coordinator;
  await t.rejects(c.put(enc('k'), enc('v'), { consistency: 4 }), ConsistencyError, 'W=4 > N');
  await t.rejects(c.get(enc('k'), { consistency: 0 }), ConsistencyError, 'R=0');
  await t.rejects(c.get(enc('k'), { consistency: 'MOST' }), ConsistencyError, 'an unknown level');
  await t.rejects(c.put(Buffer.alloc(0), enc('v')), ReplicaRequestError, 'an empty key');
  await t.rejects(c.del(Buffer.alloc(65 * 1024)), ReplicaRequestError, 'a key over 64 KiB');
  t.equal(f.node('a').coordinator.stats.unavailable, 0, 'none counted as unavailable');
  f.setState({ ...f.state(), created: false });
  await t.rejects(c.put(enc('k'), enc('v')), NoRingError, 'no committed ring: refused');
});

t.test('RingCache rebuilds the preference lists only when the ring changes', (t) => {
  let s = clusterState(['a', 'b', 'c'], { epoch: 1 });
  const cache = new RingCache(() => s);
  const v1 = cache.current()!;
  s = { ...s, epoch: 2 };
  const v2 = cache.current()!;
  t.equal(v2.epoch, 2, 'a new epoch is seen');
  t.equal(v2.lists, v1.lists, 'the same PreferenceLists serve it (same members)');
  s = clusterState(['a', 'b', 'c', 'd'], { epoch: 3 });
  const v3 = cache.current()!;
  t.not(v3.lists, v1.lists, 'a member change builds new lists');
  t.same(v3.ring.members, ['a', 'b', 'c', 'd'], 'of the new ring');
  t.equal(v3.addressOf('d'), 'mem:d', 'with the committed addresses');
  s = { ...s, created: false };
  t.equal(cache.current(), undefined, 'no view before the cluster is created');
  t.end();
});
