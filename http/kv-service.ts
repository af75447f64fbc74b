/** What the HTTP gateway needs from the node: the coordinator implements it. */
import type { ConsistencyParam } from './request.js';

export interface KvOptions {
  /** A level name or a replica count; undefined = the cluster's configured default. */
  consistency?: ConsistencyParam;
  /** Writes: each replica fdatasyncs before it acknowledges; undefined = the node's --durable-writes. */
  durable?: boolean;
  /** Aborted when the HTTP client goes away or the gateway's request timeout passes. */
  signal?: AbortSignal;
}

export interface KvService {
  /** The live value, or undefined when the key has none (never written, or deleted). */
  get(key: Buffer, opts: KvOptions): Promise<Buffer | undefined>;
  /** `members`, when given, are the nodes that acknowledged (the legacy /set answer lists them). */
  put(key: Buffer, value: Buffer, opts: KvOptions): Promise<void | { members?: string[] }>;
  del(key: Buffer, opts: KvOptions): Promise<unknown>;
}
