/**
 * Every setting of `mydatastore server`, one row per ServerCommandOptions field (the Record type makes the
 * compiler refuse a missing or an extra one). From this table come the command-line flags, their
 * MYDATASTORE_* variables (the flag's name in upper case), the config file's keys (the field names) and
 * the parsers all three go through.
 */
import { DEFAULT_BYTES_PER_SEC as AE_BYTES_PER_SEC, DEFAULT_CONCURRENCY as AE_CONCURRENCY } from '../cluster/antientropy/service.js';
import { DEFAULT_MAX_HINT_BYTES } from '../cluster/hints/hint-store.js';
import { DEFAULT_CLUSTER_CONFIG } from '../cluster/state/config.js';
import { DEFAULT_BLOCK_CACHE_BYTES, DEFAULT_SYNC_INTERVAL_MS, DEFAULT_TOMBSTONE_GRACE_MS } from '../cluster/storage/replica-store.js';
import type { ServerCommandOptions } from './server-options.js';
import { addressParser, byteSize, durationMs, formatBytes, httpAddress, nonEmpty, positiveInt, seedList } from './setting-parsers.js';

/** How a value is written in the config file: 'number' also accepts a string ("64MiB", "30s"). */
export type SettingKind = 'string' | 'number' | 'boolean' | 'list';

export interface SettingRow {
  /** Commander flags, e.g. '--listen <host:port>'; the long name, camelCased, is the field name. */
  readonly flags: string;
  readonly help: string;
  readonly kind: SettingKind;
  readonly group: string;
  readonly default?: unknown;
  /** How the default reads in --help when its value alone would not say it well. */
  readonly defaultText?: string;
  readonly parse?: (text: string) => unknown;
  readonly choices?: readonly string[];
}

export const DEFAULT_MAX_VALUE_BYTES = 1024 * 1024;

const NODE = 'Node:';
const GOSSIP = 'Membership (SWIM gossip):';
const RAFT = 'Raft:';
const DATA = 'Data path:';
const SECURITY = 'Security (rpc/SECURITY.md; without TLS nothing is checked, so keep --listen on 127.0.0.1):';
const NEW_CLUSTER = 'Cluster configuration (proposed when this node creates the cluster; ignored afterwards):';

const bytes = (n: number): string => `${n} (${formatBytes(n)})`;

