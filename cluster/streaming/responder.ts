/**
 * The source side of partition streaming: StreamPartition (method 75, proto/streaming.proto) pages a
 * partition's records, every epoch, out of this node's replica store through the (epoch, partition, key)
 * index (ReplicaStore.scanPartitionAllEpochs). A page holds whole records up to the requested byte budget
 * (at least one record, so a huge record still moves); its resume token is the (epoch, key) of its last
 * record. The source answers whatever it holds: the requester merges every source by last-write-wins.
 *
 * readPage() is the in-process form (tests and the fixture call it directly); register() serves it.
 */
import Long from 'long';
import type { mydatastore } from '../../proto/gen/messages.js';
import { InvalidArgumentError, PermissionDeniedError, UnavailableError as RpcUnavailableError } from '../../rpc/errors.js';
import { Methods } from '../../rpc/methods.js';
import type { RpcServer } from '../../rpc/server.js';
import type { ClusterState } from '../state/snapshot-codec.js';
import { decodeRecord, type StoredRecord } from '../storage/record.js';
import { MAX_KEY_BYTES, type PartitionPosition, type ReplicaStore } from '../storage/replica-store.js';
import { StreamRequestError } from './errors.js';

/** Page budget when the request names none, and the bounds a request may ask for. */
export const DEFAULT_STREAM_PAGE_BYTES = 1024 * 1024;
export const MIN_STREAM_PAGE_BYTES = 1024;
export const MAX_STREAM_PAGE_BYTES = 4 * 1024 * 1024;

export interface StreamPage {
  /** Each record decoded, and as stored and sent (`encoded`, cluster/storage/RECORD.md). */
  readonly records: { key: Uint8Array; record: StoredRecord; encoded: Uint8Array }[];
  /** Where the next page starts; undefined when done. */
  readonly resume?: PartitionPosition;
  readonly done: boolean;
  /** Keys + encoded records in this page. */
  readonly bytes: number;
}

/** One page of `partition` after `resume`, at most ~maxBytes (whole records; at least one). */
export async function readPage(store: ReplicaStore, partition: number, resume: PartitionPosition | undefined, maxBytes: number): Promise<StreamPage> {
  const budget = maxBytes === 0 ? DEFAULT_STREAM_PAGE_BYTES : maxBytes;
  if (!Number.isInteger(budget) || budget < MIN_STREAM_PAGE_BYTES || budget > MAX_STREAM_PAGE_BYTES) {
    throw new StreamRequestError(`max_bytes ${maxBytes} outside ${MIN_STREAM_PAGE_BYTES}..${MAX_STREAM_PAGE_BYTES} (or 0 for the default)`);
  }
  const records: StreamPage['records'] = [];
  let bytes = 0;
  let last: PartitionPosition | undefined;
  for await (const { key, record, epoch, encoded } of store.scanPartitionAllEpochs(partition, resume === undefined ? {} : { after: resume })) {
    if (records.length > 0 && bytes + key.length + encoded.length > budget) {
      return { records, resume: last, done: false, bytes };
    }
    records.push({ key, record, encoded });
    bytes += key.length + encoded.length;
    last = { epoch, key };
  }
  return { records, done: true, bytes };
}

export interface StreamResponderOptions {
  readonly clusterId: string;
  readonly store: ReplicaStore;
  /** The node's committed state (for P), undefined before the first commit. */
  readonly state: () => ClusterState | undefined;
}

/** Checks a StreamPartition request and answers it. */
export async function answerStreamPartition(
  opts: StreamResponderOptions,
  req: mydatastore.streaming.IStreamPartitionRequest,
): Promise<mydatastore.streaming.IStreamPartitionResponse> {
  const theirs = req.from?.clusterId ?? '';
  if (theirs !== opts.clusterId) throw new PermissionDeniedError(`cluster id mismatch: request from cluster '${theirs}', this node is in '${opts.clusterId}'`);
  const state = opts.state();
  if (state === undefined || !state.created) throw new RpcUnavailableError('this node has no committed cluster state yet');
  const partition = req.partition ?? 0;
  if (partition >= state.config.partitions) throw new StreamRequestError(`partition ${partition} out of range (P = ${state.config.partitions})`);
  let resume: PartitionPosition | undefined;
  if (req.resume != null) {
    const epoch = Long.fromValue(req.resume.epoch ?? 0);
    const key = req.resume.key ?? new Uint8Array(0);
    if (epoch.greaterThan(Number.MAX_SAFE_INTEGER - 1)) throw new StreamRequestError('resume epoch out of range');
    if (key.length > MAX_KEY_BYTES) throw new StreamRequestError(`resume key of ${key.length} bytes is over ${MAX_KEY_BYTES}`);
    resume = { epoch: epoch.toNumber(), key };
  }
  const page = await readPage(opts.store, partition, resume, req.maxBytes ?? 0);
  return {
    records: page.records.map((r) => ({ key: r.key, record: r.encoded })),
    ...(page.resume === undefined ? {} : { resume: { epoch: Long.fromNumber(page.resume.epoch, true), key: page.resume.key } }),
    done: page.done,
  };
}

/** Decodes a StreamPartition response into a page (records validated by decodeRecord). */
export function pageFromPb(res: mydatastore.streaming.IStreamPartitionResponse): StreamPage {
  let bytes = 0;
  const records = (res.records ?? []).map((r) => {
    const key = r.key ?? new Uint8Array(0);
    const raw = r.record ?? new Uint8Array(0);
    bytes += key.length + raw.length;
    return { key, record: decodeRecord(raw), encoded: raw };
  });
  const done = res.done === true;
  if (!done && res.resume == null) throw new StreamRequestError('a page that is not the last carries no resume token');
  const resume = res.resume == null ? undefined : { epoch: Long.fromValue(res.resume.epoch ?? 0).toNumber(), key: res.resume.key ?? new Uint8Array(0) };
  return { records, done, bytes, ...(done || resume === undefined ? {} : { resume }) };
}

/** Serves StreamPartition (75) on the node's RPC server. */
export function registerStreamResponder(server: Pick<RpcServer, 'handle'>, opts: StreamResponderOptions): void {
  server.handle(Methods.StreamPartition, async (req) => {
    try {
      return await answerStreamPartition(opts, req);
    } catch (err) {
      if (err instanceof StreamRequestError) throw new InvalidArgumentError(err.message);
      const code = (err as { code?: unknown } | null)?.code;
      if (code === 'REPLICA_STORE_CLOSED') throw new RpcUnavailableError('node is shutting down');
      throw err;
    }
  });
}
