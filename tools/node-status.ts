/**
 * The document `GET /status.json` answers (http/HTTP.md, "Status page"), which the status page at `/`
 * polls: this node's Raft view and committed state (what `mydatastore status --json` prints), the
 * members with their committed status, zone and gossip state, the read ring's owners of every partition,
 * the anti-entropy state of the partitions this node replicates, and cumulative client-request counts
 * and latency buckets. Counts are cumulative on purpose: a poller turns two answers into a rate and a
 * latency over its own interval, so the node keeps no window and two pages never steal each other's.
 * Built on demand from what the modules already keep; pure given its sources.
 */
import type { PartitionRepairState } from '../cluster/antientropy/service.js';
import type { AntiEntropyStats } from '../cluster/antientropy/stats.js';
import { EPOCH_LAG } from '../cluster/antientropy/schedule.js';
import type { RingView } from '../cluster/coordinator-ring.js';
import type { MemberRecord } from '../cluster/membership/types.js';
import type { RaftDriver } from '../cluster/raft/driver.js';
import { mydatastore } from '../proto/gen/messages.js';
import { statusFromPb, type NodeStatus } from './commands/status.js';
import { Histogram, type Registry } from 'prom-client';
import type { Labels } from './metrics.js';
import { VERSION } from './version.js';

/** Bumped when a field changes meaning or goes away (adding fields does not bump it). */
export const STATUS_FORMAT_VERSION = 1;

export interface StatusMember {
  id: string;
  address: string;
  /** '' when the member gave none. */
  zone: string;
  /** Committed status (joining, active, leaving, removed), or 'uncommitted' for a member only gossip knows. */
  status: string;
  /** 0 for an uncommitted member. */
  joinedEpoch: number;
  raft: 'voter' | 'learner' | '';
  /** This node's gossip view of it: alive, suspect, dead, left, or 'unknown' when gossip has not seen it. */
  gossip: string;
  /** Partitions it holds a replica of in the read ring. */
  replicas: number;
  /** Partitions whose first owner it is. */
  primaries: number;
}

export interface StatusPartitionRepair extends PartitionRepairState {
  partition: number;
  /** Epochs due for verification and not verified yet: 0 when it is up to date (committed epoch − 2). */
  lagEpochs: number;
}

export interface StatusRequestOp {
  op: string;
  count: number;
  sumSeconds: number;
  /** Cumulative counts per bucket of `requests.bucketsSeconds` (observations at or below each bound). */
  buckets: number[];
}

export interface StatusReport {
  format: number;
  /** This node's clock when the report was built (ms since the epoch): pollers divide by its differences. */
  timeMs: number;
  version: string;
  node: { id: string; address: string; clusterId: string };
  raft: { role: string; leaderId: string; term: number; commitIndex: number; appliedIndex: number; voters: string[]; learners: string[] };
  cluster: { created: boolean; epoch: number; config: NodeStatus['config'] };
  members: StatusMember[];
  /** The read ring: owners[p] is partition p's preference list, pending[p] its write-only owners while a member joins or leaves. */
  ring: { partitions: number; owners: string[][]; pending: string[][] };
  antiEntropy: { stats: AntiEntropyStats; partitions: StatusPartitionRepair[] };
  /** Client requests this node coordinated (RPC and HTTP together), by operation, since it started. */
  requests: { bucketsSeconds: number[]; ops: StatusRequestOp[] };
}

export interface NodeStatusSources {
  version: string;
  /** Raft and the committed state, as the Status RPC answers them. */
  status: () => NodeStatus;
  /** The committed read ring and its pending owners; undefined while there is none. */
  ring: () => Pick<RingView, 'ring' | 'pendingOwners'> | undefined;
  gossip: () => readonly MemberRecord[];
  antiEntropy: { antiEntropyStats(): AntiEntropyStats; partitionState(partition: number): PartitionRepairState };
  /** The client-request latency histogram (mydatastore_client_request_duration_seconds): its bounds and series. */
  latency: { readonly buckets: readonly number[]; readonly series: readonly HistogramSeries[] } | undefined;
  now?: () => number;
}

export function nodeStatusReport(s: NodeStatusSources): StatusReport {
  const st = s.status();
  const view = s.ring();
  const partitions = view === undefined ? 0 : st.config.partitions;
  const owners: string[][] = [];
  const pending: string[][] = [];
  for (let p = 0; view !== undefined && p < partitions; p++) {
    owners.push([...view.ring.preferenceList(p)]);
    pending.push([...view.pendingOwners(p)]);
  }
  return {
    format: STATUS_FORMAT_VERSION,
    timeMs: (s.now ?? Date.now)(),
    version: s.version,
    node: { id: st.nodeId, address: st.address, clusterId: st.clusterId },
    raft: { role: st.role, leaderId: st.leaderId, term: st.term, commitIndex: st.commitIndex, appliedIndex: st.appliedIndex, voters: st.voters, learners: st.learners },
    cluster: { created: st.created, epoch: st.epoch, config: st.config },
    members: membersOf(st, s.gossip(), owners),
    ring: { partitions, owners, pending },
    antiEntropy: { stats: s.antiEntropy.antiEntropyStats(), partitions: repairsOf(st.nodeId, st.epoch, owners, s.antiEntropy) },
    requests: requestsOf(s.latency),
  };
}

/** The running node's parts the report reads (tools/commands/server.ts). */
export interface NodeStatusParts {
  raft: Pick<RaftDriver, 'status'>;
  rings: { current(): RingView | undefined };
  membership: { members(): readonly MemberRecord[] };
  antiEntropy: NodeStatusSources['antiEntropy'];
  metrics: Registry;
}

