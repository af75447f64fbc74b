/**
 * Keys and values of the Raft storage (storage.ts) in its LSM database. Layout (STORAGE.md mirrors it):
 *
 *   key                      value
 *   'm'                      magic "MDSRAFT\0" (8 bytes) · version u32 BE (= 1)
 *   'h'                      term u64 BE · commit u64 BE · vote: len u16 BE · UTF-8 bytes
 *   's'                      index u64 BE · term u64 BE · voters · learners · data: len u32 BE · bytes
 *                            (voters, learners: count u32 BE, then each id as len u16 BE · UTF-8)
 *   'e' · index u64 BE       term u64 BE · type u8 (0 normal, 1 conf) · data (the rest of the value)
 *
 * Entry keys sort by index because the index is big-endian. Worked example — entry 5 of term 2, a
 * 'normal' entry with data 0xAB: key 65 00 00 00 00 00 00 00 05, value 00 00 00 00 00 00 00 02 00 AB.
 */
import { RaftStorageWriteError } from './storage-errors.js';
import type { ConfState, Entry, HardState, Snapshot } from './types.js';

export const META_KEY = Buffer.from('m', 'latin1');
export const HARD_STATE_KEY = Buffer.from('h', 'latin1');
export const SNAPSHOT_KEY = Buffer.from('s', 'latin1');
export const ENTRY_PREFIX = 0x65; // 'e'
export const MAGIC = Buffer.from('MDSRAFT\0', 'latin1');
export const STORAGE_VERSION = 1;
/** Longest node id stored (a vote or a ConfState member). */
export const MAX_ID_BYTES = 1024;

/** Thrown by the decoders below; storage.ts turns it into its corruption error with the key. */
export class FormatError extends Error {}

class Reader {
  private p = 0;
  constructor(private readonly b: Buffer) {}
  need(n: number, what: string): void {
    if (this.p + n > this.b.length) throw new FormatError(`${what} runs past the end of the value`);
  }
  u8(what: string): number {
    this.need(1, what);
    return this.b[this.p++]!;
  }
  u16(what: string): number {
    this.need(2, what);
    const v = this.b.readUInt16BE(this.p);
    this.p += 2;
    return v;
  }
  u32(what: string): number {
    this.need(4, what);
    const v = this.b.readUInt32BE(this.p);
    this.p += 4;
    return v;
  }
  u64(what: string): number {
    this.need(8, what);
    const v = this.b.readBigUInt64BE(this.p);
    this.p += 8;
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new FormatError(`${what} exceeds 2^53 - 1`);
    return Number(v);
  }
  bytes(n: number, what: string): Buffer {
    this.need(n, what);
    const v = this.b.subarray(this.p, this.p + n);
    this.p += n;
    return v;
  }
  id(what: string): string {
    const n = this.u16(what);
    if (n > MAX_ID_BYTES) throw new FormatError(`${what} longer than ${MAX_ID_BYTES} bytes`);
    return this.bytes(n, what).toString('utf8');
  }
  rest(): Buffer {
    const v = this.b.subarray(this.p);
    this.p = this.b.length;
    return v;
  }
  end(what: string): void {
    if (this.p !== this.b.length) throw new FormatError(`${this.b.length - this.p} trailing bytes after ${what}`);
  }
}

function u64(n: number): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigUInt64BE(BigInt(n));
  return b;
}

function id(s: string): Buffer {
  const b = Buffer.from(s, 'utf8');
  if (b.length > MAX_ID_BYTES) throw new RaftStorageWriteError(`node id longer than ${MAX_ID_BYTES} bytes`);
  const len = Buffer.alloc(2);
  len.writeUInt16BE(b.length);
  return Buffer.concat([len, b]);
}

function ids(list: readonly string[]): Buffer {
  const count = Buffer.alloc(4);
  count.writeUInt32BE(list.length);
  return Buffer.concat([count, ...list.map(id)]);
}

export function encodeMeta(): Buffer {
  const v = Buffer.alloc(4);
  v.writeUInt32BE(STORAGE_VERSION);
  return Buffer.concat([MAGIC, v]);
}

/** The version in a meta value, or a FormatError when the magic is wrong. */
export function decodeMetaVersion(b: Buffer): number {
  if (b.length !== MAGIC.length + 4 || !b.subarray(0, MAGIC.length).equals(MAGIC)) throw new FormatError('bad magic record');
  return b.readUInt32BE(MAGIC.length);
}

export function entryKey(index: number): Buffer {
  const k = Buffer.alloc(9);
  k[0] = ENTRY_PREFIX;
  k.writeBigUInt64BE(BigInt(index), 1);
  return k;
}

/** The index of an entry key, or undefined when the key is not an entry key. */
export function entryIndexOf(key: Buffer): number | undefined {
  if (key.length !== 9 || key[0] !== ENTRY_PREFIX) return undefined;
  const v = key.readBigUInt64BE(1);
  return v > BigInt(Number.MAX_SAFE_INTEGER) ? undefined : Number(v);
}

export function encodeEntry(e: Entry): Buffer {
  return Buffer.concat([u64(e.term), Buffer.of(e.type === 'conf' ? 1 : 0), e.data]);
}

export function decodeEntry(index: number, b: Buffer): Entry {
  const r = new Reader(b);
  const term = r.u64('entry term');
  const t = r.u8('entry type');
  if (t > 1) throw new FormatError(`unknown entry type ${t}`);
  return { index, term, type: t === 1 ? 'conf' : 'normal', data: Uint8Array.from(r.rest()) };
}

export function encodeHardState(h: HardState): Buffer {
  return Buffer.concat([u64(h.term), u64(h.commit), id(h.vote)]);
}

export function decodeHardState(b: Buffer): HardState {
  const r = new Reader(b);
  const term = r.u64('term');
  const commit = r.u64('commit');
  const vote = r.id('vote');
  r.end('hard state');
  return { term, vote, commit };
}

export function encodeSnapshot(s: Snapshot): Buffer {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(s.data.length);
  return Buffer.concat([u64(s.index), u64(s.term), ids(s.conf.voters), ids(s.conf.learners), len, s.data]);
}

function readIds(r: Reader, what: string): string[] {
  const n = r.u32(`${what} count`);
  r.need(n * 2, what); // each id takes at least its 2-byte length: bounds n before allocating
  return Array.from({ length: n }, () => r.id(what));
}

export function decodeSnapshot(b: Buffer): Snapshot {
  const r = new Reader(b);
  const index = r.u64('snapshot index');
  const term = r.u64('snapshot term');
  const conf: ConfState = { voters: readIds(r, 'voters'), learners: readIds(r, 'learners') };
  const data = Uint8Array.from(r.bytes(r.u32('snapshot data length'), 'snapshot data'));
  r.end('snapshot');
  return { index, term, conf, data };
}
