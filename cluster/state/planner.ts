/**
 * What the Raft leader proposes about the cluster's organisation, as a pure function of the committed
 * state, the Raft configuration, the gossip view and the clock. The driver calls it periodically on the
 * leader and proposes the result; since proposals only take effect once committed and applied, calling
 * it again before they apply may propose the same thing twice, which the state machine absorbs (a
 * repeated add-member re-states the address; a second increment-epoch to the same value is ignored).
 *
 * Policies:
 *  - Bootstrap: before the cluster exists, the leader proposes `initialConfig` (if given and different)
 *    and add-member for every alive gossip member, itself first — the first committed add-member creates
 *    the cluster.
 *  - Join: an alive gossip member that is not listed, or whose address or zone changed, is added (as
 *    joining, cluster-state.ts). A removed id is never re-added (see cluster-state.ts); it is reported in
 *    `notes`. New members wait while a transition is in flight (one transition's worth of change at a
 *    time, cluster/STREAMING.md); address changes do not. Newcomers join together: none is added until
 *    the leader has known the most recent for joinGraceMs (or the first for ten times that), so that
 *    nodes started together cost one transition — each costs a settle time and a streaming pass — not
 *    one each. Known since the first sighting, not the last change of state: under load a newcomer may
 *    flap between alive and suspect, and must not hold the others back for it.
 *  - Dead members: a listed member whose gossip state has been 'dead' *or* 'left' for at least
 *    removeDeadAfterMs is set leaving (its partitions are streamed from the other read-ring owners) — or
 *    removed at once if it is still joining (it holds nothing anyone needs). 'left' waits too: a graceful
 *    stop (Ctrl-C, a rolling restart) also announces 'left', and moving every replica away on each
 *    restart would be far worse than the timeout. While a transition is in flight only a member that
 *    gains partitions in it is set leaving (so a dead gainer cannot stall the transition forever); the
 *    others wait. A member gossip does not know at all is left alone (a fresh leader's gossip view may
 *    still be filling). `self` is never set leaving or removed.
 *  - Finish: once every member that gains a partition has reported stream-done for the current
 *    transition, finish-transition (joining → active, leaving → removed). Not while the leader itself is
 *    leaving: it hands leadership over first (driver-planner.ts).
 *  - Epoch: bumped to epoch + 1 once epochIntervalMs has passed since the last bump.
 *  - Raft configuration, at most one change per call and none while one is pending, in this order:
 *      1. remove a voter that is removed or dead/left too long (not self: leadership transfer first; never
 *         the last voter);
 *      2. promote a learner while the useful voters (not removed, leaving or dead too long) number fewer
 *         than min(voterTarget, active alive members): first a learner of a zone no useful voter covers;
 *         else add as a learner a member of such a zone (it is promoted next); else, unless a member of
 *         such a zone is still joining (the seat waits for it), any learner, by id;
 *      3. remove a leaving voter (its replacement was promoted in step 2 first; step 5 brings it back as a
 *         learner, so it follows the log — and learns of its removal — while its data is streamed away);
 *      4. remove a learner that is removed or dead/left too long;
 *      5. add a joining, active or leaving alive member that is in neither set as a learner (a joining
 *         member must follow the log to learn what it gains; it becomes a voter candidate once active).
 *    Removing before promoting keeps the quorum among live nodes (3 voters with one dead → 2, not 4 with
 *    one dead). Nodes in the Raft configuration that are not listed at all (the bootstrap voter before its
 *    add-member commits) are left alone. Whether a learner has caught up before promotion is Raft's business.
 */
import type { ConfChange, ConfState } from '../raft/types.js';
import type { ClusterCommand } from './commands.js';
import { type ClusterConfig, sameConfig } from './config.js';
import type { ClusterMember, ClusterState } from './snapshot-codec.js';
import { inTransition, transitionOf } from './transition.js';

export interface GossipView {
  readonly id: string;
  readonly address: string;
  readonly zone: string;
  readonly state: 'alive' | 'suspect' | 'dead' | 'left';
  /** When the member entered `state` (same clock as nowMs). */
  readonly sinceMs: number;
  /** When this leader first saw the member in any state (default sinceMs): a flapping newcomer keeps it. */
  readonly firstSeenMs?: number;
}

