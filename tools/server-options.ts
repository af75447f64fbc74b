/**
 * Every setting of `mydatastore server`, as runServer receives it after flags, environment variables
 * (MYDATASTORE_*), the optional config file and the defaults have been merged (tools/mydatastore.ts and
 * tools/server-config.ts do the merging; a flag wins over a variable, which wins over the file).
 */
import type { LogLevel } from '../rpc/logger.js';

export interface ServerCommandOptions {
  listen: string;
  nodeId: string;
  clusterId: string;
  seeds: string[];
  zone?: string;
  /** Default ./data/<node-id>. */
  data?: string;
  bootstrap?: boolean;
  epochInterval: number;
  voters: number;
  removeDeadAfter: number;
  raftTick: number;
  snapshotEntries: number;
  logLevel: LogLevel;
  maxFrameSize: number;
  /** Requests in flight on all RPC connections together before new ones are answered OVERLOADED. */
  maxInFlight: number;
  /** Their payload bytes, likewise. */
  maxInFlightBytes: number;
  probeIntervalMs?: number;
  probeTimeoutMs?: number;
  pushPullIntervalMs?: number;
  leaveTimeoutMs: number;

  /**
   * HTTP gateway address host:port, or 'off'. Default (undefined): the RPC host with the RPC port + 1000
   * (7001 → 8001), or any free port when the RPC port is 0.
   */
  http?: string;
  /** Largest value a PUT /kv/{key} accepts, in bytes. */
  maxValueBytes: number;
  /** The coordinator's deadline for a client request that names none, in ms. */
  requestTimeout: number;
  /** Whether a stand-in's hinted ack counts toward W. */
  sloppyQuorum: boolean;
  /** Whether writes this node coordinates are durable unless the request says (each replica fdatasyncs before acking). */
  durableWrites: boolean;
  /** Period of the WAL fdatasync covering writes that were not durable, in ms. */
  syncInterval: number;
  /** Bytes of the replica store's block cache. */
  blockCache: number;
  /** How long tombstones are kept before they may be purged, in ms. */
  tombstoneGrace: number;
  /** Bound on the stored hints, in bytes (oldest dropped beyond it, with a log line). */
  hintMaxBytes: number;
  /** Pause between hint replay rounds, in ms. */
  hintReplayInterval: number;
  /** Anti-entropy verification jobs (sessions) at once, 1..64 (default 2). */
  antiEntropyConcurrency?: number;
  /** Bytes per second anti-entropy sessions may move, both ways together (default 16 MiB). */
  antiEntropyBytesPerSec?: number;
  /** PEM files: this node's certificate and key, and the cluster's CA; all three or none (no TLS). */
  tlsCert?: string;
  tlsKey?: string;
  tlsCa?: string;
  /** File of "<name> <token>" lines: the client tokens this node accepts (needs TLS). */
  clientTokens?: string;
  /** Cluster configuration proposed when this node bootstraps a new cluster (ignored afterwards). */
  partitions: number;
  replicas: number;
  readQuorum: number;
  writeQuorum: number;
}
