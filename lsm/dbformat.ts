/**
 * Internal keys: what the memtable, the WAL replay and the tables actually order.
 *
 *   internal key = user key ‖ trailer (8 bytes, little-endian uint64)
 *   trailer      = (sequence << 8) | kind          kind 0 = deletion, 1 = value
 *
 * So byte 0 of the trailer is the kind and bytes 1..7 are the sequence, little-endian. The format allows
 * sequences below 2^56; this implementation keeps them in JavaScript numbers and therefore below 2^53
 * (MAX_SEQUENCE) — at a million writes a second that is 285 years. A trailer carrying a larger sequence
 * is refused as corruption rather than silently rounded.
 *
 * Order: user key ascending (user comparator), then sequence descending, then kind descending — the
 * newest version of a key comes first, so a seek to (key, snapshot) lands on the newest visible version.
 */
import type { Comparator } from './comparator.js';
import { bytewiseComparator, compareByteRanges } from './comparator.js';
import { getFixed32, putFixed32 } from './coding.js';
import { CorruptionError, InvalidArgumentError } from './errors.js';

export const KIND_DELETION = 0;
export const KIND_VALUE = 1;
export type ValueKind = typeof KIND_DELETION | typeof KIND_VALUE;
/** Seeks use the highest kind: with sequence descending then kind descending, it sorts first. */
export const KIND_FOR_SEEK: ValueKind = KIND_VALUE;

export const TRAILER_SIZE = 8;
/** The largest sequence number this implementation uses (2^53 - 1; the format allows 2^56 - 1). */
export const MAX_SEQUENCE = Number.MAX_SAFE_INTEGER;

/** A decoded internal key. userKey is a view into the parsed buffer. */
export interface ParsedInternalKey {
  userKey: Uint8Array;
  sequence: number;
  kind: ValueKind;
}

/** Writes the trailer at buf[pos..pos+8). seq must be an integer in [0, MAX_SEQUENCE]. */
export function putTrailer(buf: Uint8Array, pos: number, seq: number, kind: ValueKind): void {
  // (seq << 8 | kind) as LE uint64: byte 0 = kind, bytes 1..7 = seq as a 56-bit LE integer.
  buf[pos] = kind;
  const lo = seq >>> 0;
  const hi = Math.floor(seq / 0x100000000);
  putFixed32(buf, pos + 1, lo);
  buf[pos + 5] = hi & 0xff;
  buf[pos + 6] = (hi >>> 8) & 0xff;
  buf[pos + 7] = (hi >>> 16) & 0xff;
}

function checkSequence(seq: number): void {
  if (!Number.isInteger(seq) || seq < 0 || seq > MAX_SEQUENCE) {
    throw new InvalidArgumentError(`sequence number out of range: ${seq}`);
  }
}

/** userKey ‖ trailer(seq, kind), a new Buffer. */
export function makeInternalKey(userKey: Uint8Array, seq: number, kind: ValueKind): Buffer {
  checkSequence(seq);
  const out = Buffer.allocUnsafe(userKey.length + TRAILER_SIZE);
  out.set(userKey, 0);
  putTrailer(out, userKey.length, seq, kind);
  return out;
}

/**
 * The key to seek to for reading userKey as of snapshotSeq: it sorts before every version of userKey
 * with sequence <= snapshotSeq and after every newer one.
 */
export function makeLookupKey(userKey: Uint8Array, snapshotSeq: number): Buffer {
  return makeInternalKey(userKey, snapshotSeq, KIND_FOR_SEEK);
}

/** The sequence stored in the trailer ending at `end` (no validation: for already-validated keys). */
export function trailerSequence(buf: Uint8Array, end: number): number {
  const p = end - TRAILER_SIZE;
  const lo = getFixed32(buf, p + 1);
  const hi = buf[p + 5]! | (buf[p + 6]! << 8) | (buf[p + 7]! << 16);
  return hi * 0x100000000 + lo;
}

