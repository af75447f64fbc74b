/**
 * The client API (proto/client.proto: Get 2, Put 3, Delete 4, Batch 5) on a node's RPC server, over its
 * Coordinator. Maps the coordinator's typed errors to RPC statuses:
 *   UnavailableError (CLUSTER_UNAVAILABLE)  → UNAVAILABLE, ErrorDetail.acks/required say how many acked
 *   no committed ring yet (CLUSTER_NO_RING) → UNAVAILABLE
 *   bad key or consistency                  → INVALID_ARGUMENT
 *   draining after SIGTERM                  → SHUTTING_DOWN
 * Batch runs its mutations one after the other (each with the batch's W) and reports each one's
 * outcome; mutations of different keys are not atomic together. Writes carry the client's causality
 * token (`after`, the newest version it has seen): the coordinator's clock moves past it first, so a
 * client's writes are ordered after everything it saw even across nodes whose clocks disagree; every
 * answer carries its version in full for the client to keep. Each request is reported to the optional
 * observer (operation, consistency, outcome, seconds) for the node's metrics.
 */
import Long from 'long';
import type { mydatastore } from '../proto/gen/messages.js';
import { InvalidArgumentError, RpcError, ShuttingDownError, Status, UnavailableError as RpcUnavailableError, errorText } from '../rpc/errors.js';
import { Methods } from '../rpc/methods.js';
import type { CallContext, RpcServer } from '../rpc/server.js';
import { consistencyLabel, failureOutcome, type ClientApi, type ClientOp, type ClientOutcome, type ClientRequestObserver } from './client-requests.js';
import { ConsistencyError, type ConsistencyInput } from './consistency.js';
import type { Coordinator, RequestOptions, WriteResult } from './coordinator.js';
import { UnavailableError } from './quorum/errors.js';
import { HlcClockDriftError, HlcTimestampError, type Timestamp } from './hlc.js';
import { NoRingError, ReplicaRequestError } from './replica-service.js';
import { safeUint } from './state/commands.js';

/** Mutations per Batch request. */
export const MAX_BATCH_MUTATIONS = 1000;

/** The RPC error a coordinator failure travels as; unexpected ones are left to the server (INTERNAL). */
export function toClientRpcError(err: unknown): unknown {
  if (err instanceof RpcError) return err;
  if (err instanceof UnavailableError) return new RpcUnavailableError(err.message, { acks: err.acks, required: err.required });
  if (err instanceof NoRingError) return new RpcUnavailableError(`${err.message}: it cannot serve data until it is a member of a committed cluster`);
  if (err instanceof ConsistencyError || err instanceof ReplicaRequestError) return new InvalidArgumentError(err.message);
  const code = (err as { code?: unknown } | null)?.code;
  if (code === 'RECORD_INVALID') return new InvalidArgumentError((err as Error).message);
  return err;
}

/** Counts client requests in flight so SIGTERM can wait for them; refuses new ones once draining. */
export class RequestGate {
  private inflight = 0;
  private closing = false;
  private idle: (() => void) | undefined;

  async run<T>(fn: () => Promise<T>): Promise<T> {
    if (this.closing) throw new ShuttingDownError('node is shutting down; send requests to another node');
    this.inflight++;
    try {
      return await fn();
    } finally {
      if (--this.inflight === 0) this.idle?.();
    }
  }

  /** Refuses new requests and resolves when those in flight finished (or after timeoutMs). */
  drain(timeoutMs: number): Promise<void> {
    this.closing = true;
    if (this.inflight === 0) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, timeoutMs);
      timer.unref();
      this.idle = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }
}

/**
 * The request's consistency and what is left of its deadline. Not the call's AbortSignal: the deadline
 * already bounds the coordinator, and a signal costs an AbortController and a timer per request, to
 * save only the wait for a client that cancelled (its replica sends go on regardless).
 */
function requestOptions(ctx: CallContext, consistency: mydatastore.client.IConsistency | null | undefined): RequestOptions {
  const left = ctx.deadline === Infinity ? undefined : Math.max(0, ctx.deadline - performance.now());
  return left === undefined ? { consistency: consistency ?? undefined } : { consistency: consistency ?? undefined, deadlineMs: left };
}

/** A request's `durable: true` overrides the node's default; false (the wire's default) leaves it. */
function durably(opts: RequestOptions, durable: boolean | null | undefined): RequestOptions {
  return durable === true ? { ...opts, durable: true } : opts;
}

const ts = (r: WriteResult) => Long.fromNumber(r.timestamp.physicalMs, true);

type WireVersion = mydatastore.client.IVersion;

export function versionToWire(t: Timestamp): WireVersion {
  return { physicalMs: Long.fromNumber(t.physicalMs, true), logical: t.logical, node: t.node };
}

/** The client's causality token as a Timestamp (undefined when unset); INVALID_ARGUMENT when malformed. */
export function versionFromWire(v: WireVersion | null | undefined): Timestamp | undefined {
  if (v === null || v === undefined) return undefined;
  const bad = (m: string) => new InvalidArgumentError(`after: ${m}`);
  return { physicalMs: safeUint(v.physicalMs, 'physical_ms', bad), logical: v.logical ?? 0, node: v.node ?? '' };
}

