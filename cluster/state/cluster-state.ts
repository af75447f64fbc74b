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
 *  - Members move active → leaving → removed (or straight to removed), never back. Removed members stay
 *    listed so the rule above can be enforced, but leave the ring. The last member that is not removed
 *    cannot be removed (the cluster would have no ring at all).
 *  - The ring holds 'active' and 'leaving' members. A leaving (decommissioning) node still holds its
 *    replicas and serves them; the data moves when it is *removed*, so the ring changes exactly once, and
 *    a read during the drain still finds the replicas where they are.
 *  - increment-epoch{to} applies only when to === epoch + 1: two bumps proposed concurrently, or a stale
 *    one replayed, neither skip nor repeat an epoch, and the epoch never goes backwards.
 *  - set-config must be valid (1 ≤ R, W ≤ N) and, once created, keep P (changing P would move every key).
 */
import type { Entry } from '../raft/types.js';
import { type Ring, buildRing } from '../ring.js';
import { type ClusterCommand, decodeCommand } from './commands.js';
import { type ClusterConfig, DEFAULT_CLUSTER_CONFIG, configProblem, sameConfig } from './config.js';
import { ClusterSnapshotError } from './errors.js';
import { type ClusterMember, type ClusterState, decodeSnapshot, encodeSnapshot } from './snapshot-codec.js';

export type { ClusterConfig } from './config.js';
export { DEFAULT_CLUSTER_CONFIG } from './config.js';
export type { ClusterMember, ClusterState } from './snapshot-codec.js';

export interface ApplyResult {
  readonly index: number;
  /** The decoded command, for 'normal' entries that carry one. */
  readonly command?: ClusterCommand;
  /** True when the command took effect (also when it re-stated what was already true, e.g. the same address). */
  readonly applied: boolean;
  /** Why a command was ignored (applied = false), for the log. */
  readonly reason?: string;
  /** The set of ring members, their zones or P/N changed: the driver recomputes the ring and routes. */
  readonly ringChanged: boolean;
}

const inRing = (m: ClusterMember): boolean => m.status !== 'removed';

export class ClusterStateMachine {
  private epoch = 0;
  private config: ClusterConfig = DEFAULT_CLUSTER_CONFIG;
  private readonly members = new Map<string, ClusterMember>();
  private appliedIndex = 0;
  private created = false;
  private cachedRing: Ring | undefined;
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
    const ringChanged = this.execute(command);
    if (ringChanged) this.cachedRing = undefined;
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
        if (c.status === 'removed' && [...this.members.values()].filter(inRing).length === 1) {
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
    }
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
        const member: ClusterMember = old
          ? { ...old, address: c.address, zone: c.zone }
          : { id: c.id, address: c.address, zone: c.zone, status: 'active', joinedEpoch: this.epoch };
        this.members.set(c.id, member);
        return old === undefined || old.zone !== c.zone;
      }
      case 'set-member-status': {
        const old = this.members.get(c.id)!;
        this.members.set(c.id, { ...old, status: c.status });
        return c.status === 'removed';
      }
      case 'set-config': {
        const changed = this.config.replicas !== c.config.replicas || this.config.partitions !== c.config.partitions;
        if (!sameConfig(this.config, c.config)) this.config = { ...c.config };
        return changed;
      }
      case 'increment-epoch':
        this.epoch = c.to;
        return false;
    }
  }

  state(): ClusterState {
    this.cachedState ??= Object.freeze({
      epoch: this.epoch,
      config: this.config,
      members: Object.freeze([...this.members.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))),
      appliedIndex: this.appliedIndex,
      created: this.created,
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
    return sm;
  }

  /** The ring of the committed members that are active or leaving, with the committed P and N. */
  ring(): Ring {
    this.cachedRing ??= ringOf(this.state());
    return this.cachedRing;
  }
}

/** The ring a state implies (the same function every node uses). */
export function ringOf(state: ClusterState): Ring {
  const members = state.members.filter(inRing).map((m) => (m.zone === '' ? { id: m.id } : { id: m.id, meta: { zone: m.zone } }));
  return buildRing(members, { partitions: state.config.partitions, replicas: state.config.replicas });
}

/** One-line summary for logs, e.g. `epoch 7, 3 members (n1, n2, n3 leaving; 1 removed), P=256 N=3 R=2 W=2, applied 41`. */
export function describeState(state: ClusterState): string {
  const c = state.config;
  const cfg = `P=${c.partitions} N=${c.replicas} R=${c.readQuorum} W=${c.writeQuorum}`;
  if (!state.created) return `not created, ${cfg}, applied ${state.appliedIndex}`;
  const live = state.members.filter(inRing);
  const removed = state.members.length - live.length;
  const shown = live.slice(0, 10).map((m) => (m.status === 'leaving' ? `${m.id} leaving` : m.id));
  if (live.length > shown.length) shown.push(`… ${live.length - shown.length} more`);
  const extra = removed > 0 ? `; ${removed} removed` : '';
  return `epoch ${state.epoch}, ${live.length} members (${shown.join(', ')}${extra}), ${cfg}, applied ${state.appliedIndex}`;
}