export const SERVER_SETTINGS: Record<keyof ServerCommandOptions, SettingRow> = {
  listen: { flags: '--listen <host:port>', kind: 'string', group: NODE, default: '127.0.0.1:7000', parse: addressParser(true),
    help: 'RPC address to listen on and to advertise to peers (port 0: any free port)' },
  nodeId: { flags: '--node-id <id>', kind: 'string', group: NODE, default: 'node1', parse: nonEmpty('--node-id'),
    help: 'this node\'s unique id; a restarted node keeps its id' },
  clusterId: { flags: '--cluster-id <id>', kind: 'string', group: NODE, default: 'mydatastore', parse: nonEmpty('--cluster-id'),
    help: 'name of the cluster; gossip from nodes of another cluster is refused' },
  seeds: { flags: '--seeds <host:port,...>', kind: 'list', group: NODE, default: [], defaultText: 'none', parse: seedList,
    help: 'addresses of nodes to join through (any one that answers is enough; none: start a new cluster)' },
  zone: { flags: '--zone <zone>', kind: 'string', group: NODE, parse: nonEmpty('--zone'),
    help: 'availability zone or rack, published to the other members (replicas spread across zones)' },
  data: { flags: '--data <dir>', kind: 'string', group: NODE, parse: nonEmpty('--data'),
    help: 'data directory, created if missing; Raft keeps its log, votes and snapshots in DATA/raft (default: ./data/<node-id>)' },
  bootstrap: { flags: '--bootstrap', kind: 'boolean', group: NODE,
    help: 'create a new cluster with this node as its first member, if DATA/raft is empty (also implied by starting without --seeds); without it a new node waits for the leader to add it; ignored once the node has Raft state' },
  logLevel: { flags: '--log-level <level>', kind: 'string', group: NODE, default: 'info', choices: ['debug', 'info', 'warn', 'error'],
    help: 'least severe log level printed (logs: see below)' },
  maxFrameSize: { flags: '--max-frame-size <bytes>', kind: 'number', group: NODE, default: 16 * 1024 * 1024, defaultText: bytes(16 * 1024 * 1024), parse: byteSize('--max-frame-size'),
    help: 'largest accepted RPC frame payload, in bytes (units accepted: KiB, MiB, GiB)' },
  maxInFlight: { flags: '--max-in-flight <n>', kind: 'number', group: NODE, default: 8192, parse: positiveInt('--max-in-flight'),
    help: 'RPC requests in flight on all connections together; beyond it new requests are answered OVERLOADED at once (Ping, gossip, Raft, Members and Status excepted), which bounds the memory a flood can tie up' },
  maxInFlightBytes: { flags: '--max-in-flight-bytes <bytes>', kind: 'number', group: NODE, default: 256 * 1024 * 1024, defaultText: bytes(256 * 1024 * 1024), parse: byteSize('--max-in-flight-bytes'),
    help: 'payload bytes of the RPC requests in flight on all connections together; beyond it, OVERLOADED (units accepted: KiB, MiB, GiB); at least --max-frame-size' },

  probeIntervalMs: { flags: '--probe-interval-ms <ms>', kind: 'number', group: GOSSIP, parse: durationMs('--probe-interval-ms'),
    help: 'failure detection: ping one member this often, in ms (default 1000; lower detects failures sooner, costs more traffic)' },
  probeTimeoutMs: { flags: '--probe-timeout-ms <ms>', kind: 'number', group: GOSSIP, parse: durationMs('--probe-timeout-ms'),
    help: 'wait this long for an ack before asking others to probe, in ms (default 500, or half the probe interval)' },
  pushPullIntervalMs: { flags: '--push-pull-interval-ms <ms>', kind: 'number', group: GOSSIP, parse: durationMs('--push-pull-interval-ms'),
    help: 'full membership exchange with a random member this often, in ms (default 30000)' },
  leaveTimeoutMs: { flags: '--leave-timeout-ms <ms>', kind: 'number', group: GOSSIP, default: 3000, parse: durationMs('--leave-timeout-ms'),
    help: 'on shutdown, gossip "left" for at most this long before exiting, in ms' },

  epochInterval: { flags: '--epoch-interval <ms>', kind: 'number', group: RAFT, default: 30_000, parse: durationMs('--epoch-interval'),
    help: 'the Raft leader commits a new epoch this often, in ms' },
  voters: { flags: '--voters <n>', kind: 'number', group: RAFT, default: 3, parse: positiveInt('--voters'),
    help: 'how many members the leader makes Raft voters (the others replicate the log as learners)' },
  removeDeadAfter: { flags: '--remove-dead-after <ms>', kind: 'number', group: RAFT, default: 600_000, defaultText: '600000 (10 minutes)', parse: durationMs('--remove-dead-after'),
    help: 'the Raft leader removes a member from the committed member list once gossip has seen it dead (or left) this long, in ms' },
  raftTick: { flags: '--raft-tick <ms>', kind: 'number', group: RAFT, default: 50, parse: durationMs('--raft-tick'),
    help: 'Raft clock tick, in ms: heartbeats every tick, an election after 10-20 ticks without a leader' },
  snapshotEntries: { flags: '--snapshot-entries <n>', kind: 'number', group: RAFT, default: 1000, parse: positiveInt('--snapshot-entries'),
    help: 'snapshot the cluster state and truncate the Raft log after this many applied entries' },

  http: { flags: '--http <host:port|off>', kind: 'string', group: DATA, parse: httpAddress,
    help: 'HTTP gateway address, or "off" for none (default: the RPC host and RPC port + 1000, e.g. 7001 → 8001; any free port when the RPC port is 0)' },
  maxValueBytes: { flags: '--max-value-bytes <bytes>', kind: 'number', group: DATA, default: DEFAULT_MAX_VALUE_BYTES, defaultText: bytes(DEFAULT_MAX_VALUE_BYTES), parse: byteSize('--max-value-bytes'),
    help: 'largest value an HTTP PUT /kv/{key} accepts, in bytes (units accepted: KiB, MiB); at most 16 MiB and below --max-frame-size' },
  requestTimeout: { flags: '--request-timeout <ms>', kind: 'number', group: DATA, default: 5000, parse: durationMs('--request-timeout'),
    help: 'deadline of a client request that names none, in ms' },
  sloppyQuorum: { flags: '--sloppy-quorum', kind: 'boolean', group: DATA, default: false,
    help: 'count a stand-in node\'s hinted acknowledgement toward W (more available, less durable)' },
  durableWrites: { flags: '--durable-writes', kind: 'boolean', group: DATA, default: false,
    help: 'make every write this node coordinates durable: each replica fdatasyncs it before acknowledging (a client may also ask per write); without it a replica acknowledges once the write is in its write-ahead log file, which survives a crash of the process but not of the machine until the next periodic sync' },
  syncInterval: { flags: '--sync-interval <ms>', kind: 'number', group: DATA, default: DEFAULT_SYNC_INTERVAL_MS, parse: durationMs('--sync-interval', { max: 3_600_000 }),
    help: 'fdatasync this node\'s write-ahead log this often when writes that were not durable are in it, in ms: the most such writes a power loss of this machine can take (at most 3600000)' },
  blockCache: { flags: '--block-cache <bytes>', kind: 'number', group: DATA, default: DEFAULT_BLOCK_CACHE_BYTES, defaultText: bytes(DEFAULT_BLOCK_CACHE_BYTES), parse: byteSize('--block-cache'),
    help: 'memory for the store\'s uncompressed table blocks, in bytes (units accepted: KiB, MiB, GiB): every write reads the stored version first, so a cache that holds the hot keys saves a disk read and a decompression per write' },
  tombstoneGrace: { flags: '--tombstone-grace <ms>', kind: 'number', group: DATA, default: DEFAULT_TOMBSTONE_GRACE_MS, defaultText: `${DEFAULT_TOMBSTONE_GRACE_MS} (10 days)`, parse: durationMs('--tombstone-grace', { allowZero: true }),
    help: 'keep deletes (tombstones) this long before they may be purged, in ms (0: at once); a replica that comes back after a longer outage can bring a deleted value back' },
  hintMaxBytes: { flags: '--hint-max-bytes <bytes>', kind: 'number', group: DATA, default: DEFAULT_MAX_HINT_BYTES, defaultText: bytes(DEFAULT_MAX_HINT_BYTES), parse: byteSize('--hint-max-bytes'),
    help: 'bound on the hints this node keeps for replicas that are down, in bytes (the oldest are dropped beyond it, with a log line)' },
  hintReplayInterval: { flags: '--hint-replay-interval <ms>', kind: 'number', group: DATA, default: 500, parse: durationMs('--hint-replay-interval'),
    help: 'pause between rounds of handing stored hints to replicas that are back, in ms' },
  antiEntropyConcurrency: { flags: '--anti-entropy-concurrency <n>', kind: 'number', group: DATA, default: AE_CONCURRENCY, parse: positiveInt('--anti-entropy-concurrency'),
    help: 'anti-entropy sessions (Merkle comparisons with other replicas) running at once, 1..64' },
  antiEntropyBytesPerSec: { flags: '--anti-entropy-bytes-per-sec <bytes>', kind: 'number', group: DATA, default: AE_BYTES_PER_SEC, defaultText: bytes(AE_BYTES_PER_SEC), parse: byteSize('--anti-entropy-bytes-per-sec'),
    help: 'bytes per second anti-entropy may move (records sent and received, tree hashes), in bytes (units accepted: KiB, MiB)' },

  tlsCert: { flags: '--tls-cert <file>', kind: 'string', group: SECURITY, parse: nonEmpty('--tls-cert'),
    help: 'PEM certificate of this node (OU=node, signed by the cluster CA; "mydatastore certs" makes one): TLS on the RPC and HTTP ports, mutual TLS between nodes; with it only nodes of the cluster may gossip, vote or replicate, and clients must show a certificate or a token' },
  tlsKey: { flags: '--tls-key <file>', kind: 'string', group: SECURITY, parse: nonEmpty('--tls-key'),
    help: 'PEM private key of --tls-cert' },
  tlsCa: { flags: '--tls-ca <file>', kind: 'string', group: SECURITY, parse: nonEmpty('--tls-ca'),
    help: 'PEM certificate of the cluster\'s CA: the peers, clients and HTTP callers whose certificates it signed are trusted' },
  clientTokens: { flags: '--client-tokens <file>', kind: 'string', group: SECURITY, parse: nonEmpty('--client-tokens'),
    help: 'file of "<name> <token>" lines (tokens of 16+ characters): clients may authenticate with one instead of a certificate (RPC Authenticate, HTTP "Authorization: Bearer"); needs TLS' },

  partitions: { flags: '--partitions <n>', kind: 'number', group: NEW_CLUSTER, default: DEFAULT_CLUSTER_CONFIG.partitions, parse: positiveInt('--partitions'),
    help: 'P: partitions of the hash ring, fixed for the life of the cluster (at most 65536)' },
  replicas: { flags: '--replicas <n>', kind: 'number', group: NEW_CLUSTER, default: DEFAULT_CLUSTER_CONFIG.replicas, parse: positiveInt('--replicas'),
    help: 'N: replicas of each key (at most 64)' },
  readQuorum: { flags: '--read-quorum <n>', kind: 'number', group: NEW_CLUSTER, default: DEFAULT_CLUSTER_CONFIG.readQuorum, parse: positiveInt('--read-quorum'),
    help: 'R: replicas that must answer a read that names no consistency (1..N)' },
  writeQuorum: { flags: '--write-quorum <n>', kind: 'number', group: NEW_CLUSTER, default: DEFAULT_CLUSTER_CONFIG.writeQuorum, parse: positiveInt('--write-quorum'),
    help: 'W: replicas that must acknowledge a write that names no consistency (1..N)' },
};

/** The MYDATASTORE_* variable of a flag: its long name in upper case, '-' as '_'. */
export function envVarOf(flags: string): string {
  const long = /--([a-z0-9-]+)/.exec(flags)?.[1] ?? '';
  return `MYDATASTORE_${long.toUpperCase().replaceAll('-', '_')}`;
}

/** The `--long-name` part of a row's flags. */
export function flagOf(flags: string): string {
  return /--[a-z0-9-]+/.exec(flags)?.[0] ?? flags;
}
