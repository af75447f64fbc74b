/**
 * Hybrid logical clock (Kulkarni et al., "Logical Physical Clocks", 2014): the version stamp of every
 * write. A timestamp is (physicalMs, logical, node):
 *  - physicalMs follows the wall clock when it moves forward, so timestamps stay close to real time
 *    (tombstone grace periods are measured on it);
 *  - logical orders events within one millisecond, and keeps timestamps increasing while the wall clock
 *    stands still or jumps backwards (NTP step, VM migration): the clock never reads lower than the last
 *    timestamp it gave out;
 *  - node (the coordinator's id) breaks the remaining ties, so two coordinators that stamp writes of one
 *    key in the same (physicalMs, logical) still order them, and every replica picks the same winner.
 *
 * update(remote) on receiving a message makes its result greater than both the remote timestamp and
 * every earlier local one: happens-before is preserved across nodes (send < receive).
 *
 * Why a forward-drift bound. Without one, a single peer with a clock set years ahead (or one corrupt
 * message) would drag every node's clock forward for good: physicalMs would stop meaning real time,
 * tombstones would outlive or undershoot their grace period, and writes stamped by correctly clocked
 * nodes afterwards would still be ordered by the poisoned value. update() refuses a remote timestamp
 * more than maxForwardDriftMs ahead of our own wall clock with HlcClockDriftError and leaves the clock
 * as it was (CockroachDB's max-offset check does the same).
 *
 * Pure: the wall clock is injected; no I/O.
 */

/** A write's version: total order by physicalMs, then logical, then node id bytewise (UTF-8). */
export interface Timestamp {
  physicalMs: number;
  logical: number;
  node: string;
}

/** Largest physicalMs: timestamps are stored as u64 but must stay exact JavaScript numbers. */
export const MAX_PHYSICAL_MS = Number.MAX_SAFE_INTEGER;
/** Largest logical counter (u32 in the record format); one more bumps physicalMs instead. */
export const MAX_LOGICAL = 0xffff_ffff;
/** Node ids are 1–255 bytes of UTF-8 (a u8 length in the record format). */
export const MAX_NODE_BYTES = 255;
/** Default bound on how far ahead of our wall clock a remote timestamp may be. */
export const DEFAULT_MAX_FORWARD_DRIFT_MS = 60_000;

/** A timestamp or wall-clock reading that is not valid (not an integer in range, bad node id). */
export class HlcTimestampError extends Error {
  readonly code = 'HLC_BAD_TIMESTAMP';
  constructor(message: string) {
    super(message);
    this.name = 'HlcTimestampError';
  }
}

/** update() got a remote timestamp too far ahead of our wall clock; the clock is unchanged. */
export class HlcClockDriftError extends Error {
  readonly code = 'HLC_CLOCK_DRIFT';
  constructor(
    readonly remote: Timestamp,
    readonly localWallMs: number,
    readonly maxForwardDriftMs: number,
  ) {
    super(
      `remote timestamp from ${remote.node} is ${remote.physicalMs - localWallMs} ms ahead of our clock ` +
        `(limit ${maxForwardDriftMs} ms): check NTP on both nodes`,
    );
    this.name = 'HlcClockDriftError';
  }
}

const utf8 = new TextEncoder();

/** Bytewise comparison of two node ids' UTF-8 (not JavaScript's UTF-16 order, which differs above U+D7FF). */
function compareNodes(a: string, b: string): number {
  if (a === b) return 0;
  return Buffer.compare(utf8.encode(a), utf8.encode(b));
}

/** Negative, zero or positive as a is older than, equal to or newer than b; the same on every node. */
export function compareTimestamps(a: Timestamp, b: Timestamp): number {
  if (a.physicalMs !== b.physicalMs) return a.physicalMs < b.physicalMs ? -1 : 1;
  if (a.logical !== b.logical) return a.logical < b.logical ? -1 : 1;
  return compareNodes(a.node, b.node);
}

/** Throws HlcTimestampError unless t is a well-formed timestamp. Returns t. */
export function checkTimestamp(t: unknown, what = 'timestamp'): Timestamp {
  if (t === null || typeof t !== 'object') throw new HlcTimestampError(`${what} must be an object`);
  const { physicalMs, logical, node } = t as Record<string, unknown>;
  if (typeof physicalMs !== 'number' || !Number.isSafeInteger(physicalMs) || physicalMs < 0) {
    throw new HlcTimestampError(`${what}.physicalMs must be an integer in [0, 2^53-1], got ${String(physicalMs)}`);
  }
  if (typeof logical !== 'number' || !Number.isInteger(logical) || logical < 0 || logical > MAX_LOGICAL) {
    throw new HlcTimestampError(`${what}.logical must be an integer in [0, ${MAX_LOGICAL}], got ${String(logical)}`);
  }
  checkNodeId(node, `${what}.node`);
  return t as Timestamp;
}

