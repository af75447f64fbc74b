/**
 * Keys and values of the hint store (hint-store.ts) in its LSM database. Byte by byte, with a worked
 * example: cluster/hints/HINTS.md. Integers are big-endian; owners are UTF-8, 1..1024 bytes.
 *
 *   key 'm'                          → "MDSHINT\0" · version u32            (magic record)
 *   key 's'                          → next sequence number u64
 *   key 'h' · ownerLen u16 · owner · seq u64
 *                                    → keyLen u32 · key · record (the rest) (the hint)
 *   key 'o' · seq u64                → ownerLen u16 · owner · size u32      (age order, for dropping the oldest)
 *
 * 'h' keys of one owner share the prefix 'h' · ownerLen · owner and sort by seq (big-endian), so one
 * owner's hints are one range scan in insertion order; 'o' keys sort by seq alone, oldest first overall.
 */
import { HintStoreCorruptError } from './hint-errors.js';

export const MAGIC = Buffer.from('MDSHINT\0', 'latin1');
export const HINTS_VERSION = 1;
export const MAGIC_KEY = Buffer.from('m');
export const SEQ_KEY = Buffer.from('s');
const HINT_TAG = 0x68; // 'h'
const ORDER_TAG = 0x6f; // 'o'
export const MAX_OWNER_BYTES = 1024;
export const MAX_SEQ = Number.MAX_SAFE_INTEGER;

export function encodeMagic(): Buffer {
  const b = Buffer.alloc(MAGIC.length + 4);
  MAGIC.copy(b, 0);
  b.writeUInt32BE(HINTS_VERSION, MAGIC.length);
  return b;
}

/** The version of a magic record; throws HintStoreCorruptError if it is not one. */
export function decodeMagic(dir: string, b: Uint8Array): number {
  const buf = Buffer.from(b.buffer, b.byteOffset, b.byteLength);
  if (buf.length !== MAGIC.length + 4 || !buf.subarray(0, MAGIC.length).equals(MAGIC)) {
    throw new HintStoreCorruptError(dir, 'the magic record is not "MDSHINT\\0" · version');
  }
  return buf.readUInt32BE(MAGIC.length);
}

export function encodeU64(n: number): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigUInt64BE(BigInt(n));
  return b;
}

export function decodeU64(dir: string, what: string, b: Uint8Array, offset = 0): number {
  if (b.length < offset + 8) throw new HintStoreCorruptError(dir, `${what}: truncated u64`);
  const v = Buffer.from(b.buffer, b.byteOffset, b.byteLength).readBigUInt64BE(offset);
  if (v > BigInt(MAX_SEQ)) throw new HintStoreCorruptError(dir, `${what}: ${v} is above 2^53 - 1`);
  return Number(v);
}

/** 'h' · ownerLen u16 · owner: the prefix of every hint key of one owner. */
export function ownerPrefix(owner: Buffer): Buffer {
  const b = Buffer.alloc(3 + owner.length);
  b[0] = HINT_TAG;
  b.writeUInt16BE(owner.length, 1);
  owner.copy(b, 3);
  return b;
}

export function hintKey(owner: Buffer, seq: number): Buffer {
  return Buffer.concat([ownerPrefix(owner), encodeU64(seq)]);
}

/** The range of one owner's hint keys (every seq). */
export function ownerRange(owner: Buffer): { gte: Buffer; lte: Buffer } {
  const prefix = ownerPrefix(owner);
  return { gte: Buffer.concat([prefix, Buffer.alloc(8, 0)]), lte: Buffer.concat([prefix, Buffer.alloc(8, 0xff)]) };
}

export function encodeHintValue(key: Uint8Array, record: Uint8Array): Buffer {
  const b = Buffer.alloc(4 + key.length + record.length);
  b.writeUInt32BE(key.length, 0);
  b.set(key, 4);
  b.set(record, 4 + key.length);
  return b;
}

export function decodeHintValue(dir: string, v: Buffer): { key: Buffer; record: Buffer } {
  if (v.length < 4) throw new HintStoreCorruptError(dir, 'hint value shorter than its key length');
  const keyLen = v.readUInt32BE(0);
  if (v.length < 4 + keyLen) throw new HintStoreCorruptError(dir, 'hint value shorter than its key');
  return { key: v.subarray(4, 4 + keyLen), record: v.subarray(4 + keyLen) };
}

/** The seq of a hint key of a known owner. */
export function decodeHintKeySeq(dir: string, owner: Buffer, k: Buffer): number {
  if (k.length !== 3 + owner.length + 8 || !k.subarray(0, 3 + owner.length).equals(ownerPrefix(owner))) {
    throw new HintStoreCorruptError(dir, `bad hint key ${k.toString('hex')}`);
  }
  return decodeU64(dir, 'hint key', k, 3 + owner.length);
}

export const ORDER_PREFIX = Buffer.from([ORDER_TAG]);

export function orderKey(seq: number): Buffer {
  return Buffer.concat([ORDER_PREFIX, encodeU64(seq)]);
}

/** The range of every order key. */
export const ORDER_RANGE = { gte: orderKey(0), lte: Buffer.concat([ORDER_PREFIX, Buffer.alloc(8, 0xff)]) };

export function encodeOrderValue(owner: Buffer, size: number): Buffer {
  const b = Buffer.alloc(2 + owner.length + 4);
  b.writeUInt16BE(owner.length, 0);
  owner.copy(b, 2);
  b.writeUInt32BE(size, 2 + owner.length);
  return b;
}

export interface OrderEntry {
  readonly seq: number;
  readonly owner: string;
  readonly size: number;
}

export function decodeOrder(dir: string, k: Buffer, v: Buffer): OrderEntry {
  if (k.length !== 9 || k[0] !== ORDER_TAG) throw new HintStoreCorruptError(dir, `bad order key ${k.toString('hex')}`);
  const seq = decodeU64(dir, 'order key', k, 1);
  if (v.length < 2) throw new HintStoreCorruptError(dir, `order entry ${seq}: truncated`);
  const ownerLen = v.readUInt16BE(0);
  if (ownerLen === 0 || ownerLen > MAX_OWNER_BYTES || v.length !== 2 + ownerLen + 4) {
    throw new HintStoreCorruptError(dir, `order entry ${seq}: bad owner length ${ownerLen}`);
  }
  return { seq, owner: v.toString('utf8', 2, 2 + ownerLen), size: v.readUInt32BE(2 + ownerLen) };
}

/** Bytes a hint occupies as accounted against the store's bound: both of its entries, keys and values. */
export function hintSize(ownerBytes: number, keyBytes: number, recordBytes: number): number {
  const hint = 3 + ownerBytes + 8 + 4 + keyBytes + recordBytes;
  const order = 9 + 2 + ownerBytes + 4;
  return hint + order;
}