/** The kind byte of the trailer ending at `end`. */
export function trailerKind(buf: Uint8Array, end: number): number {
  return buf[end - TRAILER_SIZE]!;
}

/** Decodes and validates an internal key; throws CorruptionError if it is too short or malformed. */
export function parseInternalKey(ikey: Uint8Array): ParsedInternalKey {
  validateInternalKey(ikey);
  return { userKey: ikey.subarray(0, ikey.length - TRAILER_SIZE), sequence: trailerSequence(ikey, ikey.length), kind: trailerKind(ikey, ikey.length) as ValueKind };
}

/** parseInternalKey()'s checks without building anything (the compaction loop's per-entry check). */
export function validateInternalKey(ikey: Uint8Array): void {
  if (ikey.length < TRAILER_SIZE) throw new CorruptionError(`internal key too short (${ikey.length} bytes)`);
  const kind = trailerKind(ikey, ikey.length);
  if (kind !== KIND_DELETION && kind !== KIND_VALUE) throw new CorruptionError(`bad value kind ${kind}`);
  const sequence = trailerSequence(ikey, ikey.length);
  if (sequence > MAX_SEQUENCE) throw new CorruptionError(`sequence number above 2^53: ${sequence}`);
}

/** Length of an internal key's user key: the tables' filter key (TableOptions.filterKeyLength). */
export const userKeyLength = (ikey: Uint8Array): number => ikey.length - TRAILER_SIZE;

/** The user-key part of an internal key (a view). Throws CorruptionError if the key is too short. */
export function extractUserKey(ikey: Uint8Array): Uint8Array {
  if (ikey.length < TRAILER_SIZE) throw new CorruptionError(`internal key too short (${ikey.length} bytes)`);
  return ikey.subarray(0, ikey.length - TRAILER_SIZE);
}

/**
 * Orders internal keys. Also offers compareRange() on sub-ranges of larger buffers, which the memtable
 * uses to compare keys in its arena without creating views (through the user comparator's own
 * compareRange when it has one, as the bytewise comparator does). Keys must be at least 8 bytes long (they
 * are validated where they enter from disk); shorter ones give an unspecified order.
 */
export class InternalKeyComparator implements Comparator {
  readonly name = 'mydatastore.InternalKeyComparator';
  private readonly userRange: Comparator['compareRange'];
  /** The default user order: compared by a direct call the JIT can inline (the memtable's hot loop). */
  private readonly bytewise: boolean;

  constructor(readonly user: Comparator = bytewiseComparator) {
    this.userRange = user.compareRange?.bind(user);
    this.bytewise = user === bytewiseComparator;
  }

  compare(a: Uint8Array, b: Uint8Array): number {
    return this.compareRange(a, 0, a.length, b, 0, b.length);
  }

  /** Compares the internal keys a[as, ae) and b[bs, be). */
  compareRange(a: Uint8Array, as: number, ae: number, b: Uint8Array, bs: number, be: number): number {
    const c = this.compareUserRange(a, as, ae - TRAILER_SIZE, b, bs, be - TRAILER_SIZE);
    if (c !== 0) return c;
    // Trailers as uint64, descending: compare high words, then low words.
    const ah = getFixed32(a, ae - 4);
    const bh = getFixed32(b, be - 4);
    if (ah !== bh) return ah > bh ? -1 : 1;
    const al = getFixed32(a, ae - 8);
    const bl = getFixed32(b, be - 8);
    if (al !== bl) return al > bl ? -1 : 1;
    return 0;
  }

  /** Compares user keys a[as, ae) and b[bs, be) with the user comparator (without views if it can). */
  compareUserRange(a: Uint8Array, as: number, ae: number, b: Uint8Array, bs: number, be: number): number {
    if (this.bytewise) return compareByteRanges(a, as, ae, b, bs, be);
    if (this.userRange !== undefined) return this.userRange(a, as, ae, b, bs, be);
    return this.user.compare(a.subarray(as, ae), b.subarray(bs, be));
  }
}
