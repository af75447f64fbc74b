/**
 * The stored record of a replica: one version of one key (value or tombstone), with its write
 * timestamp (cluster/hlc.ts), the epoch of the committed Raft state it was written under and its
 * partition. Byte layout (all integers big-endian), mirrored with a worked example in RECORD.md:
 *
 *   offset  size  field
 *   0       2     magic "RC" (52 43)
 *   2       1     version (1)
 *   3       1     flags: bit 0 = tombstone; bits 1–7 zero
 *   4       8     timestamp.physicalMs  u64 (≤ 2^53-1)
 *   12      4     timestamp.logical     u32
 *   16      8     epoch                 u64 (≤ 2^53-1)
 *   24      4     partition             u32
 *   28      1     n = node id length (1–255)
 *   29      n     timestamp.node, UTF-8
 *   29+n    4     v = value length (≤ MAX_VALUE_BYTES; 0 for a tombstone)
 *   33+n    v     value
 *   33+n+v  4     crc32c of bytes [0, 33+n+v)
 *
 * The checksum covers the record on its own: records also travel between nodes (read repair,
 * streaming) outside the engine's block checksums. Fixed fields come first so the epoch and partition
 * can be read without decoding the rest (readPlacement, used by the store's index function).
 */
import { crc32c } from '../../lsm/crc32c.js';
import { MAX_NODE_BYTES, checkTimestamp, compareTimestamps, type Timestamp } from '../hlc.js';

export interface StoredRecord {
  value: Uint8Array;
  timestamp: Timestamp;
  epoch: number;
  partition: number;
  tombstone: boolean;
}

export const RECORD_MAGIC = 0x5243; // "RC"
export const RECORD_VERSION = 1;
/** Largest value a record holds (16 MiB): a bound for decoders of bytes from disk or the network. */
export const MAX_VALUE_BYTES = 16 * 1024 * 1024;
const FLAG_TOMBSTONE = 0x01;
const HEADER_BYTES = 29; // through the node length byte
/** Smallest possible record: 1-byte node id, empty value. */
export const MIN_RECORD_BYTES = HEADER_BYTES + 1 + 4 + 4;
export const MAX_RECORD_BYTES = HEADER_BYTES + MAX_NODE_BYTES + 4 + MAX_VALUE_BYTES + 4;

/** Bytes that are not a valid stored record (bad magic, version, checksum, lengths, flags). */
export class RecordCorruptError extends Error {
  readonly code = 'RECORD_CORRUPT';
  constructor(message: string) {
    super(message);
    this.name = 'RecordCorruptError';
  }
}

/** encodeRecord was given a record that cannot be stored (bad field, value too large, tombstone with a value). */
export class RecordInvalidError extends Error {
  readonly code = 'RECORD_INVALID';
  constructor(message: string) {
    super(message);
    this.name = 'RecordInvalidError';
  }
}

const utf8 = new TextEncoder();
const utf8Strict = new TextDecoder('utf-8', { fatal: true });

function checkU(what: string, v: unknown, max: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > max) {
    throw new RecordInvalidError(`${what} must be an integer in [0, ${max}], got ${String(v)}`);
  }
  return v;
}

/**
 * encodeRecord's checks without building the bytes (a replica validates what it receives before it
 * stores it): RecordInvalidError if the record cannot be stored. Returns the checked timestamp.
 */
export function checkRecord(r: StoredRecord): Timestamp {
  if (r === null || typeof r !== 'object') throw new RecordInvalidError('record must be an object');
  let ts: Timestamp;
  try {
    ts = checkTimestamp(r.timestamp);
  } catch (err) {
    throw new RecordInvalidError((err as Error).message);
  }
  checkU('epoch', r.epoch, Number.MAX_SAFE_INTEGER);
  checkU('partition', r.partition, 0xffff_ffff);
  if (typeof r.tombstone !== 'boolean') throw new RecordInvalidError('tombstone must be a boolean');
  if (!(r.value instanceof Uint8Array)) throw new RecordInvalidError('value must be a Uint8Array');
  if (r.tombstone && r.value.length !== 0) throw new RecordInvalidError('a tombstone has an empty value');
  if (r.value.length > MAX_VALUE_BYTES) throw new RecordInvalidError(`value of ${r.value.length} bytes is over the ${MAX_VALUE_BYTES}-byte limit`);
  return ts;
}

