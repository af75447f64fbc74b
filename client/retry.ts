/**
 * When the client may try a failed request again, and how long it waits first. Pure: the random source
 * is injected.
 *
 * Reads are idempotent: any failure that another node (or the same one a moment later) might not have
 * is retried. Writes are retried only when the request certainly never reached a server, because a
 * write that timed out or lost its connection may have been applied, and a blind retry would write it
 * again with a newer timestamp (overwriting a concurrent writer that came in between).
 */
import { ConnectionError, OverloadedError, RpcError, ShuttingDownError, TimeoutError, UnavailableError } from '../rpc/errors.js';

/**
 * Whether a failed request certainly never reached a server's data path: the RPC layer's ConnectionError
 * says so in its `sent` flag (false = refused or timed-out connect, address in backoff, still queued when
 * the connection failed); a draining node refuses with SHUTTING_DOWN, an overloaded one with OVERLOADED
 * (rpc/PROTOCOL.md §6), and a node without a committed ring with UNAVAILABLE carrying no quorum detail, all
 * before any replica is written.
 */
export function neverSent(err: unknown): boolean {
  // OVERLOADED: the client's own queue was full, or a node shed the request before decoding it.
  if (err instanceof ShuttingDownError || err instanceof OverloadedError || notReady(err)) return true;
  return err instanceof ConnectionError && !err.sent;
}

/**
 * UNAVAILABLE without `required`: the node refused to coordinate (it has no committed ring yet, e.g. a
 * member the leader just added that has not applied it). A quorum failure always says how many replicas
 * were required (rpc/PROTOCOL.md §8), so the two cannot be confused.
 */
export function notReady(err: unknown): boolean {
  return err instanceof UnavailableError && err.required === undefined;
}

/** A failure of the node rather than of the request: skip the node for a while, try the next one at once. */
export function nodeFailure(err: unknown): boolean {
  return err instanceof ConnectionError || err instanceof ShuttingDownError || notReady(err);
}

/** Whether another attempt may help. The caller stops on its own once it is closed. */
export function retryable(err: unknown, idempotent: boolean): boolean {
  if (!(err instanceof RpcError)) return false;
  if (!idempotent) return neverSent(err);
  return err instanceof ConnectionError || err instanceof UnavailableError || err instanceof OverloadedError || err instanceof ShuttingDownError || err instanceof TimeoutError;
}

export interface BackoffPolicy {
  baseMs: number;
  maxMs: number;
  random: () => number;
}

/** Full jitter: a uniform delay in [0, min(max, base * 2^(retry-1))); `retry` counts from 1. */
export function backoffMs(retry: number, p: BackoffPolicy): number {
  const ceiling = Math.min(p.maxMs, p.baseMs * 2 ** Math.min(Math.max(0, retry - 1), 20));
  return Math.floor(ceiling * p.random());
}
