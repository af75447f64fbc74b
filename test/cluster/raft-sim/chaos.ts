/**
 * A random fault schedule for the Raft simulation: proposals, partitions, cut links, heals, crashes and
 * restarts at random times, drawn from the run's seed; with `extras`, also one-at-a-time configuration
 * changes (add learners, add or promote voters, remove anyone, the leader included, through spare nodes
 * that start outside the cluster), log compaction at random nodes (so lagging and restarted nodes need
 * InstallSnapshot) and leadership transfers. Then a calm phase (everything healed and restarted, no loss)
 * in which a leader must emerge and a fresh proposal must reach every member of its configuration.
 *
 * About a third of the proposals are cluster commands (cluster/state/commands.ts) for the nodes'
 * ClusterStateMachines: mostly increment-epoch to the proposing leader's applied epoch + 1 — so bumps
 * proposed by successive or lagging leaders race and the stale ones are refused — plus add-member and
 * set-member-status. The checker checks that no node's epoch ever goes backwards.
 */
import { type ClusterCommand, encodeCommand } from '../../../cluster/state/commands.js';
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
  /** increment-epoch entries that took effect, and ones refused as stale (not epoch + 1 when applied). */
  readonly epochBumps: number;
  readonly staleBumps: number;
  /** The highest epoch any node reached, and how many times the epoch invariant was checked. */
  readonly maxEpoch: number;
  readonly epochChecks: number;
  /** The nodes' final state when recovery failed, to debug the seed. */
  readonly final?: string[];
}

export interface ChaosExtras {
  /** Random conf changes, with this many spare nodes outside the initial configuration. */
  readonly spares?: number;
  readonly compaction?: boolean;
  readonly transfer?: boolean;
}

/** Members the cluster commands talk about (the cluster state's members, not the Raft nodes). */
const MEMBERS = ['m1', 'm2', 'm3', 'm4', 'm5'];

/** A cluster command the current leader would propose, drawn from `rng`, given its applied state. */
function clusterCommand(sim: RaftSim, leader: string, rng: Rng): ClusterCommand {
  const st = sim.clusterState(leader);
  const r = rng.next();
  const id = MEMBERS[rng.int(MEMBERS.length)]!;
  if (!st.created || r < 0.15) return { type: 'add-member', id, address: `10.0.0.${rng.int(4)}:7000`, zone: `z${rng.int(3)}` };
  if (r < 0.25) return { type: 'set-member-status', id, status: rng.chance(0.5) ? 'leaving' : 'removed' };
  return { type: 'increment-epoch', to: st.epoch + 1 };
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
      const l = sim.leader();
      if (l !== undefined && rng.chance(1 / 3)) sim.propose(encodeCommand(clusterCommand(sim, l.id, rng)));
      else sim.propose(`s${seed}-p${proposals++}`);
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
    epochBumps: sim.checker.stats.epochBumps,
    staleBumps: sim.checker.stats.staleBumps,
    maxEpoch: sim.checker.stats.maxEpoch,
    epochChecks: sim.checker.stats.epochChecks,
    ...(done ? {} : { final: sim.describe() }),
  };
}