// Most records a node encodes carry one of a few node ids (its own, as coordinator): one encoding each.
let lastNode = '';
let lastNodeBytes = new Uint8Array(0);
function nodeBytes(node: string): Uint8Array {
  if (node !== lastNode) {
    lastNodeBytes = utf8.encode(node);
    lastNode = node;
  }
  return lastNodeBytes;
}

/** The record's bytes; RecordInvalidError if a field is out of range. */
export function encodeRecord(r: StoredRecord): Buffer {
  const ts = checkRecord(r);
  const node = nodeBytes(ts.node);
  const n = node.length;
  const out = Buffer.allocUnsafe(HEADER_BYTES + n + 4 + r.value.length + 4);
  out.writeUInt16BE(RECORD_MAGIC, 0);
  out[2] = RECORD_VERSION;
  out[3] = r.tombstone ? FLAG_TOMBSTONE : 0;
  writeU64(out, ts.physicalMs, 4);
  out.writeUInt32BE(ts.logical, 12);
  writeU64(out, r.epoch, 16);
  out.writeUInt32BE(r.partition, 24);
  out[28] = n;
  out.set(node, HEADER_BYTES);
  out.writeUInt32BE(r.value.length, HEADER_BYTES + n);
  out.set(r.value, HEADER_BYTES + n + 4);
  const end = out.length - 4;
  out.writeUInt32BE(crc32c(out, 0, 0, end), end);
  return out;
}

const TWO_32 = 0x1_0000_0000;

/** A u64 (≤ 2^53-1) as two u32 halves: no BigInt on the hot path. */
function writeU64(out: Buffer, v: number, offset: number): void {
  out.writeUInt32BE(Math.floor(v / TWO_32), offset);
  out.writeUInt32BE(v >>> 0, offset + 4);
}

function readSafeU64(b: Buffer, offset: number, what: string): number {
  const hi = b.readUInt32BE(offset);
  if (hi > 0x1f_ffff) throw new RecordCorruptError(`${what} is over 2^53-1 (high word 0x${hi.toString(16)})`);
  return hi * TWO_32 + b.readUInt32BE(offset + 4);
}

function checkHeader(bytes: Uint8Array): Buffer {
  if (!(bytes instanceof Uint8Array)) throw new RecordCorruptError('a record must be bytes');
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length);
  if (b.length < MIN_RECORD_BYTES) throw new RecordCorruptError(`record of ${b.length} bytes is shorter than the ${MIN_RECORD_BYTES}-byte minimum`);
  if (b.length > MAX_RECORD_BYTES) throw new RecordCorruptError(`record of ${b.length} bytes is over the ${MAX_RECORD_BYTES}-byte limit`);
  const magic = b.readUInt16BE(0);
  if (magic !== RECORD_MAGIC) throw new RecordCorruptError(`bad record magic 0x${magic.toString(16).padStart(4, '0')}`);
  if (b[2] !== RECORD_VERSION) throw new RecordCorruptError(`unknown record version ${b[2]}`);
  return b;
}

/**
 * The record in `bytes`; RecordCorruptError for anything else, never another exception. The value is
 * a view into `bytes` (no copy). What it returns passes checkRecord and re-encodes to the same bytes,
 * so bytes it accepts may be stored as they are (ReplicaStore.apply's `encoded`).
 */
export function decodeRecord(bytes: Uint8Array): StoredRecord {
  const b = checkHeader(bytes);
  const flags = b[3]!;
  if ((flags & ~FLAG_TOMBSTONE) !== 0) throw new RecordCorruptError(`unknown record flags 0x${flags.toString(16)}`);
  const n = b[28]!;
  if (n === 0) throw new RecordCorruptError('empty node id');
  if (b.length < HEADER_BYTES + n + 8) throw new RecordCorruptError(`node id of ${n} bytes runs past the end of the record`);
  const v = b.readUInt32BE(HEADER_BYTES + n);
  // The record's length alone would let a short node id leave room for a value over the limit.
  if (v > MAX_VALUE_BYTES) throw new RecordCorruptError(`value of ${v} bytes is over the ${MAX_VALUE_BYTES}-byte limit`);
  const end = HEADER_BYTES + n + 4 + v;
  if (end + 4 !== b.length) throw new RecordCorruptError(`value length ${v} does not match the record's ${b.length} bytes`);
  const crc = b.readUInt32BE(end);
  if (crc32c(b, 0, 0, end) !== crc) throw new RecordCorruptError('record checksum mismatch');
  const tombstone = (flags & FLAG_TOMBSTONE) !== 0;
  if (tombstone && v !== 0) throw new RecordCorruptError(`tombstone with a ${v}-byte value`);
  let node: string;
  try {
    node = utf8Strict.decode(b.subarray(HEADER_BYTES, HEADER_BYTES + n));
  } catch {
    throw new RecordCorruptError('node id is not valid UTF-8');
  }
  const physicalMs = readSafeU64(b, 4, 'physicalMs');
  const epoch = readSafeU64(b, 16, 'epoch');
  return {
    value: b.subarray(HEADER_BYTES + n + 4, end),
    timestamp: { physicalMs, logical: b.readUInt32BE(12), node },
    epoch,
    partition: b.readUInt32BE(24),
    tombstone,
  };
}