function checkNodeId(node: unknown, what: string): string {
  if (typeof node !== 'string' || node.length === 0) throw new HlcTimestampError(`${what} must be a non-empty string`);
  if (node.length * 3 <= MAX_NODE_BYTES) return node; // a UTF-16 unit is at most 3 bytes of UTF-8: no need to count
  const bytes = Buffer.byteLength(node, 'utf8');
  if (bytes > MAX_NODE_BYTES) throw new HlcTimestampError(`${what} is ${bytes} bytes of UTF-8, over the ${MAX_NODE_BYTES} limit`);
  return node;
}

export interface HybridClockOptions {
  /** Refuse remote timestamps more than this far ahead of our wall clock (default 60 s). */
  maxForwardDriftMs?: number;
}

export class HybridClock {
  private readonly maxForwardDriftMs: number;
  /** The last timestamp given out (physical -1: none yet, so the first reading is taken as is). */
  private lastPhysical = -1;
  private lastLogical = 0;

  constructor(
    readonly node: string,
    private readonly wall: () => number,
    options: HybridClockOptions = {},
  ) {
    checkNodeId(node, 'node');
    if (typeof wall !== 'function') throw new HlcTimestampError('now must be a function returning milliseconds');
    const drift = options.maxForwardDriftMs ?? DEFAULT_MAX_FORWARD_DRIFT_MS;
    if (typeof drift !== 'number' || Number.isNaN(drift) || drift < 0) {
      throw new HlcTimestampError(`maxForwardDriftMs must be a number >= 0, got ${String(drift)}`);
    }
    this.maxForwardDriftMs = drift;
  }

  /** The last timestamp given out, or undefined before the first. */
  get last(): Timestamp | undefined {
    return this.lastPhysical < 0 ? undefined : { physicalMs: this.lastPhysical, logical: this.lastLogical, node: this.node };
  }

  /** A timestamp for a local event (a write this node coordinates): greater than every earlier one. */
  now(): Timestamp {
    const pt = this.readWall();
    if (pt > this.lastPhysical) return this.advance(pt, 0);
    return this.advance(this.lastPhysical, this.lastLogical + 1);
  }

  /**
   * A timestamp for receiving `remote`: greater than remote and than every earlier local timestamp.
   * Throws HlcTimestampError for a malformed remote, HlcClockDriftError if it is too far ahead; in
   * both cases the clock is unchanged.
   */
  update(remote: Timestamp): Timestamp {
    checkTimestamp(remote, 'remote timestamp');
    const pt = this.readWall();
    if (remote.physicalMs - pt > this.maxForwardDriftMs) throw new HlcClockDriftError(remote, pt, this.maxForwardDriftMs);
    const l = Math.max(this.lastPhysical, remote.physicalMs, pt);
    let c: number;
    if (l === this.lastPhysical && l === remote.physicalMs) c = Math.max(this.lastLogical, remote.logical) + 1;
    else if (l === this.lastPhysical) c = this.lastLogical + 1;
    else if (l === remote.physicalMs) c = remote.logical + 1;
    else c = 0;
    return this.advance(l, c);
  }

  /** Records (physical, logical) as the last timestamp; a counter past MAX_LOGICAL moves to the next ms. */
  private advance(physical: number, logical: number): Timestamp {
    if (logical > MAX_LOGICAL) {
      physical += 1;
      logical = 0;
    }
    if (physical > MAX_PHYSICAL_MS) throw new HlcTimestampError('hybrid clock overflow: physical time past 2^53-1 ms');
    this.lastPhysical = physical;
    this.lastLogical = logical;
    return { physicalMs: physical, logical, node: this.node };
  }

  private readWall(): number {
    const raw = this.wall();
    if (typeof raw !== 'number' || !Number.isFinite(raw) || raw < 0 || raw > MAX_PHYSICAL_MS) {
      throw new HlcTimestampError(`the wall clock returned ${String(raw)}, not milliseconds in [0, 2^53-1]`);
    }
    return Math.floor(raw);
  }
}
