/**
 * The replica side of the data path: ReplicaWrite (66) and ReplicaRead (67) over this node's
 * ReplicaStore and HintStore (rpc/PROTOCOL.md §7).
 *
 *   - A normal write is served only for a key whose partition this node owns in its committed read or
 *     write ring (a joining owner takes writes while it streams, cluster/STREAMING.md), a read only in
 *     the read ring; otherwise ReplicaWrongOwnerError (CLUSTER_WRONG_OWNER, sent as WRONG_OWNER with
 *     our epoch in ErrorDetail) tells a coordinator with a stale ring to refresh.
 *   - A hinted write (hint_for_node_id set, naming another node) is not ours to own: the stand-in keeps
 *     the record in its hint store, to replay to that node once gossip says it is alive again.
 *   - Anything malformed is ReplicaRequestError (CLUSTER_BAD_REPLICA_REQUEST → INVALID_ARGUMENT).
 *
 * The coordinator calls `write`/`read` directly for the local node (no RPC) and through the handlers
 * for the others, so both paths run the same checks.
 */
import Long from 'long';
import type { mydatastore } from '../proto/gen/messages.js';
import { InvalidArgumentError, PermissionDeniedError, UnavailableError as RpcUnavailableError, WrongOwnerError } from '../rpc/errors.js';
import { Methods } from '../rpc/methods.js';
import type { RpcServer } from '../rpc/server.js';
import type { RingView } from './coordinator-ring.js';
import type { HintStore } from './hints/hint-store.js';
import { HlcClockDriftError, HlcTimestampError, MAX_LOGICAL, type HybridClock, type Timestamp } from './hlc.js';
import { RecordInvalidError, checkRecord, encodeRecord, type StoredRecord } from './storage/record.js';
import { MAX_KEY_BYTES, type ReplicaStore } from './storage/replica-store.js';

type PbRecord = mydatastore.cluster.IRecord;

/** A replica does not own the key's partition under its committed ring; `epoch` is that ring's epoch. */
export class ReplicaWrongOwnerError extends Error {
  readonly code = 'CLUSTER_WRONG_OWNER';
  constructor(
    readonly node: string,
    readonly partition: number,
    readonly epoch: number,
  ) {
    super(`node ${node} does not own partition ${partition} at epoch ${epoch}`);
    this.name = 'ReplicaWrongOwnerError';
  }
}

/** A ReplicaWrite/ReplicaRead request (or a coordinator's record) that cannot be right. */
export class ReplicaRequestError extends Error {
  readonly code = 'CLUSTER_BAD_REPLICA_REQUEST';
  constructor(message: string) {
    super(message);
    this.name = 'ReplicaRequestError';
  }
}

/** This node has no committed ring yet: it cannot tell what it owns. */
export class NoRingError extends Error {
  readonly code = 'CLUSTER_NO_RING';
  constructor(node: string) {
    super(`node ${node} has no committed ring yet`);
    this.name = 'NoRingError';
  }
}

export interface KeyedRecord {
  readonly key: Uint8Array;
  readonly record: StoredRecord;
  /** encodeRecord(record), when the caller has it already (a coordinator writing to its own replica): not encoded again. */
  readonly encoded?: Uint8Array;
}

/** Checks a client or replica key: bytes, not empty, at most 64 KiB. */
export function checkDataKey(key: unknown): Uint8Array {
  if (!(key instanceof Uint8Array)) throw new ReplicaRequestError('key must be bytes');
  if (key.length === 0) throw new ReplicaRequestError('key must not be empty');
  if (key.length > MAX_KEY_BYTES) throw new ReplicaRequestError(`key of ${key.length} bytes is over the ${MAX_KEY_BYTES}-byte limit`);
  return key;
}

function u64(v: Long | number | null | undefined, what: string): number {
  const n = v === null || v === undefined ? 0 : typeof v === 'number' ? v : Long.fromValue(v).toNumber();
  if (!Number.isSafeInteger(n) || n < 0) throw new ReplicaRequestError(`${what} out of range`);
  return n;
}

/** A wire Record → key and StoredRecord; ReplicaRequestError if a field is missing or out of range. */
export function recordFromPb(pb: PbRecord | null | undefined, key?: Uint8Array): KeyedRecord {
  if (pb === null || pb === undefined) throw new ReplicaRequestError('record missing');
  const k = checkDataKey(key ?? pb.key ?? new Uint8Array(0));
  const logical = pb.logical ?? 0;
  if (logical > MAX_LOGICAL) throw new ReplicaRequestError('record logical counter out of range');
  const record: StoredRecord = {
    value: pb.value ?? new Uint8Array(0),
    timestamp: { physicalMs: u64(pb.timestamp, 'record timestamp'), logical, node: pb.node ?? '' },
    epoch: u64(pb.epoch, 'record epoch'),
    partition: pb.partition ?? 0,
    tombstone: pb.tombstone ?? false,
  };
  try {
    checkRecord(record); // the store's own validation: node id, value size, tombstone without value
  } catch (err) {
    if (err instanceof RecordInvalidError || err instanceof HlcTimestampError) throw new ReplicaRequestError(`bad record: ${err.message}`);
    throw err;
  }
  return { key: k, record };
}

export function recordToPb(r: StoredRecord, key?: Uint8Array): PbRecord {
  return {
    ...(key === undefined ? {} : { key }),
    value: r.value,
    timestamp: Long.fromNumber(r.timestamp.physicalMs, true),
    logical: r.timestamp.logical,
    node: r.timestamp.node,
    tombstone: r.tombstone,
    epoch: Long.fromNumber(r.epoch, true),
    partition: r.partition,
  };
}

