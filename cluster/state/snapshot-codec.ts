/**
 * The state machine's snapshot bytes: a 4-byte magic "MDCS" followed by the protobuf message
 * mydatastore.ClusterStateSnapshot (proto/cluster-state.proto; byte layout in cluster/state/FORMAT.md).
 * Encoding is deterministic: the same state gives the same bytes on every node, members sorted by id.
 */
import Long from 'long';
import { mydatastore } from '../../proto/gen/messages.js';
import { safeUint } from './commands.js';
import { type ClusterConfig, configProblem } from './config.js';
import { ClusterSnapshotError } from './errors.js';

export interface ClusterMember {
  readonly id: string;
  readonly address: string;
  /** Failure zone ('' for none); the ring spreads a partition's replicas across zones. */
  readonly zone: string;
  /** joining → active → leaving → removed (cluster/STREAMING.md); a joining member may also go straight to removed. */
  readonly status: MemberStatus;
  /** The epoch in which the member was first added; kept when it re-announces a new address. */
  readonly joinedEpoch: number;
  /** The last transition this member reported stream-done for (absent or 0: none; optional so older literals stay valid). */
  readonly streamedTransition?: number;
}

export type MemberStatus = 'joining' | 'active' | 'leaving' | 'removed';

export interface ClusterState {
  readonly epoch: number;
  readonly config: ClusterConfig;
  /** Every member ever added, removed ones included, sorted by id. */
  readonly members: readonly ClusterMember[];
  readonly appliedIndex: number;
  /** True once the first add-member has been applied. */
  readonly created: boolean;
  /** Incremented whenever the set of joining and leaving members changes (cluster/STREAMING.md); absent = 0. */
  readonly transition?: number;
}

export const SNAPSHOT_MAGIC = Buffer.from('MDCS', 'latin1');
export const SNAPSHOT_VERSION = 1;
/** Snapshots hold one small record per member; 64 MiB is far beyond any real cluster. */
export const MAX_SNAPSHOT_BYTES = 64 * 1024 * 1024;

const pb = mydatastore.ClusterStateSnapshot;
const S = mydatastore.ClusterMemberStatus;
const STATUS_TO_PB = {
  joining: S.CLUSTER_MEMBER_JOINING,
  active: S.CLUSTER_MEMBER_ACTIVE,
  leaving: S.CLUSTER_MEMBER_LEAVING,
  removed: S.CLUSTER_MEMBER_REMOVED,
} as const;

function statusFromPb(s: number | null | undefined): ClusterMember['status'] {
  if (s === S.CLUSTER_MEMBER_JOINING) return 'joining';
  if (s === S.CLUSTER_MEMBER_ACTIVE) return 'active';
  if (s === S.CLUSTER_MEMBER_LEAVING) return 'leaving';
  if (s === S.CLUSTER_MEMBER_REMOVED) return 'removed';
  throw new ClusterSnapshotError(`bad member status ${String(s)}`);
}

export function encodeSnapshot(s: ClusterState): Uint8Array {
  const body = pb
    .encode({
      version: SNAPSHOT_VERSION,
      epoch: Long.fromNumber(s.epoch, true),
      config: {
        partitions: s.config.partitions,
        replicas: s.config.replicas,
        readQuorum: s.config.readQuorum,
        writeQuorum: s.config.writeQuorum,
      },
      members: s.members.map((m) => ({
        id: m.id,
        address: m.address,
        zone: m.zone,
        status: STATUS_TO_PB[m.status],
        joinedEpoch: Long.fromNumber(m.joinedEpoch, true),
        streamedTransition: Long.fromNumber(m.streamedTransition ?? 0, true),
      })),
      appliedIndex: Long.fromNumber(s.appliedIndex, true),
      created: s.created,
      transition: Long.fromNumber(s.transition ?? 0, true),
    })
    .finish();
  return Buffer.concat([SNAPSHOT_MAGIC, body]);
}

export function decodeSnapshot(data: Uint8Array): ClusterState {
  const bad = (m: string): ClusterSnapshotError => new ClusterSnapshotError(m);
  if (data.length > MAX_SNAPSHOT_BYTES) throw bad(`snapshot of ${data.length} bytes exceeds ${MAX_SNAPSHOT_BYTES}`);
  if (data.length < 4 || !Buffer.from(data.subarray(0, 4)).equals(SNAPSHOT_MAGIC)) throw bad('not a cluster state snapshot (bad magic)');
  let m: mydatastore.ClusterStateSnapshot;
  try {
    m = pb.decode(data.subarray(4));
  } catch (err) {
    throw bad(`malformed snapshot: ${err instanceof Error ? err.message : String(err)}`);
  }
  if (m.version !== SNAPSHOT_VERSION) throw bad(`unsupported snapshot version ${m.version}`);
  const c = m.config;
  if (c == null) throw bad('snapshot without a configuration');
  const config: ClusterConfig = {
    partitions: c.partitions ?? 0,
    replicas: c.replicas ?? 0,
    readQuorum: c.readQuorum ?? 0,
    writeQuorum: c.writeQuorum ?? 0,
  };
  const problem = configProblem(config);
  if (problem !== undefined) throw bad(`bad configuration in snapshot: ${problem}`);
  const members: ClusterMember[] = [];
  for (const x of m.members) {
    const id = x.id ?? '';
    if (id === '' || (x.address ?? '') === '') throw bad('snapshot member without id or address');
    const prev = members[members.length - 1];
    if (prev !== undefined && !(prev.id < id)) throw bad(`snapshot members not sorted by id at ${id}`);
    members.push({
      id,
      address: x.address ?? '',
      zone: x.zone ?? '',
      status: statusFromPb(x.status),
      joinedEpoch: safeUint(x.joinedEpoch, 'joined epoch', bad),
      streamedTransition: safeUint(x.streamedTransition, 'streamed transition', bad),
    });
  }
  const created = m.created === true;
  if (created !== members.length > 0) throw bad('snapshot "created" flag disagrees with its member list');
  const transition = safeUint(m.transition, 'transition', bad);
  if (members.some((x) => (x.streamedTransition ?? 0) > transition)) throw bad('a member streamed for a transition after the current one');
  return { epoch: safeUint(m.epoch, 'epoch', bad), config, members, appliedIndex: safeUint(m.appliedIndex, 'applied index', bad), created, transition };
}