/** The node's /status.json source: a fresh report on each call. */
export function nodeStatusSource(p: NodeStatusParts): () => Promise<StatusReport> {
  const sources: NodeStatusSources = {
    version: VERSION,
    status: () => statusFromPb(mydatastore.cluster.StatusResponse.create(p.raft.status())),
    ring: () => p.rings.current(),
    gossip: () => p.membership.members(),
    antiEntropy: p.antiEntropy,
    latency: undefined,
  };
  return async () => {
    // Looked up per call: tools/node-metrics.ts registers the histogram, whenever that happens.
    const h = p.metrics.getSingleMetric('mydatastore_client_request_duration_seconds');
    return nodeStatusReport({ ...sources, latency: h instanceof Histogram ? await histogramSeries(h) : undefined });
  };
}

/** One series of a histogram: its labels, cumulative counts per bucket (in `buckets` order), sum and count. */
export interface HistogramSeries {
  labels: Labels;
  counts: number[];
  sum: number;
  count: number;
}

/** prom-client's values of a histogram, grouped back into series (the `le` label gives the bucket). */
export async function histogramSeries(h: Histogram): Promise<{ buckets: number[]; series: HistogramSeries[] }> {
  const { name, values } = await h.get();
  const bounds = new Set<number>();
  for (const v of values) if (v.metricName === `${name}_bucket` && v.labels.le !== '+Inf') bounds.add(Number(v.labels.le));
  const buckets = [...bounds].sort((a, b) => a - b);
  const series = new Map<string, HistogramSeries>();
  for (const v of values) {
    const { le, ...labels } = v.labels;
    const key = JSON.stringify(Object.entries(labels).sort(([a], [b]) => (a < b ? -1 : 1)));
    let s = series.get(key);
    if (s === undefined) series.set(key, (s = { labels: labels as Labels, counts: buckets.map(() => 0), sum: 0, count: 0 }));
    if (v.metricName === `${name}_sum`) s.sum = v.value;
    else if (v.metricName === `${name}_count`) s.count = v.value;
    else if (le !== '+Inf') s.counts[buckets.indexOf(Number(le))] = v.value;
  }
  return { buckets, series: [...series.values()] };
}

/** Committed members first (in their committed order), then members only gossip knows, by id. */
function membersOf(st: NodeStatus, gossip: readonly MemberRecord[], owners: readonly string[][]): StatusMember[] {
  const seen = new Map(gossip.map((g) => [g.id, g]));
  const voters = new Set(st.voters);
  const learners = new Set(st.learners);
  const replicas = new Map<string, number>();
  const primaries = new Map<string, number>();
  for (const list of owners) {
    for (const id of list) replicas.set(id, (replicas.get(id) ?? 0) + 1);
    if (list[0] !== undefined) primaries.set(list[0], (primaries.get(list[0]) ?? 0) + 1);
  }
  const raftOf = (id: string): StatusMember['raft'] => (voters.has(id) ? 'voter' : learners.has(id) ? 'learner' : '');
  const out: StatusMember[] = st.members.map((m) => ({
    id: m.id,
    address: m.address,
    zone: m.zone,
    status: m.status,
    joinedEpoch: m.joinedEpoch,
    raft: raftOf(m.id),
    gossip: seen.get(m.id)?.state ?? 'unknown',
    replicas: replicas.get(m.id) ?? 0,
    primaries: primaries.get(m.id) ?? 0,
  }));
  const committed = new Set(st.members.map((m) => m.id));
  const extra = gossip.filter((g) => !committed.has(g.id)).sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  for (const g of extra) {
    out.push({ id: g.id, address: g.address, zone: g.meta.zone ?? '', status: 'uncommitted', joinedEpoch: 0, raft: raftOf(g.id), gossip: g.state, replicas: 0, primaries: 0 });
  }
  return out;
}

/** The partitions `self` replicates in the read ring, with their anti-entropy state. */
function repairsOf(self: string, epoch: number, owners: readonly string[][], ae: NodeStatusSources['antiEntropy']): StatusPartitionRepair[] {
  const out: StatusPartitionRepair[] = [];
  owners.forEach((list, partition) => {
    if (!list.includes(self)) return;
    const state = ae.partitionState(partition);
    out.push({ partition, ...state, lagEpochs: Math.max(0, epoch - EPOCH_LAG - state.verifiedThrough) });
  });
  return out;
}

/** Sums the histogram's series per `op` label (RPC and HTTP requests together), ops in name order. */
function requestsOf(latency: NodeStatusSources['latency']): StatusReport['requests'] {
  if (latency === undefined) return { bucketsSeconds: [], ops: [] };
  const byOp = new Map<string, StatusRequestOp>();
  for (const series of latency.series) {
    const op = String(series.labels.op ?? 'all');
    let o = byOp.get(op);
    if (o === undefined) byOp.set(op, (o = { op, count: 0, sumSeconds: 0, buckets: latency.buckets.map(() => 0) }));
    o.count += series.count;
    o.sumSeconds += series.sum;
    series.counts.forEach((c, i) => (o.buckets[i] = (o.buckets[i] ?? 0) + c));
  }
  return { bucketsSeconds: [...latency.buckets], ops: [...byOp.values()].sort((a, b) => (a.op < b.op ? -1 : a.op > b.op ? 1 : 0)) };
}
