/**
 * The metrics a node serves on /metrics, beside the gateway's own HTTP metrics. Client requests (both
 * APIs) are counted as they finish; everything else is sampled at scrape time from the stats the modules
 * already keep (coordinator, hint store and replay, Raft, gossip, anti-entropy, the replica store's LSM
 * engine, the event loop), so the data path pays nothing for metrics nobody reads. Process metrics are prom-client's
 * defaults (tools/metrics.ts). Names and meanings: http/HTTP.md.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { Counter, Histogram, type Registry } from 'prom-client';
import type { ClientRequestObserver } from '../cluster/client-requests.js';
import type { CoordinatorStats } from '../cluster/coordinator.js';
import type { HintReplayStats } from '../cluster/coordinator-hints.js';
import type { HintStats } from '../cluster/hints/hint-store.js';
import { registerAntiEntropyMetrics, type AntiEntropyStats } from '../cluster/antientropy/stats.js';
import type { DBStats } from '../lsm/index.js';
import { LATENCY_BUCKETS, registerProcessMetrics, sampler, type Collect, type Sampler } from './metrics.js';

export interface RaftGauges {
  term: number;
  commitIndex: number;
  isLeader: boolean;
  leaderKnown: boolean;
  /** Times this node saw a new leader (itself included) since the process started. */
  leaderChanges: number;
  epoch: number;
  /** Committed members by status (joining, active, leaving, removed). */
  members: Record<string, number>;
  /** The committed N, R and W (0 before the cluster is created). */
  replicas: number;
  readQuorum: number;
  writeQuorum: number;
}

export interface NodeMetricSources {
  coordinator: { readonly stats: CoordinatorStats };
  hints: { stats(): HintStats };
  replayer: { readonly stats: HintReplayStats };
  raft: () => RaftGauges;
  /** Gossip's member list (this node included). */
  gossip: () => ReadonlyArray<{ state: string }>;
  /** The replica store's engine. */
  lsm: () => DBStats;
  antiEntropy: () => AntiEntropyStats;
}

export interface NodeMetrics {
  /** Feed every finished client request (RPC and HTTP) here. */
  observe: ClientRequestObserver;
  /** Stops the event-loop delay monitor. */
  stop(): void;
}

const GOSSIP_STATES = ['alive', 'suspect', 'dead', 'left'] as const;
const MEMBER_STATUSES = ['joining', 'active', 'leaving', 'removed'] as const;

const LOOP_RESOLUTION_MS = 10;

const one = (value: number): ReturnType<Collect> => [{ value }];

export function registerNodeMetrics(registry: Registry, s: NodeMetricSources): NodeMetrics {
  const requests = new Counter({
    name: 'mydatastore_client_requests_total',
    help: 'Client requests served by this node as coordinator, by API (rpc, http), operation, consistency and outcome.',
    labelNames: ['api', 'op', 'consistency', 'outcome'],
    registers: [registry],
  });
  const latency = new Histogram({
    name: 'mydatastore_client_request_duration_seconds',
    help: 'Client request latency in seconds, by API, operation and consistency.',
    labelNames: ['api', 'op', 'consistency'],
    buckets: [...LATENCY_BUCKETS],
    registers: [registry],
  });
  const r = sampler(registry);

  const c = s.coordinator.stats;
  r.counter('mydatastore_quorum_failures_total', 'Client requests that failed because R or W replicas did not answer (UnavailableError).', [], () => one(c.unavailable));
  r.counter('mydatastore_read_repairs_total', 'Newer versions sent to stale replicas by read repair and acknowledged.', [], () => one(c.readRepairs));
  r.counter('mydatastore_read_repair_failures_total', 'Read repair writes that failed.', [], () => one(c.readRepairFailures));
  r.counter('mydatastore_hints_stored_total', 'Hints this coordinator stored for replicas it could not reach.', [], () => one(c.hintsStored));
  r.gauge('mydatastore_hints_pending', 'Hints in this node\'s hint store waiting for their owner.', [], () => one(s.hints.stats().pendingHints));
  r.gauge('mydatastore_hints_pending_bytes', 'Accounted bytes of the pending hints.', [], () => one(s.hints.stats().pendingBytes));
  r.gauge('mydatastore_hints_max_bytes', 'Bound on the hint store; the oldest hints are dropped beyond it.', [], () => one(s.hints.stats().maxBytes));
  r.counter('mydatastore_hints_dropped_total', 'Hints dropped to stay under the hint store bound.', [], () => one(s.hints.stats().dropped));
  r.counter('mydatastore_hints_replayed_total', 'Hints delivered to their owner and removed.', [], () => one(s.replayer.stats.replayed));
  r.counter('mydatastore_hints_discarded_total', 'Hints discarded because their owner no longer owns the data.', [], () => one(s.replayer.stats.dropped));

  r.gauge('mydatastore_raft_term', 'Current Raft term.', [], () => one(s.raft().term));
  r.gauge('mydatastore_raft_commit_index', 'Raft commit index.', [], () => one(s.raft().commitIndex));
  r.gauge('mydatastore_raft_is_leader', '1 if this node is the Raft leader.', [], () => one(s.raft().isLeader ? 1 : 0));
  r.gauge('mydatastore_raft_leader_known', '1 if this node knows a Raft leader.', [], () => one(s.raft().leaderKnown ? 1 : 0));
  r.counter('mydatastore_raft_leader_changes_total', 'Times this node saw a new Raft leader (itself included).', [], () => one(s.raft().leaderChanges));
  r.gauge('mydatastore_cluster_epoch', 'The committed epoch.', [], () => one(s.raft().epoch));
  r.gauge('mydatastore_cluster_members', 'Committed members by status.', ['status'], () => {
    const m = s.raft().members;
    return MEMBER_STATUSES.map((status) => ({ labels: { status }, value: m[status] ?? 0 }));
  });
  r.gauge('mydatastore_cluster_replication', 'The committed replication settings: n (replicas), r and w (the quorums a DEFAULT request uses).', ['setting'], () => {
    const st = s.raft();
    return [
      { labels: { setting: 'n' }, value: st.replicas },
      { labels: { setting: 'r' }, value: st.readQuorum },
      { labels: { setting: 'w' }, value: st.writeQuorum },
    ];
  });
  r.gauge('mydatastore_gossip_members', 'Members in this node\'s gossip view, by state.', ['state'], () => {
    const counts = new Map<string, number>(GOSSIP_STATES.map((st) => [st, 0]));
    for (const m of s.gossip()) counts.set(m.state, (counts.get(m.state) ?? 0) + 1);
    return [...counts].map(([state, value]) => ({ labels: { state }, value }));
  });

  registerLsm(r, s.lsm);
  registerAntiEntropyMetrics(r, s.antiEntropy);
  registerProcessMetrics(registry);
  const loop = registerEventLoopDelay(r);

  return {
    observe: (e) => {
      requests.inc({ api: e.api, op: e.op, consistency: e.consistency, outcome: e.outcome });
      latency.observe({ api: e.api, op: e.op, consistency: e.consistency }, e.seconds);
    },
    stop: () => loop.disable(),
  };
}

