/**
 * The cluster state machine: what the Raft log decides about the cluster's organisation — the committed
 * member list, the epoch and the configuration (P, N, R, W). Every node applies the same committed
 * entries in the same order and so holds the same state and computes the same ring for the same epoch.
 *
 * Rules (all deterministic; a command that does not fit the state is ignored with a reason, never thrown,
 * because every node must reach the same verdict from the same log):
 *  - 'normal' entries with empty data are the no-ops new leaders append; 'conf' entries belong to Raft.
 *    Both only move appliedIndex. Undecodable data is ignored with a reason (it cannot come from us).
 *  - The first add-member creates the cluster: `created` becomes true and the epoch 1.
 *  - add-member of a listed id updates its address and zone (a restarted node on a new port) and keeps
 *    its joinedEpoch and status. add-member of a *removed* id is ignored: a removed node's replicas have
 *    been handed to others and its data is stale, so it must not reappear under the same id; the node
 *    keeps being refused (the planner does not propose it) until it is restarted with a new id.
 *  - Members move joining → active → leaving → removed, never back (cluster/STREAMING.md). The first
 *    member of a new cluster is added active; every later one joining. A joining member may go straight
 *    to removed (it never held data anyone needs) but cannot become leaving (that would put it in the
 *    read ring without data). Removed members stay listed so the rule above can be enforced, but leave
 *    both rings. Nothing may leave the cluster without an active member, nor the write ring empty.
 *  - Two rings (transition.ts): the read ring of active and leaving members, the write ring of active
 *    and joining ones. `transition` counts changes of the set of joining/leaving members; a member's
 *    `streamedTransition` is the last transition it reported stream-done for. stream-done{id, t} applies
 *    only when t is the current transition; finish-transition{t} only when t is current, something is in
 *    flight and every member that gains a partition has reported t: then joining → active and leaving →
 *    removed, all at once (one ring change rather than one per member).
 *  - increment-epoch{to} applies only when to === epoch + 1: two bumps proposed concurrently, or a stale
 *    one replayed, neither skip nor repeat an epoch, and the epoch never goes backwards.
 *  - set-config must be valid (1 ≤ R, W ≤ N) and, once created, keep P (changing P would move every key).
 */
import type { Entry } from '../raft/types.js';
import type { Ring } from '../ring.js';
import { type ClusterCommand, decodeCommand } from './commands.js';
import { type ClusterConfig, DEFAULT_CLUSTER_CONFIG, configProblem, sameConfig } from './config.js';
import { ClusterSnapshotError } from './errors.js';
import { type ClusterMember, type ClusterState, decodeSnapshot, encodeSnapshot } from './snapshot-codec.js';
import { inReadRing, inTransition, inWriteRing, transitionOf } from './transition.js';

export type { ClusterConfig } from './config.js';
export { DEFAULT_CLUSTER_CONFIG } from './config.js';
export type { ClusterMember, ClusterState, MemberStatus } from './snapshot-codec.js';

export interface ApplyResult {
  readonly index: number;
  /** The decoded command, for 'normal' entries that carry one. */
  readonly command?: ClusterCommand;
  /** True when the command took effect (also when it re-stated what was already true, e.g. the same address). */
  readonly applied: boolean;
  /** Why a command was ignored (applied = false), for the log. */
  readonly reason?: string;
  /** The members of either ring, their statuses or zones, or P/N changed: the rings must be recomputed. */
  readonly ringChanged: boolean;
}

const inRing = (m: ClusterMember): boolean => m.status !== 'removed';

export class ClusterStateMachine {
  private epoch = 0;
  private config: ClusterConfig = DEFAULT_CLUSTER_CONFIG;
  private readonly members = new Map<string, ClusterMember>();
  private appliedIndex = 0;
  private created = false;
  private transition = 0;
  private cachedState: ClusterState | undefined;

