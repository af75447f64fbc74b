import t, { type Test } from 'tap';
import type { ConfChange, RaftConfig } from '../../cluster/raft/types.js';
import { Rng } from '../support/rng.js';
import { RaftSim, TICK } from './raft-sim/cluster.js';

// Liveness and the two election refinements, in the deterministic simulator (safety invariants are
// checked throughout as well). electionTicks = 10: timeouts are drawn from [10, 20) ticks.
const SEEDS = 25;
const base: Partial<RaftConfig> = { electionTicks: 10, heartbeatTicks: 1, preVote: true, checkQuorum: true };

function stableLeader(sim: RaftSim): { id: string; term: number } | undefined {
  const l = sim.leader();
  if (l === undefined) return undefined;
  const all = sim.ids.every((id) => {
    const r = sim.raft(id);
    return r !== undefined && r.leader === l.id && r.term === l.term;
  });
  return all ? { id: l.id, term: l.term } : undefined;
}

/** Runs until every node follows one leader; returns it, or fails the test. */
function elect(t: Test, sim: RaftSim, ticks: number, what: string): { id: string; term: number } | undefined {
  let found: { id: string; term: number } | undefined;
  const ok = sim.runUntilTrue(() => (found = stableLeader(sim)) !== undefined, ticks * TICK);
  if (!ok) t.fail(`${what}: no leader followed by all within ${ticks} ticks`);
  return found;
}

t.test('after a partition with no majority heals, a leader is elected within 60 ticks', (t) => {
  for (const size of [3, 5]) {
    for (let seed = 1; seed <= SEEDS; seed++) {
      const sim = new RaftSim({ seed, size, config: base, dropRate: 0.05, dupRate: 0.05 });
      elect(t, sim, 100, `seed ${seed} start`);
      const ids = new Rng(seed).shuffle([...sim.ids]);
      // No group holds a majority: 1|1|1 or 2|2|1.
      sim.network.partition(size === 3 ? [[ids[0]!], [ids[1]!]] : [ids.slice(0, 2), ids.slice(2, 4)]);
      sim.runUntil(sim.now + 60 * TICK);
      t.equal(sim.leader()?.id, undefined, `size ${size} seed ${seed}: no leader while split (the old one stepped down)`);
      sim.network.heal();
      const healedAt = sim.now;
      elect(t, sim, 60, `size ${size} seed ${seed} after heal`);
      t.ok(sim.now - healedAt <= 60 * TICK);
    }
  }
  t.end();
});

/** Isolates one follower for 100 ticks, heals, runs 100 more; returns the leader and terms before and after. */
function rejoin(seed: number, size: number, config: Partial<RaftConfig>) {
  const sim = new RaftSim({ seed, size, config });
  const before = stableLeader(sim) ?? (sim.runUntilTrue(() => stableLeader(sim) !== undefined, 200 * TICK), stableLeader(sim));
  if (before === undefined) throw new Error(`seed ${seed}: no initial leader`);
  const follower = sim.ids.find((id) => id !== before.id)!;
  sim.network.partition([[follower]]);
  sim.runUntil(sim.now + 100 * TICK);
  const isolatedTerm = sim.raft(follower)!.term;
  sim.network.heal();
  sim.runUntil(sim.now + 100 * TICK);
  return { before, after: stableLeader(sim), isolatedTerm };
}

t.test('pre-vote: a rejoining partitioned follower does not raise its term or depose the leader', (t) => {
  for (const size of [3, 5]) {
    for (let seed = 1; seed <= SEEDS; seed++) {
      const r = rejoin(seed, size, base);
      t.equal(r.isolatedTerm, r.before.term, `size ${size} seed ${seed}: isolated node kept term ${r.before.term}`);
      t.same(r.after, r.before, `size ${size} seed ${seed}: same leader, same term after the heal`);
    }
  }
  t.end();
});

t.test('without pre-vote the same scenario does depose the leader (the check above can fail)', (t) => {
  let deposed = 0;
  for (let seed = 1; seed <= SEEDS; seed++) {
    const r = rejoin(seed, 5, { ...base, preVote: false });
    t.ok(r.isolatedTerm > r.before.term, `seed ${seed}: isolated node inflated its term`);
    if (r.after === undefined || r.after.term !== r.before.term) deposed++;
  }
  t.equal(deposed, SEEDS, 'every run ends at a higher term');
  t.end();
});

