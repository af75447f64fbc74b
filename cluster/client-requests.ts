/**
 * What a node reports about each client request it served, whichever API it came through (the protobuf
 * client API or the HTTP gateway): the operation, the consistency asked for, the outcome and the time it
 * took. The node turns these events into metrics (tools/node-metrics.ts); the labels are bounded sets, so
 * a client cannot make the metric series grow without limit. Pure: no I/O.
 */
import { Status } from '../rpc/errors.js';
import { LEVEL_ALL, LEVEL_DEFAULT, LEVEL_ONE, LEVEL_QUORUM, type ConsistencyInput } from './consistency.js';
import { MAX_REPLICAS } from './state/config.js';

export type ClientApi = 'rpc' | 'http';
export type ClientOp = 'get' | 'put' | 'del' | 'batch';
/** `not_found` is a successful read of a missing key; `cancelled` a caller that gave up. */
export type ClientOutcome = 'ok' | 'not_found' | 'invalid' | 'unavailable' | 'timeout' | 'shutting_down' | 'cancelled' | 'error';

export interface ClientRequestEvent {
  readonly api: ClientApi;
  readonly op: ClientOp;
  /** DEFAULT, ONE, QUORUM, ALL, a count 1..64, or `invalid`. */
  readonly consistency: string;
  readonly outcome: ClientOutcome;
  readonly seconds: number;
  /** For a failed request, the error the client received: its code and message. */
  readonly error?: string;
}

export type ClientRequestObserver = (e: ClientRequestEvent) => void;

const NAMES = new Map<number, string>([
  [LEVEL_DEFAULT, 'DEFAULT'],
  [LEVEL_ONE, 'ONE'],
  [LEVEL_QUORUM, 'QUORUM'],
  [LEVEL_ALL, 'ALL'],
]);

/** The metric label of a request's consistency; anything unusable is `invalid` (the request fails anyway). */
export function consistencyLabel(c: ConsistencyInput): string {
  if (c === null || c === undefined) return 'DEFAULT';
  if (typeof c === 'number') return Number.isSafeInteger(c) && c >= 1 && c <= MAX_REPLICAS ? String(c) : 'invalid';
  if (typeof c === 'string') {
    const name = c.trim().toUpperCase();
    if (name === '') return 'DEFAULT';
    return [...NAMES.values()].includes(name) ? name : consistencyLabel(/^\d+$/.test(name) ? Number(name) : NaN);
  }
  const named = c.named ?? undefined;
  const count = c.count ?? undefined;
  if (named !== undefined && count !== undefined) return 'invalid';
  if (count !== undefined) return consistencyLabel(count);
  if (named !== undefined) return NAMES.get(named) ?? 'invalid';
  return 'DEFAULT';
}

const BY_STATUS = new Map<number, ClientOutcome>([
  [Status.INVALID_ARGUMENT, 'invalid'],
  [Status.UNAVAILABLE, 'unavailable'],
  [Status.WRONG_OWNER, 'unavailable'],
  [Status.OVERLOADED, 'unavailable'],
  [Status.TIMEOUT, 'timeout'],
  [Status.SHUTTING_DOWN, 'shutting_down'],
  [Status.CANCELLED, 'cancelled'],
]);

/** Whether an outcome is a failure the node's log should mention: not a success, and not a client that gave up. */
export function isFailure(outcome: ClientOutcome): boolean {
  return outcome !== 'ok' && outcome !== 'not_found' && outcome !== 'cancelled';
}

/** The outcome of a failed request, from the RPC status its error travels as (toClientRpcError's output). */
export function failureOutcome(err: unknown): ClientOutcome {
  const status = (err as { status?: unknown } | null)?.status;
  return typeof status === 'number' ? (BY_STATUS.get(status) ?? 'error') : 'error';
}
