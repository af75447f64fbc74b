/**
 * A write batch: puts and deletes applied atomically. It is kept in its encoded form, which is also the
 * payload of one WAL record, so committing a batch costs no re-encoding:
 *
 *   sequence  fixed64 LE   sequence number of the first entry (entry i gets sequence + i)
 *   count     fixed32 LE   number of entries
 *   entries   count times: kind u8 (1 = put, 0 = delete) ‖ varint key length ‖ key
 *                          ‖ (puts only) varint value length ‖ value
 *
 * Byte-by-byte example in lsm/FORMAT.md ("Write batch").
 */
import { getFixed32, getFixed64, getVarint, putFixed32, putFixed64, putVarint, varintLength } from './coding.js';
import { KIND_DELETION, KIND_VALUE, MAX_SEQUENCE } from './dbformat.js';
import { CorruptionError, InvalidArgumentError } from './errors.js';

export const BATCH_HEADER_SIZE = 12;
const MAX_COUNT = 0xffffffff;

/** Receives a batch's entries in order (an interface rather than closures: replay is a hot loop). */
export interface WriteBatchHandler {
  put(key: Uint8Array, value: Uint8Array): void;
  del(key: Uint8Array): void;
}

/** The same as ranges of the batch's buffer: rep[keyStart, keyEnd), rep[valueStart, valueEnd). No views. */
export interface WriteBatchRangeHandler {
  putRange(rep: Uint8Array, keyStart: number, keyEnd: number, valueStart: number, valueEnd: number): void;
  delRange(rep: Uint8Array, keyStart: number, keyEnd: number): void;
}

/** One entry of a batch, for convenient (non-hot) iteration. Key and value are views into the batch. */
export type WriteBatchEntry =
  | { kind: typeof KIND_VALUE; key: Uint8Array; value: Uint8Array }
  | { kind: typeof KIND_DELETION; key: Uint8Array };

export class WriteBatch {
  private rep: Buffer;
  private len = BATCH_HEADER_SIZE;

  constructor(initialCapacity = 256) {
    // Unpooled zeroed memory per batch cost more than the entries' encoding; only the header needs zeros.
    this.rep = Buffer.allocUnsafe(Math.max(initialCapacity, BATCH_HEADER_SIZE));
    this.rep.fill(0, 0, BATCH_HEADER_SIZE);
  }

  /**
   * Wraps an encoded batch (a WAL record payload) after validating all of it; throws CorruptionError on
   * any inconsistency. The batch takes the buffer over: keys and values it yields are views into it.
   */
  static decode(data: Uint8Array): WriteBatch {
    validate(data);
    const b = new WriteBatch(0);
    b.rep = Buffer.from(data.buffer, data.byteOffset, data.length);
    b.len = data.length;
    return b;
  }

  put(key: Uint8Array, value: Uint8Array): this {
    this.checkCount();
    const need = 1 + varintLength(key.length) + key.length + varintLength(value.length) + value.length;
    this.reserve(need);
    const rep = this.rep;
    let p = this.len;
    rep[p++] = KIND_VALUE;
    p = putVarint(rep, p, key.length);
    rep.set(key, p);
    p += key.length;
    p = putVarint(rep, p, value.length);
    rep.set(value, p);
    this.len = p + value.length;
    putFixed32(rep, 8, this.count() + 1);
    return this;
  }

  del(key: Uint8Array): this {
    this.checkCount();
    this.reserve(1 + varintLength(key.length) + key.length);
    const rep = this.rep;
    let p = this.len;
    rep[p++] = KIND_DELETION;
    p = putVarint(rep, p, key.length);
    rep.set(key, p);
    this.len = p + key.length;
    putFixed32(rep, 8, this.count() + 1);
    return this;
  }

  /** Appends all entries of another batch (the group commit coalesces writers' batches this way). */
  append(other: WriteBatch): this {
    const n = other.count();
    if (this.count() + n > MAX_COUNT) throw new InvalidArgumentError('write batch has too many entries');
    const body = other.len - BATCH_HEADER_SIZE;
    this.reserve(body);
    other.rep.copy(this.rep, this.len, BATCH_HEADER_SIZE, other.len);
    this.len += body;
    putFixed32(this.rep, 8, this.count() + n);
    return this;
  }

  clear(): void {
    this.rep.fill(0, 0, BATCH_HEADER_SIZE);
    this.len = BATCH_HEADER_SIZE;
  }

  count(): number {
    return getFixed32(this.rep, 8);
  }

