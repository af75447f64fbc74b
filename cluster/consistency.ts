/**
 * Consistency levels: how many replicas must answer a read (R) or acknowledge a write (W).
 *
 * A request names its consistency as `proto/client.proto`'s `Consistency` (a named `Level` or a count),
 * or, from the TypeScript client and the HTTP API, as a number or a level name. `resolveConsistency`
 * turns any of them into a replica count against the replication factor N and the cluster's configured
 * default (N = 3, R = 2, W = 2 unless the committed configuration says otherwise):
 *
 *   DEFAULT / unset → the configured default (itself checked against N)
 *   ONE             → 1
 *   QUORUM          → floor(N/2) + 1 (a majority: any read quorum meets any write quorum when R + W > N)
 *   ALL             → N, the key's N preference-list owners. ALL means every *owner*: a write a stand-in
 *                     took for a down owner (hinted handoff) counts toward W only under a sloppy quorum,
 *                     so with the default (strict) quorum ALL fails while any owner is down — which is
 *                     what a client asking for ALL wants to learn.
 *   a count k       → k, when 1 ≤ k ≤ N
 *
 * N here is the key's replica count: the configured replication factor capped by the number of members
 * (`Ring.replicas`). Anything else — 0, a count above N, a negative or fractional number, an unknown
 * name or enum value, both oneof fields set — is refused with `ConsistencyError`
 * (`CLUSTER_BAD_CONSISTENCY`), which the server maps to `INVALID_ARGUMENT`. Pure: no I/O.
 */
import type { mydatastore } from '../proto/gen/messages.js';

/** Level numbers of `mydatastore.client.Level` (client.proto); test/cluster/consistency.test.ts checks they match. */
export const LEVEL_DEFAULT = 0;
export const LEVEL_ONE = 1;
export const LEVEL_QUORUM = 2;
export const LEVEL_ALL = 3;

export type LevelName = 'DEFAULT' | 'ONE' | 'QUORUM' | 'ALL';

/** What a request may carry: the protobuf message, a count, a level name, or nothing (= DEFAULT). */
export type ConsistencyInput = mydatastore.client.Consistency.$Properties | number | string | null | undefined;

/** A consistency that does not fit the request or the cluster; maps to INVALID_ARGUMENT. */
export class ConsistencyError extends Error {
  readonly code = 'CLUSTER_BAD_CONSISTENCY';
  constructor(message: string) {
    super(message);
    this.name = 'ConsistencyError';
  }
}

export function quorumOf(n: number): number {
  return Math.floor(n / 2) + 1;
}

function checkN(n: number): void {
  if (!Number.isSafeInteger(n) || n < 1) throw new ConsistencyError(`replication factor N must be a positive integer, got ${String(n)}`);
}

function checkCount(what: string, k: number, n: number): number {
  if (!Number.isSafeInteger(k)) throw new ConsistencyError(`${what} must be an integer, got ${String(k)}`);
  if (k < 1) throw new ConsistencyError(`${what} must be at least 1, got ${k}`);
  if (k > n) throw new ConsistencyError(`${what} is ${k} but only N=${n} replicas hold a key`);
  return k;
}

function ofLevel(level: number, n: number, dflt: number, what: string): number {
  switch (level) {
    case LEVEL_DEFAULT:
      return checkCount(`default ${what}`, dflt, n);
    case LEVEL_ONE:
      return 1;
    case LEVEL_QUORUM:
      return quorumOf(n);
    case LEVEL_ALL:
      return n;
    default:
      throw new ConsistencyError(`unknown consistency level ${String(level)}`);
  }
}

const NAMES: Readonly<Record<string, number>> = { DEFAULT: LEVEL_DEFAULT, ONE: LEVEL_ONE, QUORUM: LEVEL_QUORUM, ALL: LEVEL_ALL };

/** A level name (case-insensitive) or a decimal count, as given on the command line or in a URL. */
function ofString(s: string, n: number, dflt: number, what: string): number {
  const level = NAMES[s.trim().toUpperCase()];
  if (level !== undefined) return ofLevel(level, n, dflt, what);
  if (/^\s*-?\d+\s*$/.test(s)) return checkCount(what, Number(s), n);
  throw new ConsistencyError(`unknown consistency ${JSON.stringify(s)} (expected ONE, QUORUM, ALL, DEFAULT or a count)`);
}

/**
 * The replica count a request needs. `what` names it in error messages ('R' or 'W'); `dflt` is the
 * configured default for this kind of request.
 */
export function resolveConsistency(input: ConsistencyInput, n: number, dflt: number, what = 'consistency'): number {
  checkN(n);
  if (input === undefined || input === null) return ofLevel(LEVEL_DEFAULT, n, dflt, what);
  if (typeof input === 'number') return checkCount(what, input, n);
  if (typeof input === 'string') return ofString(input, n, dflt, what);
  if (typeof input !== 'object') throw new ConsistencyError(`${what} must be a Consistency message, a number or a level name`);
  const named = input.named ?? undefined;
  const count = input.count ?? undefined;
  if (named !== undefined && count !== undefined) throw new ConsistencyError(`${what}: set a named level or a count, not both`);
  if (input.level === 'count' || (input.level === undefined && count !== undefined)) {
    if (count === undefined) throw new ConsistencyError(`${what}: level 'count' without a count`);
    return checkCount(what, count, n);
  }
  if (named === undefined) return ofLevel(LEVEL_DEFAULT, n, dflt, what);
  return ofLevel(named, n, dflt, what);
}

export interface ConsistencyDefaults {
  readonly n: number;
  readonly r: number;
  readonly w: number;
}

/** Checks a configuration's defaults (R and W in 1..N); returns them unchanged. */
export function checkDefaults(d: ConsistencyDefaults): ConsistencyDefaults {
  checkN(d.n);
  checkCount('default R', d.r, d.n);
  checkCount('default W', d.w, d.n);
  return d;
}

/**
 * R and W of one request against N (the key's replica count) and the configured defaults. A default is
 * capped by N, so a cluster with fewer members than the configured N still serves default requests; an
 * explicit count above N is refused.
 */
export function resolveRead(input: ConsistencyInput, n: number, defaults: Pick<ConsistencyDefaults, 'r'>): number {
  return resolveConsistency(input, n, Math.min(defaults.r, n), 'R');
}

export function resolveWrite(input: ConsistencyInput, n: number, defaults: Pick<ConsistencyDefaults, 'w'>): number {
  return resolveConsistency(input, n, Math.min(defaults.w, n), 'W');
}