/** The local replica as a coordinator target; the RPC transport offers the same shape for the others. */
export interface ReplicaEndpoint {
  /** `sync`: a durable write, acknowledged only once fdatasynced (hints always are). */
  write(records: readonly KeyedRecord[], hintFor: string | undefined, sync?: boolean): Promise<number>;
  read(key: Uint8Array, signal?: AbortSignal): Promise<StoredRecord | undefined>;
}

export interface ReplicaServiceOptions {
  readonly nodeId: string;
  readonly clusterId: string;
  readonly store: ReplicaStore;
  readonly hints: HintStore;
  /** The committed ring now (undefined before the first commit). */
  readonly view: () => RingView | undefined;
  /** Told of every record stored by a (non-hinted) write: anti-entropy's tree cache and late-write count. */
  readonly onApplied?: (key: Uint8Array, record: StoredRecord) => void;
  /**
   * This node's hybrid clock: every record received moves it past the record's timestamp (HLC receive
   * rule), so a write this node coordinates later is stamped after every version it has stored, even when
   * its wall clock is behind the coordinator's.
   */
  readonly clock?: HybridClock;
}

export class ReplicaService implements ReplicaEndpoint {
  constructor(private readonly opts: ReplicaServiceOptions) {}

  /** Stores records (LWW) or, for a hinted write, keeps them as hints; resolves with how many took. */
  async write(records: readonly KeyedRecord[], hintFor: string | undefined, sync = false): Promise<number> {
    if (hintFor !== undefined && hintFor !== '' && hintFor !== this.opts.nodeId) {
      let stored = 0;
      for (const { key, record, encoded } of records) {
        await this.opts.hints.add(hintFor, checkDataKey(key), encoded ?? encodeRecord(record));
        stored++;
      }
      return stored;
    }
    const view = this.requireView();
    for (const { key, record } of records) this.checkOwned(view, checkDataKey(key), record.partition, 'write');
    let applied = 0;
    for (const { key, record, encoded } of records) {
      this.observe(record.timestamp);
      if (!(await this.opts.store.apply(key, record, encoded === undefined ? { sync } : { sync, encoded })).applied) continue;
      applied++;
      this.opts.onApplied?.(key, record);
    }
    return applied;
  }

  async read(key: Uint8Array): Promise<StoredRecord | undefined> {
    const view = this.requireView();
    checkDataKey(key);
    this.checkOwned(view, key, view.ring.partitionOf(key), 'read');
    return this.opts.store.get(key);
  }

  /** Registers ReplicaWrite and ReplicaRead on the node's RPC server. */
  register(server: RpcServer): void {
    server.handle(Methods.ReplicaWrite, async (req) => {
      try {
        this.checkEnvelope(req.from);
        if (req.records.length === 0) throw new ReplicaRequestError('no records');
        const records = req.records.map((r) => recordFromPb(r));
        return { applied: await this.write(records, req.hintForNodeId === '' ? undefined : req.hintForNodeId, req.sync) };
      } catch (err) {
        throw toReplicaRpcError(err);
      }
    });
    server.handle(Methods.ReplicaRead, async (req) => {
      try {
        this.checkEnvelope(req.from);
        const record = await this.read(checkDataKey(req.key));
        return record === undefined ? { found: false } : { found: true, record: recordToPb(record) };
      } catch (err) {
        throw toReplicaRpcError(err);
      }
    });
  }

  private requireView(): RingView {
    const view = this.opts.view();
    if (view === undefined) throw new NoRingError(this.opts.nodeId);
    return view;
  }

  /** Writes are taken for partitions owned in either ring (a joiner streams in), reads only in the read ring. */
  private checkOwned(view: RingView, key: Uint8Array, partition: number, op: 'read' | 'write'): void {
    const actual = view.ring.partitionOf(key);
    if (partition !== actual) throw new ReplicaRequestError(`record says partition ${partition}, but the key is in partition ${actual}`);
    const owned = op === 'read' ? view.ring.preferenceList(actual).includes(this.opts.nodeId) : view.acceptsWrites(this.opts.nodeId, actual);
    if (!owned) throw new ReplicaWrongOwnerError(this.opts.nodeId, actual, view.epoch);
  }

  /** A timestamp too far ahead (a peer with a runaway clock) must not drag ours along: it is stored, not followed. */
  private observe(t: Timestamp): void {
    if (this.opts.clock === undefined) return;
    try {
      this.opts.clock.update(t);
    } catch (err) {
      if (!(err instanceof HlcClockDriftError)) throw err;
    }
  }

  private checkEnvelope(from: mydatastore.cluster.IEnvelope | null | undefined): void {
    const id = from?.clusterId ?? '';
    if (id !== this.opts.clusterId) throw new PermissionDeniedError(`cluster id mismatch: request from cluster '${id}', this node is in '${this.opts.clusterId}'`);
  }
}

/** The RPC error a replica-side failure travels as; anything unexpected is left to the server (INTERNAL). */
export function toReplicaRpcError(err: unknown): unknown {
  if (err instanceof ReplicaWrongOwnerError) return new WrongOwnerError(err.message, { epoch: BigInt(err.epoch) });
  if (err instanceof ReplicaRequestError) return new InvalidArgumentError(err.message);
  if (err instanceof NoRingError) return new RpcUnavailableError(err.message);
  const code = (err as { code?: unknown } | null)?.code;
  if (code === 'CLUSTER_BAD_HINT' || code === 'REPLICA_STORE_BAD_ARGUMENT' || code === 'RECORD_INVALID') {
    return new InvalidArgumentError((err as Error).message);
  }
  if (code === 'REPLICA_STORE_CLOSED' || code === 'CLUSTER_HINTS_CLOSED') return new RpcUnavailableError('node is shutting down');
  return err;
}