  /** Size of the encoded batch in bytes (what it adds to the WAL, before record framing). */
  approximateSize(): number {
    return this.len;
  }

  get sequence(): number {
    return getFixed64(this.rep, 0);
  }

  /** Sets the sequence number of the first entry (done by the DB when the batch is committed). */
  setSequence(seq: number): void {
    if (!Number.isInteger(seq) || seq < 0 || seq > MAX_SEQUENCE) {
      throw new InvalidArgumentError(`sequence number out of range: ${seq}`);
    }
    putFixed64(this.rep, 0, seq);
  }

  /** The encoded batch: a view, valid until the batch is next modified. */
  encode(): Buffer {
    return this.rep.subarray(0, this.len);
  }

  /** Calls handler.put / handler.del for each entry in order. Keys and values are views into the batch. */
  iterate(handler: WriteBatchHandler): void {
    const rep = this.rep;
    const end = this.len;
    let p = BATCH_HEADER_SIZE;
    while (p < end) {
      const kind = rep[p++]!;
      const k = getVarint(rep, p, end);
      const key = rep.subarray(k.next, k.next + k.value);
      p = k.next + k.value;
      if (kind === KIND_VALUE) {
        const v = getVarint(rep, p, end);
        p = v.next + v.value;
        handler.put(key, rep.subarray(v.next, p));
      } else {
        handler.del(key);
      }
    }
  }

  /** iterate() without views or decoding objects: the commit path's loop (one-byte varints inline). */
  iterateRanges(handler: WriteBatchRangeHandler): void {
    const rep = this.rep;
    const end = this.len;
    let p = BATCH_HEADER_SIZE;
    while (p < end) {
      const kind = rep[p++]!;
      let klen = rep[p]!;
      if (klen < 0x80) p++;
      else ({ value: klen, next: p } = getVarint(rep, p, end));
      const kend = p + klen;
      if (kind === KIND_VALUE) {
        let vlen = rep[kend]!;
        let vstart = kend + 1;
        if (vlen >= 0x80) ({ value: vlen, next: vstart } = getVarint(rep, kend, end));
        p = vstart + vlen;
        handler.putRange(rep, kend - klen, kend, vstart, p);
      } else {
        p = kend;
        handler.delRange(rep, kend - klen, kend);
      }
    }
  }

  /** The entries in order (allocates; use iterate() on hot paths). */
  *entries(): IterableIterator<WriteBatchEntry> {
    const out: WriteBatchEntry[] = [];
    this.iterate({
      put: (key, value) => out.push({ kind: KIND_VALUE, key, value }),
      del: (key) => out.push({ kind: KIND_DELETION, key }),
    });
    yield* out;
  }

  private checkCount(): void {
    if (this.count() >= MAX_COUNT) throw new InvalidArgumentError('write batch has too many entries');
  }

  private reserve(n: number): void {
    const need = this.len + n;
    if (need <= this.rep.length) return;
    let cap = Math.max(this.rep.length * 2, 256);
    while (cap < need) cap *= 2;
    const grown = Buffer.allocUnsafe(cap);
    this.rep.copy(grown, 0, 0, this.len);
    this.rep = grown;
  }
}

/** Checks an encoded batch end to end: header, every entry's kind and lengths, and the count. */
function validate(data: Uint8Array): void {
  if (data.length < BATCH_HEADER_SIZE) throw new CorruptionError(`write batch too short (${data.length} bytes)`);
  getFixed64(data, 0); // throws if the sequence does not fit in 2^53
  const count = getFixed32(data, 8);
  let p = BATCH_HEADER_SIZE;
  let seen = 0;
  while (p < data.length) {
    const kind = data[p]!;
    if (kind !== KIND_VALUE && kind !== KIND_DELETION) {
      throw new CorruptionError(`write batch: unknown entry kind ${kind} at byte ${p}`);
    }
    p = skipSlice(data, p + 1, 'key');
    if (kind === KIND_VALUE) p = skipSlice(data, p, 'value');
    seen++;
  }
  if (seen !== count) throw new CorruptionError(`write batch: header says ${count} entries, found ${seen}`);
}

function skipSlice(data: Uint8Array, p: number, what: string): number {
  let d;
  try {
    d = getVarint(data, p);
  } catch {
    throw new CorruptionError(`write batch: bad ${what} length at byte ${p}`);
  }
  const end = d.next + d.value;
  if (end > data.length) throw new CorruptionError(`write batch: ${what} at byte ${p} runs past the end`);
  return end;
}