export interface PlannerOptions {
  /** Epoch length (default 30 s). */
  readonly epochIntervalMs: number;
  /** How long a member stays dead or left before it is removed (e.g. 10 min). */
  readonly removeDeadAfterMs: number;
  /** Voters wanted in the Raft configuration (default 3; 5 tolerates two failures). */
  readonly voterTarget: number;
  /** Configuration the leader sets before creating the cluster (bootstrap only). */
  readonly initialConfig?: ClusterConfig;
  /** How long the leader must have known the newest newcomer before the newcomers are added together (default 1 s). */
  readonly joinGraceMs: number;
}

export const DEFAULT_PLANNER_OPTIONS: PlannerOptions = {
  epochIntervalMs: 30_000,
  removeDeadAfterMs: 10 * 60_000,
  voterTarget: 3,
  joinGraceMs: 1000,
};

export interface PlannerInput {
  readonly self: string;
  readonly state: ClusterState;
  readonly conf: ConfState;
  readonly gossip: readonly GossipView[];
  readonly nowMs: number;
  readonly lastEpochBumpMs: number;
  readonly options: PlannerOptions;
  /** A conf change is proposed and not yet applied: propose none. */
  readonly pendingConfChange: boolean;
}

export interface LeaderPlan {
  /** Commands to propose, in this order. */
  readonly commands: ClusterCommand[];
  /** At most one Raft configuration change. */
  readonly confChange?: ConfChange;
  /** Things the operator should know that need no proposal (a removed id gossiping again, a conf change held back). */
  readonly notes: string[];
}

const byId = <T extends { readonly id: string }>(a: T, b: T): number => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

export function planLeaderActions(input: PlannerInput): LeaderPlan {
  const { self, state, options, nowMs } = input;
  const commands: ClusterCommand[] = [];
  const notes: string[] = [];
  const gossip = new Map<string, GossipView>();
  for (const g of [...input.gossip].sort(byId)) gossip.set(g.id, g);
  const members = new Map(state.members.map((m) => [m.id, m]));

  const alive = (id: string): boolean => gossip.get(id)?.state === 'alive';
  const goneTooLong = (id: string): boolean => {
    const g = gossip.get(id);
    return g !== undefined && (g.state === 'dead' || g.state === 'left') && nowMs - g.sinceMs >= options.removeDeadAfterMs;
  };

  // Bootstrap configuration, before the first member creates the cluster.
  if (!state.created && options.initialConfig !== undefined && !sameConfig(options.initialConfig, state.config)) {
    commands.push({ type: 'set-config', config: options.initialConfig });
  }

  // Joins and address changes: self first at bootstrap, so the creating node is the first member.
  const inFlight = state.members.some(inTransition);
  const candidates = [...gossip.values()].filter((g) => g.state === 'alive');
  if (!state.created) candidates.sort((a, b) => (a.id === self ? -1 : b.id === self ? 1 : byId(a, b)));
  const newcomers = candidates.filter((g) => g.id !== self && !members.has(g.id));
  const knownFor = newcomers.map((g) => nowMs - (g.firstSeenMs ?? g.sinceMs));
  const graceOver = Math.min(...knownFor) >= options.joinGraceMs || Math.max(...knownFor) >= 10 * options.joinGraceMs;
  for (const g of candidates) {
    const m = members.get(g.id);
    if (m?.status === 'removed') {
      notes.push(`member ${g.id} was removed and is alive again at ${g.address}; it cannot rejoin under this id`);
    } else if (m === undefined && inFlight) {
      notes.push(`member ${g.id} waits to join until transition ${(state.transition ?? 0)} finishes`);
    } else if (m === undefined && g.id !== self && !graceOver) {
      notes.push(`member ${g.id} waits to join with any other newcomer (known ${nowMs - (g.firstSeenMs ?? g.sinceMs)} ms of ${options.joinGraceMs})`);
    } else if (m === undefined || m.address !== g.address || m.zone !== g.zone) {
      commands.push({ type: 'add-member', id: g.id, address: g.address, zone: g.zone });
    }
  }

  // Dead or left for too long: a joining member is removed, any other set leaving (see above).
  const gained = state.created ? transitionOf(state).gained : new Map<string, readonly number[]>();
  const removing = new Set<string>();
  let changing = false;
  let writers = state.members.filter((m) => m.status === 'active' || m.status === 'joining').length;
  for (const m of state.members) {
    if (m.id === self || !goneTooLong(m.id)) continue;
    if (m.status === 'joining') {
      commands.push({ type: 'set-member-status', id: m.id, status: 'removed' });
      removing.add(m.id);
      writers--;
      changing = true;
    } else if (m.status === 'active') {
      if (inFlight && !gained.has(m.id)) {
        notes.push(`member ${m.id} is gone; it will be set leaving once transition ${(state.transition ?? 0)} finishes`);
      } else if (writers <= 1) {
        notes.push(`member ${m.id} is gone, but it is the last member that could hold the data`);
      } else {
        commands.push({ type: 'set-member-status', id: m.id, status: 'leaving' });
        writers--;
        changing = true;
      }
    }
  }

  if (inFlight && !changing && transitionOf(state).streamed) {
    if (members.get(self)?.status === 'leaving') notes.push(`transition ${(state.transition ?? 0)} is streamed, but the leader is leaving: handing leadership over first`);
    else commands.push({ type: 'finish-transition', transition: (state.transition ?? 0) });
  }

  if (state.created && nowMs - input.lastEpochBumpMs >= options.epochIntervalMs) {
    commands.push({ type: 'increment-epoch', to: state.epoch + 1 });
  }

  const plan: LeaderPlan = { commands, notes };
  if (!state.created) return plan;
  if (input.pendingConfChange) return plan;
  const confChange = planConfChange(input, members, removing, alive, goneTooLong, notes);
  return confChange === undefined ? plan : { ...plan, confChange };
}

