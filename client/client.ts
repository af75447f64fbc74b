/**
 * The public client of MyDataStore: `new Client({ seeds })`, then get / put / del / batch. Any node
 * coordinates any request; with token-aware routing (the default) the client computes the ring from a
 * node's Status and sends each request to a live replica of its key, which saves the coordinator a
 * network hop (routing.ts). Without a ring (not fetched yet, or `tokenAware: false`) requests go to the
 * seeds round-robin. A node that cannot be reached is skipped for a while (health.ts), and the request
 * fails over to the next replica, then the seeds. All over the RPC layer's pooled, multiplexed connections.
 *
 * Retries: reads are retried with jittered exponential backoff while the request's deadline allows;
 * writes only when the request certainly never reached a server (see retry.ts). Errors are the typed
 * errors of rpc/errors.ts (re-exported by client/index.ts): InvalidArgumentError, UnavailableError (with
 * `acks` / `required` when a quorum was missed), TimeoutError, ConnectionError, ...
 */
import Long from 'long';
import { RpcClient } from '../rpc/client.js';
import { CancelledError, ConnectionError, errorFromStatus, InternalError, InvalidArgumentError, RpcError, Status, TimeoutError, WrongOwnerError } from '../rpc/errors.js';
import type { AnyMethod, RequestIn, ResponseOf } from '../rpc/methods.js';
import type { TlsMaterial } from '../rpc/security.js';
import { Methods } from '../rpc/methods.js';
import { mydatastore } from '../proto/gen/messages.js';
import type { Consistency } from './consistency.js';
import { toWireConsistency } from './consistency.js';
import { backoffMs, nodeFailure, retryable } from './retry.js';
import { NodeHealth } from './health.js';
import { RingRefresher } from './ring-refresh.js';
import { Router } from './routing.js';
import { SeedPicker } from './seeds.js';
import { compareTimestamps } from '../cluster/hlc.js';

/** Keys and values: a string (stored as its UTF-8 bytes) or raw bytes. */
export type Bytes = string | Uint8Array;

export interface ClientOptions {
  /** Addresses (host:port) of nodes to send requests to; any node coordinates any request. */
  seeds: string[];
  /** Consistency of requests that set none (default: the cluster's configured R and W). */
  defaultConsistency?: Consistency;
  /** Deadline of requests that set none, retries included (default 5000 ms). */
  defaultDeadlineMs?: number;
  /** How many times a failed request may be tried again (default 3); see retry.ts for which. */
  retries?: number;
  /** Backoff before retry k: uniform in [0, min(backoffMaxMs, backoffBaseMs * 2^(k-1))) (defaults 20, 1000). */
  backoffBaseMs?: number;
  backoffMaxMs?: number;
  /** A node that failed at the connection level is avoided for this long (default 1000 ms). */
  seedDownMs?: number;
  /**
   * Send each request to a replica of its key, from a ring computed from the cluster's Status (default
   * true). Off: every request goes to the seeds round-robin.
   */
  tokenAware?: boolean;
  /** With tokenAware: refresh the ring this often (default 5000 ms), and sooner when a node fails. */
  ringRefreshMs?: number;
  /** Connections per node (default 1; one connection multiplexes many requests). */
  poolSize?: number;
  connectTimeoutMs?: number;
  /** Random source in [0, 1) for backoff jitter (tests inject one). */
  random?: () => number;
  /** TLS (rpc/SECURITY.md): the cluster's CA, and this client's certificate and key if it has one. */
  tls?: TlsMaterial;
  /** A client token from the nodes' tokens file (needs `tls`: a token is a password). */
  token?: string;
}

export interface RequestOptions {
  consistency?: Consistency;
  /** Give up after this many milliseconds, retries included (TimeoutError). */
  deadlineMs?: number;
  signal?: AbortSignal;
}

export interface WriteOptions extends RequestOptions {
  /**
   * Each replica fdatasyncs the write before it acknowledges (survives power loss once acknowledged).
   * Default: the server's setting (by default, acknowledged once in each replica's write-ahead log
   * file and fdatasynced within the replica's sync interval).
   */
  durable?: boolean;
}

export interface GetOptions extends RequestOptions {
  /** Return only after stale replicas were repaired. */
  blockingReadRepair?: boolean;
}

/** A version in full: the hybrid-logical-clock timestamp a write got. Ordered by (physicalMs, logical, node). */
export interface Version {
  physicalMs: number;
  logical: number;
  /** The coordinating node's id (the tie-break). */
  node: string;
}