function registerLsm(r: Sampler, stats: () => DBStats): void {
  const perLevel = (pick: (d: DBStats) => number[]): Collect => () => pick(stats()).map((value, level) => ({ labels: { level }, value }));
  r.gauge('mydatastore_lsm_level_files', 'Table files per LSM level of the replica store.', ['level'], perLevel((d) => d.levelFiles));
  r.gauge('mydatastore_lsm_level_bytes', 'Table bytes per LSM level of the replica store.', ['level'], perLevel((d) => d.levelBytes));
  const total = (name: string, help: string, pick: (d: DBStats) => number) => r.counter(name, help, [], () => one(pick(stats())));
  total('mydatastore_lsm_flushes_total', 'Memtable flushes.', (d) => d.flushes);
  total('mydatastore_lsm_compactions_total', 'Compactions that rewrote tables.', (d) => d.compactions);
  total('mydatastore_lsm_trivial_moves_total', 'Tables moved down a level without rewriting.', (d) => d.trivialMoves);
  total('mydatastore_lsm_write_stalls_total', 'Write stalls, slowdowns and stops.', (d) => d.stallCount);
  total('mydatastore_lsm_stall_seconds_total', 'Time the write loop spent stalled, in seconds.', (d) => d.stallMs / 1000);
  total('mydatastore_lsm_user_written_bytes_total', 'Key and value bytes of writes to the replica store.', (d) => d.userBytesWritten);
  total('mydatastore_lsm_flush_written_bytes_total', 'Table bytes written by memtable flushes.', (d) => d.flushBytesWritten);
  total('mydatastore_lsm_compaction_written_bytes_total', 'Table bytes written by compactions.', (d) => d.compactionBytesWritten);
  total('mydatastore_lsm_compaction_read_bytes_total', 'Table bytes read by compactions.', (d) => d.compactionBytesRead);
  total('mydatastore_lsm_wal_syncs_total', 'WAL fsyncs.', (d) => d.walSyncs);
  r.gauge('mydatastore_lsm_write_amplification_ratio', 'Bytes written to tables per byte of user writes.', [], () => one(stats().writeAmplification));
}

function registerEventLoopDelay(r: Sampler): ReturnType<typeof monitorEventLoopDelay> {
  // A timer every 10 ms; the histogram records the time between its firings, so the delay is that time
  // minus the 10 ms. Each scrape reports the window since the previous one, then starts a new one.
  const loop = monitorEventLoopDelay({ resolution: LOOP_RESOLUTION_MS });
  loop.enable();
  r.gauge('mydatastore_event_loop_delay_seconds', 'Event-loop delay since the previous scrape: mean, p50, p99 and max.', ['stat'], () => {
    const ns = (v: number) => (Number.isFinite(v) ? Math.max(0, v / 1e9 - LOOP_RESOLUTION_MS / 1000) : 0);
    const out = loop.count === 0 ? [] : [
      { labels: { stat: 'mean' }, value: ns(loop.mean) },
      { labels: { stat: 'p50' }, value: ns(loop.percentile(50)) },
      { labels: { stat: 'p99' }, value: ns(loop.percentile(99)) },
      { labels: { stat: 'max' }, value: ns(loop.max) },
    ];
    loop.reset();
    return out;
  });
  return loop;
}
