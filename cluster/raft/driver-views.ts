/**
 * Small pure helpers of the Raft driver: the gossip view the leader's planner reads (with the time each
 * member entered its state), the Status RPC response, and the log lines for applied commands.
 */
import Long from 'long';
import type { MemberRecord } from '../membership/types.js';
import type { mydatastore } from '../../proto/gen/messages.js';
import type { ApplyResult, ClusterState } from '../state/cluster-state.js';
import type { GossipView } from '../state/planner.js';
import type { Ring } from '../ring.js';
import type { RaftStatus } from './types.js';

/**
 * Remembers since when each gossip member has been in its current state, and when it was first seen. The
 * membership driver reports states, not their age; the planner needs the age to remove members dead
 * longer than the timeout, and the first sighting to let newcomers started together join together.
 */
export class GossipAges {
  private readonly since = new Map<string, { state: MemberRecord['state']; sinceMs: number; firstSeenMs: number }>();

  /** The current view, with ages measured on the caller's clock `nowMs`. */
  view(members: readonly MemberRecord[], nowMs: number): GossipView[] {
    const out: GossipView[] = [];
    for (const m of members) {
      let s = this.since.get(m.id);
      if (s === undefined) this.since.set(m.id, (s = { state: m.state, sinceMs: nowMs, firstSeenMs: nowMs }));
      else if (s.state !== m.state) this.since.set(m.id, (s = { state: m.state, sinceMs: nowMs, firstSeenMs: s.firstSeenMs }));
      out.push({ id: m.id, address: m.address, zone: m.meta.zone ?? '', state: m.state, sinceMs: s.sinceMs, firstSeenMs: s.firstSeenMs });
    }
    return out;
  }
}

export interface StatusInput {
  readonly nodeId: string;
  readonly address: string;
  readonly clusterId: string;
  readonly raft: RaftStatus;
  readonly state: ClusterState;
  readonly ring: Ring | undefined;
  readonly snapshotsInstalled: number;
}

const u64 = (n: number): Long => Long.fromNumber(n, true);

export function statusResponse(s: StatusInput): mydatastore.cluster.StatusResponse.$Properties {
  const c = s.state.config;
  return {
    nodeId: s.nodeId,
    address: s.address,
    clusterId: s.clusterId,
    role: s.raft.role,
    leaderId: s.raft.leader,
    term: u64(s.raft.term),
    commitIndex: u64(s.raft.commit),
    // What this node's state machine has applied (Raft's own mark runs ahead while a snapshot is installed).
    appliedIndex: u64(s.state.appliedIndex),
    lastIndex: u64(s.raft.lastIndex),
    snapshotIndex: u64(s.raft.snapshotIndex),
    epoch: u64(s.state.epoch),
    created: s.state.created,
    config: { partitions: c.partitions, replicas: c.replicas, readQuorum: c.readQuorum, writeQuorum: c.writeQuorum },
    members: s.state.members.map((m) => ({ nodeId: m.id, address: m.address, zone: m.zone, status: m.status, joinedEpoch: u64(m.joinedEpoch) })),
    voters: [...s.raft.conf.voters].sort(),
    learners: [...s.raft.conf.learners].sort(),
    ringMembers: s.ring === undefined ? [] : [...s.ring.members].sort(),
    snapshotsInstalled: u64(s.snapshotsInstalled),
  };
}

/** The log line for an applied command, or undefined for what is not worth a line (no-ops, conf entries). */
export function describeApplied(r: ApplyResult, state: ClusterState): string | undefined {
  const c = r.command;
  if (c === undefined) return undefined;
  if (!r.applied) return `raft: entry ${r.index} (${c.type}) ignored: ${r.reason ?? 'no effect'}`;
  switch (c.type) {
    case 'add-member':
      return `raft: committed add-member ${c.id} at ${c.address}${c.zone === '' ? '' : ` zone ${c.zone}`} (${state.members.filter((m) => m.status !== 'removed').length} members, epoch ${state.epoch})`;
    case 'set-member-status':
      return `raft: committed member ${c.id} ${c.status}`;
    case 'set-config':
      return `raft: committed config P=${c.config.partitions} N=${c.config.replicas} R=${c.config.readQuorum} W=${c.config.writeQuorum}`;
    case 'increment-epoch':
      return `raft: epoch ${c.to}`;
  }
}