export interface WriteResult {
  /** The version (hybrid logical clock) the cluster gave this write: its physical milliseconds. */
  timestamp: bigint;
  /** The same version in full. */
  version: Version;
  /** Replicas that acknowledged before the answer was sent. */
  acks: number;
}

/** What the client did so far (a snapshot). */
export interface ClientStats {
  /** Attempts sent per node address (retries count again), Status calls not included. */
  requests: Record<string, number>;
  /** Requests whose first attempt went to a replica chosen from the ring. */
  routed: number;
  /** Requests that went to the seeds (no ring, token-aware routing off, or no replica live). */
  unrouted: number;
  /** The ring in use, if any. */
  ring: { epoch: number; partitions: number; replicas: number; members: string[] } | undefined;
  /** Ring refreshes that succeeded and that found no node to answer; why the last answer was refused. */
  ringRefreshes: number;
  ringRefreshFailures: number;
  ringRefusal: string | undefined;
}

export type BatchOp = { type: 'put'; key: Bytes; value: Bytes } | { type: 'del'; key: Bytes };
export type BatchItemResult = ({ ok: true } & WriteResult) | { ok: false; error: RpcError };

const Kind = mydatastore.client.Mutation.Kind;

function durable(opts: WriteOptions): boolean {
  if (opts.durable !== undefined && typeof opts.durable !== 'boolean') throw new InvalidArgumentError('durable must be a boolean');
  return opts.durable === true;
}

export class Client {
  private readonly rpc: RpcClient;
  private readonly picker: SeedPicker;
  private readonly health: NodeHealth;
  private readonly router: Router;
  private readonly refresher: RingRefresher | undefined;
  private readonly requestsTo = new Map<string, number>();
  private routed = 0;
  private unrouted = 0;
  private closed = false;
  /**
   * The newest version this client has seen (written or read). Sent with every write as `after`, so the
   * coordinator stamps the write after it: a client's writes are ordered after everything it saw, even
   * when they go through nodes whose clocks disagree (a lagging clock would otherwise let an older
   * version win under last-write-wins).
   */
  private seen: Version | undefined;
  private readonly defaultConsistency: Consistency | undefined;
  private readonly defaultDeadlineMs: number;
  private readonly retries: number;
  private readonly backoff: { baseMs: number; maxMs: number; random: () => number };

  constructor(options: ClientOptions) {
    const seeds = Array.isArray(options?.seeds) ? options.seeds.filter((s) => typeof s === 'string' && s.trim() !== '') : [];
    if (seeds.length === 0) throw new InvalidArgumentError('new Client({ seeds }): give at least one node address (host:port)');
    this.defaultDeadlineMs = positive(options.defaultDeadlineMs ?? 5000, 'defaultDeadlineMs');
    this.retries = options.retries ?? 3;
    if (!Number.isInteger(this.retries) || this.retries < 0) throw new InvalidArgumentError(`retries must be an integer >= 0, got ${String(options.retries)}`);
    toWireConsistency(options.defaultConsistency); // refuse a bad default now, not on the first request
    this.defaultConsistency = options.defaultConsistency;
    const random = options.random ?? Math.random;
    this.backoff = { baseMs: options.backoffBaseMs ?? 20, maxMs: options.backoffMaxMs ?? 1000, random };
    const seedList = seeds.map((s) => s.trim());
    this.health = new NodeHealth(positive(options.seedDownMs ?? 1000, 'seedDownMs'));
    this.picker = new SeedPicker(seedList, this.health);
    this.router = new Router(this.health);
    const rpcOptions: ConstructorParameters<typeof RpcClient>[0] = { poolSize: options.poolSize ?? 1, random, defaultTimeoutMs: 0 };
    if (options.connectTimeoutMs !== undefined) rpcOptions.connectTimeoutMs = options.connectTimeoutMs;
    if (options.token !== undefined && options.tls === undefined) throw new InvalidArgumentError('a token needs tls: without it the token would cross the network in clear text');
    if (options.tls !== undefined) rpcOptions.tls = options.tls;
    if (options.token !== undefined) rpcOptions.token = options.token;
    this.rpc = new RpcClient(rpcOptions);
    if (options.tokenAware !== false) {
      const intervalMs = positive(options.ringRefreshMs ?? 5000, 'ringRefreshMs');
      this.refresher = new RingRefresher({ rpc: this.rpc, router: this.router, health: this.health, seeds: seedList, intervalMs, minGapMs: Math.min(250, intervalMs), timeoutMs: Math.min(2000, intervalMs) });
      this.refresher.start();
    }
  }