function planConfChange(
  input: PlannerInput,
  members: ReadonlyMap<string, ClusterMember>,
  removing: ReadonlySet<string>,
  alive: (id: string) => boolean,
  goneTooLong: (id: string) => boolean,
  notes: string[],
): ConfChange | undefined {
  const { self, conf, state, options } = input;
  const voters = [...conf.voters].sort();
  const learners = [...conf.learners].sort();
  const status = (id: string): ClusterMember['status'] | undefined => members.get(id)?.status;
  const gone = (id: string): boolean => status(id) === 'removed' || removing.has(id) || goneTooLong(id);

  // 1. Voters that are gone for good.
  for (const v of voters.filter(gone)) {
    if (v === self) notes.push(`voter ${v} (self, the leader) should leave the Raft configuration: transfer leadership first`);
    else if (voters.length > 1) return { type: 'remove', node: v };
  }

  // 2. Promotion while useful voters are short of the target.
  const useful = voters.filter((v) => !gone(v) && status(v) !== 'leaving');
  const activeAlive = state.members.filter((m) => m.status === 'active' && alive(m.id) && !removing.has(m.id)).length;
  if (useful.length < Math.min(options.voterTarget, activeAlive)) {
    const zones = new Set(useful.map((v) => members.get(v)?.zone ?? ''));
    const ready = learners.filter((l) => status(l) === 'active' && alive(l) && !removing.has(l));
    const fresh = (id: string): boolean => !zones.has(members.get(id)?.zone ?? '');
    const pick = ready.find(fresh);
    if (pick !== undefined) return { type: 'add-voter', node: pick };
    // A member of an uncovered zone that is not even a learner yet: bring it in so it can be promoted next.
    const inConf = new Set([...voters, ...learners]);
    const scout = state.members.find((m) => m.status === 'active' && !inConf.has(m.id) && alive(m.id) && !removing.has(m.id) && fresh(m.id));
    if (scout !== undefined) return { type: 'add-learner', node: scout.id };
    // A member of an uncovered zone is still joining: keep the seat for it rather than fill it from a covered zone.
    const joiner = state.members.find((m) => m.status === 'joining' && alive(m.id) && fresh(m.id));
    if (joiner !== undefined) notes.push(`a voter seat waits for ${joiner.id} (zone ${joiner.zone || "''"}) to finish joining`);
    else if (ready[0] !== undefined) return { type: 'add-voter', node: ready[0] };
  }

  // 3. Leaving voters, once their replacement (if any was available) is in.
  for (const v of voters.filter((x) => status(x) === 'leaving')) {
    if (v === self) notes.push(`voter ${v} (self, the leader) is leaving: transfer leadership first`);
    else if (voters.length > 1) return { type: 'remove', node: v };
  }

  // 4. Learners that are gone for good.
  const goneLearner = learners.find(gone);
  if (goneLearner !== undefined) return { type: 'remove', node: goneLearner };

  // 5. Every joining, active or leaving alive member receives the log.
  const inConf = new Set([...voters, ...learners]);
  const missing = state.members.find((m) => m.status !== 'removed' && !inConf.has(m.id) && alive(m.id) && !removing.has(m.id));
  return missing === undefined ? undefined : { type: 'add-learner', node: missing.id };
}