/** Moves the coordinator's clock past the client's causality token before it stamps a write. */
function observeAfter(coordinator: Coordinator, after: WireVersion | null | undefined): void {
  const seen = versionFromWire(after);
  if (seen === undefined) return;
  try {
    coordinator.observe(seen);
  } catch (err) {
    if (err instanceof HlcTimestampError) throw new InvalidArgumentError(`after: ${err.message}`);
    // Nothing was written: the client may retry on a node whose clock is not that far behind.
    if (err instanceof HlcClockDriftError) throw new RpcUnavailableError(`this node cannot order the write after the client's last version: ${err.message}`);
    throw err;
  }
}

/**
 * Runs one client request through the gate and tells `observe` how it ended: the outcome, the time it took
 * and, for a failure, the error the client gets (as toClientRpcError makes it). The failure is rethrown as
 * `answerAs` maps it: the RPC API answers with toClientRpcError's error, the HTTP gateway with its own.
 */
export async function observedRequest<T>(
  gate: RequestGate,
  observe: ClientRequestObserver | undefined,
  what: { api: ClientApi; op: ClientOp; consistency: ConsistencyInput },
  fn: () => Promise<T>,
  outcomeOf: (res: T) => ClientOutcome,
  answerAs: (err: unknown) => unknown,
): Promise<T> {
  const started = performance.now();
  let outcome: ClientOutcome = 'error';
  let error: string | undefined;
  try {
    const res = await gate.run(fn);
    outcome = outcomeOf(res);
    return res;
  } catch (err) {
    const e = toClientRpcError(err);
    outcome = failureOutcome(e);
    error = errorText(e);
    throw answerAs(err);
  } finally {
    const seconds = (performance.now() - started) / 1000;
    observe?.({ api: what.api, op: what.op, consistency: consistencyLabel(what.consistency), outcome, seconds, ...(error === undefined ? {} : { error }) });
  }
}

export function registerClientApi(server: RpcServer, coordinator: Coordinator, gate: RequestGate, observe?: ClientRequestObserver): void {
  const serve = <T>(op: ClientOp, consistency: ConsistencyInput, fn: () => Promise<T>, outcomeOf: (res: T) => ClientOutcome = () => 'ok'): Promise<T> =>
    observedRequest(gate, observe, { api: 'rpc', op, consistency }, fn, outcomeOf, toClientRpcError);
  server.handle(Methods.Get, (req, ctx) =>
    serve('get', req.r, async () => {
      const opts = { ...requestOptions(ctx, req.r), blockingRepair: req.blockingReadRepair };
      const res = await coordinator.get(req.key, opts);
      const timestamp = Long.fromNumber(res.record?.timestamp.physicalMs ?? 0, true);
      const version = res.record === undefined ? null : versionToWire(res.record.timestamp);
      return res.found ? { status: Status.OK, value: res.record!.value, timestamp, version } : { status: Status.NOT_FOUND, timestamp, version };
    }, (res) => (res.status === Status.NOT_FOUND ? 'not_found' : 'ok')),
  );
  server.handle(Methods.Put, (req, ctx) =>
    serve('put', req.w, async () => {
      observeAfter(coordinator, req.after);
      const res = await coordinator.put(req.key, req.value, durably(requestOptions(ctx, req.w), req.durable));
      return { status: Status.OK, timestamp: ts(res), acks: res.acks, version: versionToWire(res.timestamp) };
    }),
  );
  server.handle(Methods.Delete, (req, ctx) =>
    serve('del', req.w, async () => {
      observeAfter(coordinator, req.after);
      const res = await coordinator.del(req.key, durably(requestOptions(ctx, req.w), req.durable));
      return { status: Status.OK, timestamp: ts(res), acks: res.acks, version: versionToWire(res.timestamp) };
    }),
  );
  server.handle(Methods.Batch, (req, ctx) =>
    serve('batch', req.w, async () => {
      if (req.mutations.length > MAX_BATCH_MUTATIONS) {
        throw new InvalidArgumentError(`a batch holds at most ${MAX_BATCH_MUTATIONS} mutations, got ${req.mutations.length}`);
      }
      observeAfter(coordinator, req.after);
      const results: mydatastore.client.IMutationResult[] = [];
      for (const m of req.mutations) {
        const opts = durably(requestOptions(ctx, req.w), req.durable);
        try {
          const kind: number = m.kind ?? 0;
          if (kind !== 0 && kind !== 1) throw new InvalidArgumentError(`unknown mutation kind ${String(kind)}`);
          const key = m.key ?? new Uint8Array(0);
          const res = kind === 1 ? await coordinator.del(key, opts) : await coordinator.put(key, m.value ?? new Uint8Array(0), opts);
          results.push({ status: Status.OK, timestamp: ts(res), acks: res.acks, version: versionToWire(res.timestamp) });
        } catch (err) {
          const e = toClientRpcError(err);
          if (!(e instanceof RpcError)) throw e;
          results.push({ status: e.status, message: e.message, acks: e.acks ?? 0 });
        }
      }
      return { results };
    }),
  );
}
