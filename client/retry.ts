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
 * ConnectionErrors raised before any byte of the request left this process: the node refused or never
 * answered the TCP handshake, or the RPC client is backing off from an address that just failed. The
 * RPC layer says so only in the message, so it is matched here; test/client/retry.test.ts checks these
 * patterns against the real RpcClient so a change of wording there fails a test rather than silently
 * disabling write failover.
 */
const NEVER_SENT = [/\bECONNREFUSED\b/, /\bis unreachable \(/, /^connecting to .* timed out/, /\bEHOSTUNREACH\b/, /\bENETUNREACH\b/, /\bEADDRNOTAVAIL\b/];

export function neverSent(err: unknown): boolean {
  if (err instanceof ShuttingDownError) return true; // refused by a draining node before the handler ran
  if (!(err instanceof ConnectionError)) return false;
  return NEVER_SENT.some((re) => re.test(err.message));
}

/** A connection-level failure: the next attempt should go to another seed. */
export function nodeFailure(err: unknown): boolean {
  return err instanceof ConnectionError || err instanceof ShuttingDownError;
}

export function retryable(err: unknown, idempotent: boolean): boolean {
  if (!(err instanceof RpcError)) return false;
  if (!idempotent) return neverSent(err);
  if (err instanceof ConnectionError) return !/the client is closed/.test(err.message);
  return err instanceof UnavailableError || err instanceof OverloadedError || err instanceof ShuttingDownError || err instanceof TimeoutError;
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