  /**
   * Applies the committed entry at appliedIndex + 1. An entry at or below appliedIndex (a replay after a
   * snapshot restore) changes nothing. A gap is a bug in the caller, not input: it throws a RangeError.
   */
  apply(entry: Entry): ApplyResult {
    if (entry.index <= this.appliedIndex) {
      return { index: entry.index, applied: false, reason: `already applied (applied index ${this.appliedIndex})`, ringChanged: false };
    }
    if (entry.index !== this.appliedIndex + 1) {
      throw new RangeError(`cluster state: entry ${entry.index} applied after ${this.appliedIndex} (entries must be applied in order)`);
    }
    this.appliedIndex = entry.index;
    this.cachedState = undefined;
    if (entry.type === 'conf' || entry.data.length === 0) return { index: entry.index, applied: false, ringChanged: false };
    let command: ClusterCommand;
    try {
      command = decodeCommand(entry.data);
    } catch (err) {
      return { index: entry.index, applied: false, reason: `undecodable command: ${(err as Error).message}`, ringChanged: false };
    }
    const reason = this.check(command);
    if (reason !== undefined) return { index: entry.index, command, applied: false, reason, ringChanged: false };
    const before = this.transitionSet();
    const ringChanged = this.execute(command);
    if (this.transitionSet() !== before) this.transition++;
    this.cachedState = undefined; // check() may have cached the state before the command
    return { index: entry.index, command, applied: true, ringChanged };
  }

  /** Why `c` does not apply to the current state, or undefined when it does. */
  private check(c: ClusterCommand): string | undefined {
    switch (c.type) {
      case 'add-member': {
        const m = this.members.get(c.id);
        return m?.status === 'removed' ? `member ${c.id} was removed; a removed id cannot rejoin (use a new node id)` : undefined;
      }
      case 'set-member-status': {
        const m = this.members.get(c.id);
        if (m === undefined) return `no member ${c.id}`;
        if (m.status === 'removed') return `member ${c.id} is already removed`;
        if (m.status === c.status) return `member ${c.id} is already ${c.status}`;
        if (c.status === 'leaving' && m.status === 'joining') return `member ${c.id} is joining: it holds no data to hand over (remove it instead)`;
        const others = [...this.members.values()].filter((x) => x.id !== c.id);
        if (!others.some(inWriteRing) || (c.status === 'removed' && !others.some(inReadRing))) {
          return `member ${c.id} is the last member of the cluster`;
        }
        return undefined;
      }
      case 'set-config': {
        const problem = configProblem(c.config);
        if (problem !== undefined) return `bad configuration: ${problem}`;
        if (this.created && c.config.partitions !== this.config.partitions) {
          return `partitions are fixed at creation (P = ${this.config.partitions}, asked ${c.config.partitions})`;
        }
        return undefined;
      }
      case 'increment-epoch':
        if (!this.created) return 'the cluster is not created yet';
        return c.to === this.epoch + 1 ? undefined : `epoch ${c.to} does not follow the current epoch ${this.epoch}`;
      case 'stream-done': {
        const m = this.members.get(c.id);
        if (m === undefined || m.status === 'removed') return `no member ${c.id} in the cluster`;
        return c.transition === this.transition ? undefined : `transition ${c.transition} is not the current one (${this.transition})`;
      }
      case 'finish-transition': {
        if (c.transition !== this.transition) return `transition ${c.transition} is not the current one (${this.transition})`;
        if (![...this.members.values()].some(inTransition)) return 'no member is joining or leaving';
        const t = transitionOf(this.state());
        if (!t.streamed) {
          const waiting = [...t.gained.keys()].filter((id) => (this.members.get(id)?.streamedTransition ?? 0) !== this.transition);
          return `members ${waiting.join(', ')} have not streamed their partitions for transition ${this.transition}`;
        }
        return undefined;
      }
    }
  }

  /** The joining and leaving members, as a comparable string. */
  private transitionSet(): string {
    return [...this.members.values()]
      .filter(inTransition)
      .map((m) => `${m.id}:${m.status}`)
      .sort()
      .join(',');
  }