  /** The value of `key`, or undefined when it has none (never set, or deleted). An empty value is a value. */
  async get(key: Bytes, opts: GetOptions = {}): Promise<Buffer | undefined> {
    const request = { key: bytes(key, 'key'), r: this.consistency(opts), blockingReadRepair: opts.blockingReadRepair === true };
    const res = await this.run(Methods.Get, request, opts, true, request.key);
    this.observe(res.version);
    if (res.status === Status.NOT_FOUND) return undefined;
    if (res.status !== Status.OK) throw new InternalError(`Get answered with unexpected status ${res.status}`);
    return Buffer.from(res.value); // a copy: the decoded bytes may share the connection's read buffer
  }

  async put(key: Bytes, value: Bytes, opts: WriteOptions = {}): Promise<WriteResult> {
    const request = { key: bytes(key, 'key'), value: bytes(value, 'value', true), w: this.consistency(opts), after: this.after(), durable: durable(opts) };
    const res = await this.run(Methods.Put, request, opts, false, request.key);
    return { timestamp: toBigInt(res.timestamp), acks: res.acks, version: this.observeWrite(res.version, res.timestamp) };
  }

  /** Deletes `key` (a tombstone is written; deleting a missing key succeeds). */
  async del(key: Bytes, opts: WriteOptions = {}): Promise<WriteResult> {
    const request = { key: bytes(key, 'key'), w: this.consistency(opts), after: this.after(), durable: durable(opts) };
    const res = await this.run(Methods.Delete, request, opts, false, request.key);
    return { timestamp: toBigInt(res.timestamp), acks: res.acks, version: this.observeWrite(res.version, res.timestamp) };
  }

  /** Puts and deletes with one round trip; each succeeds or fails on its own (no atomicity across keys). */
  async batch(ops: readonly BatchOp[], opts: WriteOptions = {}): Promise<BatchItemResult[]> {
    if (!Array.isArray(ops)) throw new InvalidArgumentError('batch(ops): ops must be an array');
    const mutations = ops.map((op: BatchOp | undefined, i) => {
      if (op?.type === 'put') return { kind: Kind.PUT, key: bytes(op.key, `ops[${i}].key`), value: bytes(op.value, `ops[${i}].value`, true) };
      if (op?.type === 'del') return { kind: Kind.DELETE, key: bytes(op.key, `ops[${i}].key`) };
      throw new InvalidArgumentError(`ops[${i}]: type must be 'put' or 'del'`);
    });
    if (mutations.length === 0) return [];
    // Routed to a replica of the first key: any node coordinates a batch, and that one saves a hop for it.
    const res = await this.run(Methods.Batch, { mutations, w: this.consistency(opts), after: this.after(), durable: durable(opts) }, opts, false, mutations[0]?.key);
    if (res.results.length !== mutations.length) {
      throw new InternalError(`Batch answered ${res.results.length} results for ${mutations.length} mutations`);
    }
    return res.results.map((r): BatchItemResult =>
      (r.status ?? Status.OK) === Status.OK
        ? { ok: true, timestamp: toBigInt(r.timestamp ?? 0), acks: r.acks ?? 0, version: this.observeWrite(r.version, r.timestamp ?? 0) }
        : { ok: false, error: errorFromStatus(r.status ?? Status.INTERNAL, r.message ?? '') },
    );
  }

  /** The causality token sent with a write. */
  private after(): mydatastore.client.IVersion | null {
    const v = this.seen;
    return v === undefined ? null : { physicalMs: Long.fromNumber(v.physicalMs, true), logical: v.logical, node: v.node };
  }

  /** Keeps the newest version seen; undefined for an answer without one (a key never written). */
  private observe(wire: mydatastore.client.IVersion | null | undefined): Version | undefined {
    if (wire === null || wire === undefined) return undefined;
    const v: Version = { physicalMs: Number(wire.physicalMs ?? 0), logical: wire.logical ?? 0, node: wire.node ?? '' };
    if (this.seen === undefined || compareTimestamps(v, this.seen) > 0) this.seen = v;
    return v;
  }