/** Isolates the leader; returns after how many ticks it stepped down, or -1 within 100 ticks. */
function isolateLeader(seed: number, size: number, config: Partial<RaftConfig>): number {
  const sim = new RaftSim({ seed, size, config });
  sim.runUntilTrue(() => stableLeader(sim) !== undefined, 200 * TICK);
  const l = sim.leader()!;
  sim.network.partition([[l.id]]);
  const start = sim.now;
  const ok = sim.runUntilTrue(() => l.role !== 'leader', 100 * TICK);
  return ok ? Math.ceil((sim.now - start) / TICK) : -1;
}

t.test('check-quorum: an isolated leader steps down within two election timeouts', (t) => {
  for (const size of [3, 5]) {
    for (let seed = 1; seed <= SEEDS; seed++) {
      const ticks = isolateLeader(seed, size, base);
      t.ok(ticks >= 0 && ticks <= 2 * 10 + 1, `size ${size} seed ${seed}: stepped down after ${ticks} ticks`);
    }
  }
  t.end();
});

t.test('without check-quorum an isolated leader stays leader (the check above can fail)', (t) => {
  for (let seed = 1; seed <= 5; seed++) t.equal(isolateLeader(seed, 3, { ...base, checkQuorum: false }), -1);
  t.end();
});

/** A leader followed by every member of its configuration (removed nodes and outsiders do not count). */
function stableMemberLeader(sim: RaftSim): { id: string; term: number } | undefined {
  const l = sim.leader();
  if (l === undefined) return undefined;
  const c = l.confState();
  const all = [...c.voters, ...c.learners].every((id) => {
    const r = sim.raft(id);
    return r !== undefined && r.leader === l.id && r.term === l.term;
  });
  return all ? { id: l.id, term: l.term } : undefined;
}

/** Proposes `cc` on whoever leads until it is committed on the leader (retrying while refused). */
function change(t: Test, sim: RaftSim, cc: ConfChange, what: string): void {
  const done = (): boolean => {
    const l = sim.leader();
    if (l === undefined) return false;
    const c = l.confState();
    const voter = c.voters.includes(cc.node);
    const learner = c.learners.includes(cc.node);
    return cc.type === 'add-voter' ? voter : cc.type === 'add-learner' ? learner : !voter && !learner;
  };
  const ok = sim.runUntilTrue(() => done() || (sim.confChange(cc), done()), 200 * TICK);
  if (!ok) t.fail(`${what}: ${cc.type} ${cc.node} not committed within 200 ticks`);
}

t.test('after conf changes (learner, promotion, removal of a voter or the leader) and a split heal, a leader is elected within 60 ticks', (t) => {
  for (let seed = 1; seed <= SEEDS; seed++) {
    const sim = new RaftSim({ seed, size: 3, spares: 2, config: base, dropRate: 0.05, dupRate: 0.05 });
    const first = sim.runUntilTrue(() => stableMemberLeader(sim) !== undefined, 100 * TICK);
    if (!first) t.fail(`seed ${seed}: no initial leader`);
    change(t, sim, { type: 'add-learner', node: 'n4' }, `seed ${seed}`);
    change(t, sim, { type: 'add-voter', node: 'n4' }, `seed ${seed}`);
    change(t, sim, { type: 'add-voter', node: 'n5' }, `seed ${seed}`);
    // Remove the leader in odd runs, a follower in even ones.
    const l = sim.leader()!;
    const victim = seed % 2 === 1 ? l.id : l.confState().voters.find((v) => v !== l.id)!;
    change(t, sim, { type: 'remove', node: victim }, `seed ${seed}`);
    const voters = sim.leader()?.confState().voters ?? [];
    t.equal(voters.length, 4, `seed ${seed}: four voters after removing ${victim}`);
    // A 2|2 split of the four voters: nobody can lead, then heal.
    sim.network.partition([voters.slice(0, 2), voters.slice(2)]);
    sim.runUntil(sim.now + 60 * TICK);
    const healedAt = sim.now;
    sim.network.heal();
    // The removed node, if it never learned that its removal committed, may still win an election of
    // its old configuration (whose majorities overlap the new one's); it then commits its removal and
    // steps down. What must follow within the bound is a leader of the new configuration.
    const ok = sim.runUntilTrue(() => {
      const found = stableMemberLeader(sim);
      return found !== undefined && found.id !== victim && !sim.leader()!.confState().voters.includes(victim);
    }, 60 * TICK);
    t.ok(ok, `seed ${seed}: a leader of the new configuration within ${Math.ceil((sim.now - healedAt) / TICK)} ticks of the heal`);
  }
  t.end();
});