  /** Executes a checked command; returns whether the ring changed. */
  private execute(c: ClusterCommand): boolean {
    switch (c.type) {
      case 'add-member': {
        if (!this.created) {
          this.created = true;
          this.epoch = Math.max(this.epoch, 1);
        }
        const old = this.members.get(c.id);
        // The first member holds the (empty) data set by definition; later ones stream theirs in.
        const status = this.members.size === 0 ? 'active' : 'joining';
        const member: ClusterMember = old
          ? { ...old, address: c.address, zone: c.zone }
          : { id: c.id, address: c.address, zone: c.zone, status, joinedEpoch: this.epoch, streamedTransition: 0 };
        this.members.set(c.id, member);
        return old === undefined || old.zone !== c.zone;
      }
      case 'set-member-status': {
        const old = this.members.get(c.id)!;
        this.members.set(c.id, { ...old, status: c.status });
        return true;
      }
      case 'set-config': {
        const changed = this.config.replicas !== c.config.replicas || this.config.partitions !== c.config.partitions;
        if (!sameConfig(this.config, c.config)) this.config = { ...c.config };
        return changed;
      }
      case 'increment-epoch':
        this.epoch = c.to;
        return false;
      case 'stream-done': {
        const old = this.members.get(c.id)!;
        this.members.set(c.id, { ...old, streamedTransition: c.transition });
        return false;
      }
      case 'finish-transition':
        for (const m of [...this.members.values()]) {
          if (m.status === 'joining') this.members.set(m.id, { ...m, status: 'active' });
          else if (m.status === 'leaving') this.members.set(m.id, { ...m, status: 'removed' });
        }
        return true;
    }
  }

  state(): ClusterState {
    this.cachedState ??= Object.freeze({
      epoch: this.epoch,
      config: this.config,
      members: Object.freeze([...this.members.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))),
      appliedIndex: this.appliedIndex,
      created: this.created,
      transition: this.transition,
    });
    return this.cachedState;
  }

  /** The state as bytes for a Raft snapshot at appliedIndex; identical states give identical bytes. */
  snapshot(): Uint8Array {
    return encodeSnapshot(this.state());
  }

  /** The state machine a snapshot taken at Raft index `index` describes. */
  static restore(data: Uint8Array, index: number): ClusterStateMachine {
    const s = decodeSnapshot(data);
    if (s.appliedIndex !== index) {
      throw new ClusterSnapshotError(`snapshot covers index ${s.appliedIndex}, but the Raft snapshot is at ${index}`);
    }
    const sm = new ClusterStateMachine();
    sm.epoch = s.epoch;
    sm.config = s.config;
    for (const m of s.members) sm.members.set(m.id, m);
    sm.appliedIndex = s.appliedIndex;
    sm.created = s.created;
    sm.transition = s.transition ?? 0;
    return sm;
  }

  /** The read ring: the committed members that are active or leaving, with the committed P and N. */
  ring(): Ring {
    return ringOf(this.state());
  }
}

/** The read ring a state implies (the same function every node uses); transition.ts has the write ring. */
export function ringOf(state: ClusterState): Ring {
  return transitionOf(state).read;
}

/** One-line summary for logs, e.g. `epoch 7, 3 members (n1, n2, n3 leaving; 1 removed), P=256 N=3 R=2 W=2, applied 41`. */
export function describeState(state: ClusterState): string {
  const c = state.config;
  const cfg = `P=${c.partitions} N=${c.replicas} R=${c.readQuorum} W=${c.writeQuorum}`;
  if (!state.created) return `not created, ${cfg}, applied ${state.appliedIndex}`;
  const live = state.members.filter(inRing);
  const removed = state.members.length - live.length;
  const shown = live.slice(0, 10).map((m) => (m.status === 'active' ? m.id : `${m.id} ${m.status}`));
  if (live.length > shown.length) shown.push(`… ${live.length - shown.length} more`);
  const extra = removed > 0 ? `; ${removed} removed` : '';
  const moving = state.members.some(inTransition) ? `, transition ${state.transition}` : '';
  return `epoch ${state.epoch}, ${live.length} members (${shown.join(', ')}${extra}), ${cfg}${moving}, applied ${state.appliedIndex}`;
}
