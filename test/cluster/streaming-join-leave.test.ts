/**
 * Partition streaming over the in-memory cluster (streaming-fixture.ts): a 4th node joins a loaded 3-node
 * cluster and then a node is decommissioned, both under a steady write and read load. Every acknowledged
 * write is readable at R=2 throughout and at the end, no read fails, each node ends up holding exactly the
 * partitions the final ring gives it (the leaver and the old owners drop the rest), and the planner only
 * finishes a transition after the gainers reported stream-done.
 */
import t, { type Test } from 'tap';
import { partitionOf } from '../../cluster/ring.js';
import { transitionOf } from '../../cluster/state/transition.js';
import { waitFor } from '../support/wait.js';
import { makeStreamingFixture, type StreamingFixture } from './streaming-fixture.js';

const enc = (s: string): Buffer => Buffer.from(s);
const P = 64;

/** Keys a node's store holds, by partition (all epochs). */
async function storedKeys(sf: StreamingFixture, id: string): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for (let p = 0; p < P; p++) {
    for await (const { key } of sf.f.node(id).store.scanPartitionAllEpochs(p)) out.set(key.toString(), p);
  }
  return out;
}

interface Load {
  readonly acked: Map<string, string>;
  readonly counts: { reads: number; readFailures: number; staleReads: number; writes: number; writeFailures: number };
  stop(): Promise<void>;
}

function startLoad(sf: StreamingFixture, coordinators: () => string[], acked: Map<string, string>): Load {
  const counts = { reads: 0, readFailures: 0, staleReads: 0, writes: 0, writeFailures: 0 };
  let stopping = false;
  let seq = 0;
  const pick = (): string => {
    const ids = coordinators();
    return ids[seq++ % ids.length]!;
  };
  // The in-memory cluster answers in microtasks: each loop yields to timers (the services' polls) per turn.
  const yieldTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));
  const writer = async (w: number): Promise<void> => {
    for (let i = 0; !stopping; i++) {
      await yieldTurn();
      const key = `live-${w}-${i}`;
      const value = `v${i}`;
      try {
        await sf.f.node(pick()).coordinator.put(enc(key), enc(value));
        acked.set(key, value);
        counts.writes++;
      } catch {
        counts.writeFailures++;
      }
    }
  };
  const reader = async (): Promise<void> => {
    const keys = (): string[] => [...acked.keys()];
    while (!stopping) {
      await yieldTurn();
      const all = keys();
      const key = all[(seq * 7919) % all.length];
      if (key === undefined) throw new Error('the reader needs acknowledged keys to read');
      try {
        const r = await sf.f.node(pick()).coordinator.get(enc(key), { consistency: 2 });
        counts.reads++;
        if (!r.found || Buffer.from(r.record!.value).toString() !== acked.get(key)) counts.staleReads++;
      } catch {
        counts.readFailures++;
      }
    }
  };
  const loops = [writer(0), writer(1), reader(), reader()];
  return {
    acked,
    counts,
    stop: async () => {
      stopping = true;
      await Promise.all(loops);
    },
  };
}

async function checkPlacement(t: Test, sf: StreamingFixture, acked: Map<string, string>, members: string[], gone: string[]): Promise<void> {
  await Promise.all([...sf.services.values()].map((s) => s.idle()));
  const ring = transitionOf(sf.sm.state()).read;
  t.same([...ring.members], members, 'the final ring');
  for (const id of members) {
    const owned = new Set(ring.partitionsOf(id));
    // The load is still running: a write acknowledged at W=2 may still be on its way to its third
    // replica (the store yields the event loop between operations). Wait until every owner has it.
    let held = new Map<string, number>();
    const ackedBefore = [...acked.keys()];
    const missingNow = (): string[] => ackedBefore.filter((k) => owned.has(partitionOf(k, P)) && !held.has(k));
    await waitFor(async () => {
      held = await storedKeys(sf, id);
      return missingNow().length === 0;
    }, 10_000, `${id} to hold every acknowledged key`).catch(() => {});
    const missing = missingNow();
    const foreign = [...held.values()].filter((p) => !owned.has(p));
    t.same(missing.length, 0, `${id} holds every acknowledged key of its ${owned.size} partitions (${held.size} keys)`);
    t.same(foreign.length, 0, `${id} holds nothing of partitions it does not own`);
  }
  for (const id of gone) t.equal((await storedKeys(sf, id)).size, 0, `${id} dropped everything once removed`);
}

