/**
 * The anti-entropy counters a node keeps (AntiEntropyService.antiEntropyStats()) and their Prometheus
 * names (mydatastore_antientropy_*, listed in ANTIENTROPY.md), sampled at scrape time.
 */

export interface AntiEntropyStats {
  /** Sessions that ran to the end (in sync or repaired). */
  sessions: number;
  /** Sessions that failed (peer refused, unreachable, bad answer). */
  sessionsFailed: number;
  /** Sessions that stored at least one record on either side. */
  sessionsRepaired: number;
  /** (partition, range) jobs verified with every live peer: markers advanced. */
  rangesVerified: number;
  /** Trees built (for our sessions and for peers), records read into them, seconds spent. */
  treesBuilt: number;
  treeRecords: number;
  treeBuildSeconds: number;
  /** Leaf buckets found to differ. */
  mismatchingBuckets: number;
  /** Bytes of the tree walks: hashes, counts and leaf lists received, node indices sent. */
  hashBytes: number;
  /** Records (keys) received from peers and their bytes (key + encoded record); how many were newer here. */
  keysReceived: number;
  bytesReceived: number;
  keysApplied: number;
  /** Records pushed to peers with ReplicaWrite and their bytes; how many were newer there. */
  keysSent: number;
  bytesSent: number;
  keysAppliedByPeer: number;
  /** Time spent in sessions, seconds. */
  sessionSeconds: number;
  /** Records stored through ReplicaWrite with an epoch this node had already verified for their partition. */
  lateWrites: number;
  /** Gauges: the committed epoch last seen, partitions due or in progress, jobs running, partitions in backoff. */
  epoch: number;
  partitionsDue: number;
  sessionsRunning: number;
  partitionsFailing: number;
}

export function newStats(): AntiEntropyStats {
  return {
    sessions: 0, sessionsFailed: 0, sessionsRepaired: 0, rangesVerified: 0, treesBuilt: 0, treeRecords: 0, treeBuildSeconds: 0,
    mismatchingBuckets: 0, hashBytes: 0, keysReceived: 0, bytesReceived: 0, keysApplied: 0, keysSent: 0, bytesSent: 0,
    keysAppliedByPeer: 0, sessionSeconds: 0, lateWrites: 0, epoch: 0, partitionsDue: 0, sessionsRunning: 0, partitionsFailing: 0,
  };
}

/** The part of the node's metrics this needs (tools/metrics.ts sampler() fits). */
export interface MetricSink {
  counter(name: string, help: string, labelNames: readonly string[], collect: () => { value: number }[]): unknown;
  gauge(name: string, help: string, labelNames: readonly string[], collect: () => { value: number }[]): unknown;
}

type Key = keyof AntiEntropyStats;

/** name suffix, help, stat, kind */
export const ANTIENTROPY_METRICS: readonly (readonly [string, string, Key, 'counter' | 'gauge'])[] = [
  ['sessions_total', 'Anti-entropy sessions that ran to the end.', 'sessions', 'counter'],
  ['session_failures_total', 'Anti-entropy sessions that failed (peer refused, unreachable or answered badly).', 'sessionsFailed', 'counter'],
  ['sessions_repaired_total', 'Anti-entropy sessions that stored a record on either side.', 'sessionsRepaired', 'counter'],
  ['ranges_verified_total', 'Partition epoch ranges verified with every live replica.', 'rangesVerified', 'counter'],
  ['trees_built_total', 'Merkle trees built.', 'treesBuilt', 'counter'],
  ['tree_records_total', 'Records read into Merkle trees.', 'treeRecords', 'counter'],
  ['tree_build_seconds_total', 'Time spent building Merkle trees, in seconds.', 'treeBuildSeconds', 'counter'],
  ['mismatching_buckets_total', 'Leaf buckets found to differ.', 'mismatchingBuckets', 'counter'],
  ['hash_bytes_total', 'Bytes of the tree walks: hashes, counts and leaf lists received, node indices sent.', 'hashBytes', 'counter'],
  ['keys_received_total', 'Records received from peers.', 'keysReceived', 'counter'],
  ['bytes_received_total', 'Bytes of records (key and encoded record) received from peers.', 'bytesReceived', 'counter'],
  ['keys_applied_total', 'Received records newer than the local version, stored.', 'keysApplied', 'counter'],
  ['keys_sent_total', 'Records pushed to peers.', 'keysSent', 'counter'],
  ['bytes_sent_total', 'Bytes of records (key and encoded record) pushed to peers.', 'bytesSent', 'counter'],
  ['keys_applied_by_peer_total', 'Pushed records the peer stored (newer there).', 'keysAppliedByPeer', 'counter'],
  ['session_seconds_total', 'Time spent in sessions, in seconds.', 'sessionSeconds', 'counter'],
  ['late_writes_total', 'Records stored through ReplicaWrite with an epoch already verified for their partition.', 'lateWrites', 'counter'],
  ['epoch', 'The committed epoch the service last saw.', 'epoch', 'gauge'],
  ['partitions_due', 'Partitions with an epoch range due or being verified.', 'partitionsDue', 'gauge'],
  ['sessions_running', 'Verification jobs running now.', 'sessionsRunning', 'gauge'],
  ['partitions_failing', 'Partitions waiting to retry after a failed session.', 'partitionsFailing', 'gauge'],
];

export function registerAntiEntropyMetrics(sink: MetricSink, stats: () => AntiEntropyStats): void {
  for (const [suffix, help, key, kind] of ANTIENTROPY_METRICS) {
    const collect = (): { value: number }[] => [{ value: stats()[key] }];
    if (kind === 'counter') sink.counter(`mydatastore_antientropy_${suffix}`, help, [], collect);
    else sink.gauge(`mydatastore_antientropy_${suffix}`, help, [], collect);
  }
}