/** Epoch and partition of encoded record bytes, read from the fixed header without the checksum. */
export function readPlacement(bytes: Uint8Array): { epoch: number; partition: number } {
  const b = checkHeader(bytes);
  return { epoch: readSafeU64(b, 16, 'epoch'), partition: b.readUInt32BE(24) };
}

/** A record's version without its value: what anti-entropy's Merkle trees hash. */
export interface RecordVersion {
  timestamp: Timestamp;
  tombstone: boolean;
}

/**
 * The header of encoded record bytes through the node id, bytes [0, 29 + n): what the store's
 * placement index keeps beside each entry, so a Merkle tree is built without reading the records
 * (RECORD.md, "The store's keys"). A view into `bytes`, no checksum check (the engine's blocks have theirs).
 */
export function versionBytes(bytes: Uint8Array): Uint8Array {
  const b = checkHeader(bytes);
  return b.subarray(0, HEADER_BYTES + b[28]!);
}

/** The version in versionBytes() output; RecordCorruptError for anything else, never another exception. */
export function decodeVersion(bytes: Uint8Array): RecordVersion {
  if (!(bytes instanceof Uint8Array)) throw new RecordCorruptError('a record version must be bytes');
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length);
  if (b.length < HEADER_BYTES + 1 || b.length !== HEADER_BYTES + b[HEADER_BYTES - 1]!) throw new RecordCorruptError(`record version of ${b.length} bytes does not match its node id length`);
  const magic = b.readUInt16BE(0);
  if (magic !== RECORD_MAGIC) throw new RecordCorruptError(`bad record magic 0x${magic.toString(16).padStart(4, '0')}`);
  if (b[2] !== RECORD_VERSION) throw new RecordCorruptError(`unknown record version ${b[2]}`);
  const flags = b[3]!;
  if ((flags & ~FLAG_TOMBSTONE) !== 0) throw new RecordCorruptError(`unknown record flags 0x${flags.toString(16)}`);
  let node: string;
  try {
    node = utf8Strict.decode(b.subarray(HEADER_BYTES));
  } catch {
    throw new RecordCorruptError('node id is not valid UTF-8');
  }
  return { timestamp: { physicalMs: readSafeU64(b, 4, 'physicalMs'), logical: b.readUInt32BE(12), node }, tombstone: (flags & FLAG_TOMBSTONE) !== 0 };
}

/**
 * Last-write-wins order of two versions of one key: by timestamp (cluster/hlc.ts). Equal timestamps
 * mean the same coordinator stamped both, which it never does for two different writes; should it
 * happen (a replayed write with other bytes, a bug) the order is still total and the same on every
 * node: a tombstone beats a value (a delete is never undone by a tie), then the bytewise greater value,
 * epoch and partition win. Zero only for identical records.
 */
export function compareRecords(a: StoredRecord, b: StoredRecord): number {
  const byTime = compareTimestamps(a.timestamp, b.timestamp);
  if (byTime !== 0) return byTime;
  if (a.tombstone !== b.tombstone) return a.tombstone ? 1 : -1;
  const byValue = Buffer.compare(a.value, b.value);
  if (byValue !== 0) return byValue;
  if (a.epoch !== b.epoch) return a.epoch < b.epoch ? -1 : 1;
  if (a.partition !== b.partition) return a.partition < b.partition ? -1 : 1;
  return 0;
}

/** The version a replica keeps of the two (LWW); `a` if they are identical. */
export function newer(a: StoredRecord, b: StoredRecord): StoredRecord {
  return compareRecords(a, b) >= 0 ? a : b;
}