t.test('3 → 4 → 3 under load: no acknowledged write lost, reads never fail, data where the ring says', async (t) => {
  const sf = await makeStreamingFixture(t, ['n1', 'n2', 'n3', 'n4'], ['n1', 'n2', 'n3'], { partitions: P });
  const coordinators = (): string[] => ['n1', 'n2', 'n3'];
  // A loaded cluster first.
  for (let b = 0; b < 10; b++) {
    await Promise.all(Array.from({ length: 60 }, (_, i) => sf.f.node(`n${1 + (i % 3)}`).coordinator.put(enc(`pre-${b}-${i}`), enc(`p${i}`))));
  }
  const preloaded = new Map<string, string>();
  for (let b = 0; b < 10; b++) for (let i = 0; i < 60; i++) preloaded.set(`pre-${b}-${i}`, `p${i}`);
  const load = startLoad(sf, coordinators, preloaded);

  // Join: the planner adds n4 as joining; n4 streams, reports; the planner finishes.
  sf.gossip.add('n4');
  sf.plan();
  const state = sf.sm.state();
  t.equal(state.members.find((m) => m.id === 'n4')?.status, 'joining', 'n4 is added as joining');
  const gained = transitionOf(state).gained.get('n4') ?? [];
  t.ok(gained.length > 0, `n4 gains ${gained.length} partitions`);
  t.same(transitionOf(state).read.members, ['n1', 'n2', 'n3'], 'reads stay on the old owners while n4 streams');
  await waitFor(() => {
    sf.plan();
    return sf.sm.state().members.find((m) => m.id === 'n4')?.status === 'active';
  }, 20_000, 'n4 to become active');
  t.ok(sf.lines.some((l) => /^n4 info: streaming: partition \d+ from n\d(,n\d)*: \d+ keys, \d+ bytes, \d+ ms$/.test(l)), 'a log line per partition streamed');
  t.ok(sf.lines.some((l) => /^n4 info: streaming: transition \d+: \d+ of \d+ partitions streamed/.test(l)), 'and a summary');
  await checkPlacement(t, sf, load.acked, ['n1', 'n2', 'n3', 'n4'], []);

  // Decommission n2: its partitions go to the next-ranked nodes, which stream them; then n2 is removed.
  const before = load.counts.writes;
  await waitFor(() => load.counts.writes > before + 50, 10_000, 'more writes between the transitions');
  sf.commit([{ type: 'set-member-status', id: 'n2', status: 'leaving' }]);
  const leaveGainers = [...transitionOf(sf.sm.state()).gained.keys()];
  t.ok(leaveGainers.length > 0 && !leaveGainers.includes('n2'), `n2's partitions are gained by ${leaveGainers.join(',')}`);
  await waitFor(() => {
    sf.plan();
    return sf.sm.state().members.find((m) => m.id === 'n2')?.status === 'removed';
  }, 20_000, 'n2 to be removed');
  const after = load.counts.writes;
  await waitFor(() => load.counts.writes > after + 50, 10_000, 'writes after the leave');
  await load.stop();
  t.comment(`load: ${load.counts.writes} writes (${load.counts.writeFailures} failed), ${load.counts.reads} reads`);
  t.equal(load.counts.readFailures, 0, 'no read at R=2 failed during either transition');
  t.equal(load.counts.staleReads, 0, 'no read missed an acknowledged write');
  t.equal(load.counts.writeFailures, 0, 'no write failed');
  await checkPlacement(t, sf, load.acked, ['n1', 'n3', 'n4'], ['n2']);
  const unreadable: string[] = [];
  for (const [key, value] of load.acked) {
    const r = await sf.f.node('n3').coordinator.get(enc(key), { consistency: 2 });
    if (!r.found || Buffer.from(r.record!.value).toString() !== value) unreadable.push(key);
  }
  t.same(unreadable, [], `all ${load.acked.size} acknowledged writes readable at R=2 at the end`);
  t.ok(sf.lines.some((l) => /^n2 info: streaming: dropped partition \d+: \d+ keys/.test(l)), 'the removed node logs its drops');
});

t.test('a joiner streams from every read-ring owner: versions that only some owners hold all arrive', async (t) => {
  const sf = await makeStreamingFixture(t, ['n1', 'n2', 'n3', 'n4'], ['n1', 'n2', 'n3'], { partitions: P });
  // X is acknowledged by n2 and n3 only, Y by n1 and n3 only, Z by n1 and n2 only (W=2, no hint replay here).
  const only = async (down: string, prefix: string): Promise<string[]> => {
    sf.f.down.add(down);
    const keys = Array.from({ length: 40 }, (_, i) => `${prefix}${i}`);
    const writer = ['n1', 'n2', 'n3'].find((n) => n !== down)!;
    for (const k of keys) t.equal((await sf.f.node(writer).coordinator.put(enc(k), enc(prefix))).acks, 2);
    sf.f.down.delete(down);
    return keys;
  };
  const keys = [...(await only('n1', 'x')), ...(await only('n2', 'y')), ...(await only('n3', 'z'))];
  sf.gossip.add('n4');
  await waitFor(() => {
    sf.plan();
    return sf.sm.state().members.find((m) => m.id === 'n4')?.status === 'active';
  }, 20_000, 'n4 to become active');
  await Promise.all([...sf.services.values()].map((s) => s.idle()));
  const owned = new Set(transitionOf(sf.sm.state()).read.partitionsOf('n4'));
  const mine = keys.filter((k) => owned.has(partitionOf(k, P)));
  t.ok(mine.length > 10, `${mine.length} of the keys fall in n4's partitions`);
  const held = await storedKeys(sf, 'n4');
  t.same(mine.filter((k) => !held.has(k)), [], 'n4 holds every one of them, whichever two owners had it');
  // With N=3 of 4 nodes, each key lost one replica to n4; with any one old owner now down, R=2 still finds it.
  for (const down of ['n1', 'n2', 'n3']) {
    sf.f.down.add(down);
    const missed: string[] = [];
    for (const k of keys) {
      const r = await sf.f.node('n4').coordinator.get(enc(k), { consistency: 2 });
      if (!r.found) missed.push(k);
    }
    t.same(missed, [], `every key readable at R=2 with ${down} down`);
    sf.f.down.delete(down);
  }
});
