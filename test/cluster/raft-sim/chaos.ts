/**
 * A random fault schedule for the Raft simulation: proposals, partitions, cut links, heals, crashes and
 * restarts at random times, drawn from the run's seed; with `extras`, also one-at-a-time configuration
 * changes (add learners, add or promote voters, remove anyone, the leader included, through spare nodes
 * that start outside the cluster), log compaction at random nodes (so lagging and restarted nodes need
 * InstallSnapshot) and leadership transfers. Then a calm phase (everything healed and restarted, no loss)
 * in which a leader must emerge and a fresh proposal must reach every member of its configuration.
 */
import { Rng } from '../../support/rng.js';
import { RaftSim, TICK } from './cluster.js';

export interface ChaosResult {
  readonly seed: number;
  /** Ticks from the heal until every node applied a proposal made after it; -1 if that never happened. */
  readonly recoveryTicks: number;
  readonly delivered: number;
  readonly leaders: number;
  readonly commits: number;
  readonly confChanges: number;
  readonly snapshots: number;
  readonly transfers: number;
  /** The nodes' final state when recovery failed, to debug the seed. */
  readonly final?: string[];
}

export interface ChaosExtras {
  /** Random conf changes, with this many spare nodes outside the initial configuration. */
  readonly spares?: number;
  readonly compaction?: boolean;
  readonly transfer?: boolean;
}

export function runChaos(seed: number, size: number, chaosTicks: number, preVote = true, checkQuorum = true, extras: ChaosExtras = {}): ChaosResult {
  const rng = new Rng(seed ^ 0x5bd1e995);
  const membership = extras.spares !== undefined;
  let transfers = 0;
  const sim = new RaftSim({
    seed,
    size,
    spares: extras.spares ?? 0,
    config: { electionTicks: 10, heartbeatTicks: 1, preVote, checkQuorum, maxInflight: 4, maxEntriesPerMessage: 4 },
    dropRate: rng.next() * 0.15,
    dupRate: rng.next() * 0.1,
    lateRate: rng.next() * 0.05,
  });
  let proposals = 0;
  while (sim.now < chaosTicks * TICK) {
    sim.runUntil(sim.now + 1 + rng.int(3 * TICK));
    const r = rng.next();
    if (r < 0.45) {
      sim.propose(`s${seed}-p${proposals++}`);
    } else if (r < 0.55) {
      const ids = rng.shuffle([...sim.ids]);
      const cut = 1 + rng.int(ids.length - 1);
      sim.network.partition([ids.slice(0, cut), ids.slice(cut)]);
    } else if (r < 0.6) {
      const a = sim.ids[rng.int(size)]!;
      const b = sim.ids[rng.int(size)]!;
      if (a !== b) sim.network.cutLink(a, b);
    } else if (r < 0.7) {
      sim.network.heal();
    } else if (r < 0.77) {
      sim.crash(sim.ids[rng.int(size)]!);
    } else if (r < 0.87) {
      for (const id of sim.ids) if (!sim.isUp(id) && rng.chance(0.5)) sim.restart(id);
    } else if (r < 0.92 && membership) {
      const node = sim.ids[rng.int(sim.ids.length)]!;
      const type = (['add-voter', 'add-learner', 'remove'] as const)[rng.int(3)]!;
      sim.confChange({ type, node });
    } else if (r < 0.97 && extras.compaction === true) {
      sim.compact(sim.ids[rng.int(sim.ids.length)]!);
    } else if (r < 1 && extras.transfer === true) {
      if (sim.transfer(sim.ids[rng.int(sim.ids.length)]!) === 'ok') transfers++;
    }
  }
  // Calm phase: heal, restart everyone, no more loss or duplication.
  sim.network.heal();
  sim.network.dropRate = 0;
  sim.dupRate = 0;
  sim.lateRate = 0;
  for (const id of sim.ids) sim.restart(id);
  const healedAt = sim.now;
  const data = `s${seed}-final`;
  // A proposal may be lost when its leader is deposed before committing it (Raft promises nothing for
  // it); the client then retries with the next leader.
  let proposedIn = '';
  const finals: { index: number; term: number }[] = [];
  const done = sim.runUntilTrue(() => {
    const l = sim.leader();
    if (l !== undefined && proposedIn !== `${l.id}/${l.term}`) {
      const p = sim.propose(data);
      if (p !== undefined) {
        proposedIn = `${l.id}/${l.term}`;
        finals.push(p);
      }
    }
    if (l === undefined) return false;
    // Applied everywhere that matters: by every member of the leader's configuration (a removed node is
    // nobody's concern any more), through its log or a snapshot that covers it.
    const conf = l.confState();
    const members = [...conf.voters, ...conf.learners];
    return finals.some(
      (f) => sim.checker.appliedValue(f.index) === `${f.term}|${Buffer.from(data).toString('hex')}` && members.every((id) => (sim.raft(id)?.log.applied ?? 0) >= f.index),
    );
  }, 200 * TICK);
  return {
    seed,
    recoveryTicks: done ? Math.ceil((sim.now - healedAt) / TICK) : -1,
    delivered: sim.delivered,
    leaders: sim.checker.stats.leaders,
    commits: sim.checker.stats.commits,
    confChanges: sim.checker.stats.confChanges,
    snapshots: sim.checker.stats.snapshots,
    transfers,
    ...(done ? {} : { final: sim.describe() }),
  };
}