  /** A write's version; a node that predates full versions sends milliseconds only. */
  private observeWrite(wire: mydatastore.client.IVersion | null | undefined, ms: { toString(): string } | number): Version {
    return this.observe(wire) ?? { physicalMs: Number(ms.toString()), logical: 0, node: '' };
  }

  /** Lets requests in flight finish, then closes every connection. */
  async close(): Promise<void> {
    this.closed = true;
    await this.refresher?.stop();
    await this.rpc.close();
  }

  /** Per-node request counts and the routing state, for monitoring and tests. */
  stats(): ClientStats {
    const t = this.router.current;
    return {
      requests: Object.fromEntries(this.requestsTo),
      routed: this.routed,
      unrouted: this.unrouted,
      ring: t === undefined ? undefined : { epoch: t.epoch, partitions: t.ring.partitions, replicas: t.ring.replicas, members: [...t.ring.members] },
      ringRefreshes: this.refresher?.stats.refreshes ?? 0,
      ringRefreshFailures: this.refresher?.stats.failures ?? 0,
      ringRefusal: this.router.lastRefusal,
    };
  }

  private consistency(opts: RequestOptions): mydatastore.client.Consistency.$Properties | undefined {
    return toWireConsistency(opts.consistency ?? this.defaultConsistency);
  }

  /**
   * One request with failover and retries, all within the request's deadline. Attempts go to the key's
   * live replicas in the router's order, then to the seeds.
   */
  private async run<M extends AnyMethod>(
    method: M,
    request: RequestIn<M>,
    opts: RequestOptions,
    idempotent: boolean,
    key: Uint8Array | undefined,
  ): Promise<ResponseOf<M>> {
    const deadlineMs = positive(opts.deadlineMs ?? this.defaultDeadlineMs, 'deadlineMs');
    const started = Date.now();
    const until = started + deadlineMs;
    const replicas = key === undefined ? [] : this.router.targets(key, idempotent, started);
    let ri = 0; // index of the replica tried last; past the end, the seeds take over
    let address = replicas[0] ?? this.picker.first(started);
    if (replicas.length > 0) this.routed++;
    else this.unrouted++;
    for (let retry = 0; ; retry++) {
      if (this.closed) throw ConnectionError.notSent('the client is closed');
      if (opts.signal?.aborted === true) throw new CancelledError(`${method.name} was aborted`);
      const remaining = until - Date.now();
      if (remaining <= 0) throw new TimeoutError(`${method.name} did not complete within its deadline of ${deadlineMs} ms`);
      const callOpts = opts.signal === undefined ? { timeoutMs: remaining } : { timeoutMs: remaining, signal: opts.signal };
      this.requestsTo.set(address, (this.requestsTo.get(address) ?? 0) + 1);
      try {
        const res = await this.rpc.call(address, method, request, callOpts);
        this.health.markUp(address);
        return res;
      } catch (err) {
        const down = nodeFailure(err);
        if (down) this.health.markDown(address, Date.now());
        if (down || err instanceof WrongOwnerError) this.refresher?.soon();
        if (this.closed || retry >= this.retries || !retryable(err, idempotent)) throw err;
        // The first failover after a node failure goes straight to the next node; later retries back off.
        const jitter = down && retry === 0 ? 0 : backoffMs(retry + 1, this.backoff);
        const wait = Math.max(jitter, err instanceof RpcError ? (err.retryAfterMs ?? 0) : 0);
        if (Date.now() + wait >= until) throw err;
        const now = Date.now();
        while (++ri < replicas.length && !this.health.isUp(replicas[ri]!, now));
        address = replicas[ri] ?? this.picker.after(address, now);
        if (wait > 0) await sleep(wait, opts.signal);
      }
    }
  }
}

function positive(n: number, what: string): number {
  if (typeof n !== 'number' || !Number.isFinite(n) || n <= 0) throw new InvalidArgumentError(`${what} must be a positive number of milliseconds, got ${String(n)}`);
  return n;
}

function bytes(b: Bytes, what: string, emptyOk = false): Uint8Array {
  let out: Uint8Array;
  if (typeof b === 'string') out = Buffer.from(b, 'utf8');
  else if (b instanceof Uint8Array) out = b;
  else throw new InvalidArgumentError(`${what} must be a string or a Uint8Array, got ${b === null ? 'null' : typeof b}`);
  if (!emptyOk && out.length === 0) throw new InvalidArgumentError(`${what} must not be empty`);
  return out;
}

function toBigInt(v: { toString(): string } | number): bigint {
  return BigInt(v.toString());
}

function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}
