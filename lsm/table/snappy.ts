/**
 * Snappy, raw format (the block format LevelDB writes as compression type 1), hand-written: a
 * compressor and a bounds-checked decompressor. Layout, byte by byte, in lsm/FORMAT.md ("SSTable",
 * "Snappy blocks"); the format is Google's format_description.txt.
 *
 *   stream   := uncompressed-length varint32 ‖ element*
 *   element  := tag u8 ‖ ...     tag & 3: 0 literal, 1 copy with 1-byte offset, 2 copy with 2-byte
 *                                offset, 3 copy with 4-byte offset
 *
 * Why Snappy (bench/compression.ts measures it): on 4 KiB db_bench-like blocks it compresses as well
 * as LevelDB does (it is the same format and the same match finder), at a few hundred MB/s both ways
 * in JS, while Node's zlib pays a native-handle cost per call that dominates 4 KiB blocks.
 *
 * The decompressor never trusts the stream: every length and offset is checked before use, the
 * output is allocated once at the declared length, and the declared length must be reachable from
 * the stored bytes (at most 64 output bytes per 3 input bytes), so a hostile block cannot make the
 * reader allocate more than ~21.4× what it already read. Any violation is a CorruptionError.
 */
import { putVarint } from '../coding.js';
import { CorruptionError } from '../errors.js';

const HASH_BITS = 14;
const HASH_SHIFT = 32 - HASH_BITS;
/** Input is compressed in fragments of this size, so copy offsets fit the 2-byte form. */
const FRAGMENT_SIZE = 1 << 16;
/** The match finder stops this far from the fragment's end (its 4-byte loads stay in bounds). */
const INPUT_MARGIN = 15;
/** Shorter fragments are stored as one literal. */
const MIN_MATCHABLE = 1 + 1 + INPUT_MARGIN;
/** Past this, table entries are cleared and the generation restarts (entries stay below 2^31). */
const GENERATION_LIMIT = 0x7fff0000 - FRAGMENT_SIZE;
/** The compressor copies literals up to this long byte by byte, longer ones with set() (faster past 16). */
const SHORT_COPY = 16;
/** Decoded literals longer than this are copied with set(); shorter ones a word at a time. */
const LONG_LITERAL = 256;
/** Most output a valid element can produce per byte of input: a 3-byte copy of 64 bytes. */
const MAX_EXPANSION_NUM = 64;
const MAX_EXPANSION_DEN = 3;

/** Upper bound of compress()'s output for n input bytes (Snappy's MaxCompressedLength). */
export function snappyMaxCompressedLength(n: number): number {
  return 32 + n + Math.floor(n / 6);
}

function load32(b: Uint8Array, i: number): number {
  return b[i]! | (b[i + 1]! << 8) | (b[i + 2]! << 16) | (b[i + 3]! << 24);
}

function hash(x: number): number {
  return Math.imul(x, 0x1e35a7bd) >>> HASH_SHIFT;
}

/**
 * A Snappy compressor with a reusable 2^14-entry hash table. Instead of clearing the table for every
 * fragment, entries are stored as position + generation offset: entries left by earlier fragments
 * decode to positions before the current fragment and are ignored. One instance per thread.
 */
export class SnappyCompressor {
  private readonly table = new Int32Array(1 << HASH_BITS);
  private generation = 1;

  /**
   * Compresses src into dst at dstPos; returns the position after the output. dst needs
   * snappyMaxCompressedLength(src.length) bytes free at dstPos.
   */
  compress(src: Uint8Array, dst: Uint8Array, dstPos: number): number {
    let op = putVarint(dst, dstPos, src.length);
    for (let start = 0; start < src.length; start += FRAGMENT_SIZE) {
      op = this.compressFragment(src, start, Math.min(start + FRAGMENT_SIZE, src.length), dst, op);
    }
    return op;
  }

  private compressFragment(src: Uint8Array, start: number, end: number, dst: Uint8Array, op: number): number {
    if (end - start < MIN_MATCHABLE) return emitLiteral(dst, op, src, start, end);
    // 4-byte loads through a DataView: the JIT makes each one load, where assembling four bytes costs
    // four bounds-checked loads (measured 1.6x faster compression on db_bench-like blocks).
    const dv = new DataView(src.buffer, src.byteOffset, src.byteLength);
    if (this.generation > GENERATION_LIMIT) {
      this.table.fill(0);
      this.generation = 1;
    }
    // A stored value v means position v - shift; this fragment's entries are >= generation.
    const shift = this.generation - start;
    this.generation += end - start + 1;
    const table = this.table;
    const ipLimit = end - INPUT_MARGIN;
    let nextEmit = start;
    let ip = start + 1;
    let nextHash = hash(dv.getInt32(ip, true));
    for (;;) {
      // Look for a 4-byte match, hashing sparser the longer nothing matches (skip / 32 bytes a step),
      // so incompressible input goes through quickly.
      let skip = 32;
      let nextIp = ip;
      let candidate: number;
      do {
        ip = nextIp;
        const h = nextHash;
        nextIp = ip + (skip++ >> 5);
        if (nextIp > ipLimit) return nextEmit < end ? emitLiteral(dst, op, src, nextEmit, end) : op;
        nextHash = hash(dv.getInt32(nextIp, true));
        candidate = table[h]! - shift;
        table[h] = ip + shift;
      } while (candidate < start || dv.getInt32(candidate, true) !== dv.getInt32(ip, true));
      op = emitLiteral(dst, op, src, nextEmit, ip);
      // Emit copies for as long as the position after a copy starts another match.
      do {
        const base = ip;
        const limit = end - base;
        let matched = 4;
        while (matched + 4 <= limit && dv.getInt32(candidate + matched, true) === dv.getInt32(base + matched, true)) matched += 4;
        while (matched < limit && src[candidate + matched] === src[base + matched]) matched++;
        ip += matched;
        op = emitCopy(dst, op, base - candidate, matched);
        nextEmit = ip;
        if (ip >= ipLimit) return nextEmit < end ? emitLiteral(dst, op, src, nextEmit, end) : op;
        table[hash(dv.getInt32(ip - 1, true))] = ip - 1 + shift;
        const h = hash(dv.getInt32(ip, true));
        candidate = table[h]! - shift;
        table[h] = ip + shift;
      } while (candidate >= start && dv.getInt32(candidate, true) === dv.getInt32(ip, true));
      nextHash = hash(dv.getInt32(++ip, true));
    }
  }
}

function emitLiteral(dst: Uint8Array, op: number, src: Uint8Array, start: number, end: number): number {
  const len = end - start;
  const n = len - 1;
  if (n < 60) {
    dst[op++] = n << 2;
  } else if (n < 0x100) {
    dst[op++] = 60 << 2;
    dst[op++] = n;
  } else if (n < 0x10000) {
    dst[op++] = 61 << 2;
    dst[op++] = n & 0xff;
    dst[op++] = n >>> 8;
  } else {
    // Fragments are at most 64 KiB, so a literal needs at most 3 length bytes.
    dst[op++] = 62 << 2;
    dst[op++] = n & 0xff;
    dst[op++] = (n >>> 8) & 0xff;
    dst[op++] = n >>> 16;
  }
  if (len <= SHORT_COPY) {
    for (let i = start; i < end; i++) dst[op++] = src[i]!;
    return op;
  }
  dst.set(src.subarray(start, end), op);
  return op + len;
}

function emitCopy2(dst: Uint8Array, op: number, offset: number, len: number): number {
  dst[op] = 2 | ((len - 1) << 2);
  dst[op + 1] = offset & 0xff;
  dst[op + 2] = offset >>> 8;
  return op + 3;
}

/** offset < 65536 (fragments are 64 KiB); len >= 4. */
function emitCopy(dst: Uint8Array, op: number, offset: number, len: number): number {
  while (len >= 68) {
    op = emitCopy2(dst, op, offset, 64);
    len -= 64;
  }
  if (len > 64) {
    // Leave at least 4 bytes for the last copy.
    op = emitCopy2(dst, op, offset, 60);
    len -= 60;
  }
  if (len < 12 && offset < 2048) {
    dst[op] = 1 | ((len - 4) << 2) | ((offset >>> 8) << 5);
    dst[op + 1] = offset & 0xff;
    return op + 2;
  }
  return emitCopy2(dst, op, offset, len);
}

/**
 * Decompresses the Snappy stream src[start..end) into a new buffer of exactly the declared length,
 * from `alloc` (default: unpooled, as it may live in the block cache). Throws CorruptionError naming
 * fileName and fileOffset if the stream is malformed in any way.
 */
export function snappyDecompress(
  src: Uint8Array,
  start: number,
  end: number,
  fileName?: string,
  fileOffset?: number,
  alloc?: (length: number) => Buffer,
): Buffer {
  const bad = (why: string): CorruptionError => new CorruptionError(`corrupt snappy block: ${why}`, fileName, fileOffset);
  let ip = start;
  let length = 0;
  for (let scale = 1; ; scale *= 128) {
    if (ip >= end || scale > 2 ** 28) throw bad('bad uncompressed length varint');
    const b = src[ip++]!;
    length += (b & 0x7f) * scale;
    if (b < 0x80) break;
  }
  if (length > 0xffffffff) throw bad(`uncompressed length ${length} exceeds 32 bits`);
  if (length > Math.floor(((end - ip) * MAX_EXPANSION_NUM) / MAX_EXPANSION_DEN)) {
    throw bad(`uncompressed length ${length} cannot come from ${end - ip} bytes`);
  }
  const out = alloc !== undefined ? alloc(length) : Buffer.allocUnsafeSlow(length);
  // Literals and copies move 4 bytes per DataView access: a view per element (subarray, copyWithin)
  // cost more than the bytes it moves, elements being ~50 bytes in db_bench-like blocks. Either byte
  // order moves the same bytes; little-endian, the order of the CPUs Node runs on, skips two byte swaps
  // per word (4.1 -> 2.7 us per 4 KiB db_bench block).
  const outView = new DataView(out.buffer, out.byteOffset, length);
  const srcView = new DataView(src.buffer, src.byteOffset, src.byteLength);
  let op = 0;
  while (ip < end) {
    const tag = src[ip++]!;
    const kind = tag & 3;
    if (kind === 0) {
      let len = (tag >>> 2) + 1;
      if (len > 60) {
        const extra = len - 60;
        if (extra > end - ip) throw bad('truncated literal length');
        let v = 0;
        for (let i = 0; i < extra; i++) v += src[ip + i]! * 2 ** (8 * i);
        ip += extra;
        len = v + 1;
      }
      if (len > end - ip) throw bad('literal runs past the end of the block');
      if (len > length - op) throw bad('literal runs past the uncompressed length');
      const e = op + len;
      if (len <= LONG_LITERAL) {
        for (; op + 4 <= e; op += 4, ip += 4) outView.setUint32(op, srcView.getUint32(ip, true), true);
        while (op < e) out[op++] = src[ip++]!;
      } else {
        out.set(src.subarray(ip, ip + len), op);
        ip += len;
        op = e;
      }
      continue;
    }
    let len: number;
    let offset: number;
    if (kind === 1) {
      if (ip >= end) throw bad('truncated copy');
      len = ((tag >>> 2) & 7) + 4;
      offset = ((tag >>> 5) << 8) | src[ip++]!;
    } else if (kind === 2) {
      if (end - ip < 2) throw bad('truncated copy');
      len = (tag >>> 2) + 1;
      offset = src[ip]! | (src[ip + 1]! << 8);
      ip += 2;
    } else {
      if (end - ip < 4) throw bad('truncated copy');
      len = (tag >>> 2) + 1;
      offset = load32(src, ip) >>> 0;
      ip += 4;
    }
    if (offset === 0 || offset > op) throw bad(`copy offset ${offset} out of range at output byte ${op}`);
    if (len > length - op) throw bad('copy runs past the uncompressed length');
    let from = op - offset;
    const e = op + len;
    // Copies may overlap their own output (a repeated pattern): each word read must be final already,
    // which holds 4 bytes at a time when offset >= 4; shorter offsets go byte by byte.
    if (offset >= 4) for (; op + 4 <= e; op += 4, from += 4) outView.setUint32(op, outView.getUint32(from, true), true);
    while (op < e) out[op++] = out[from++]!;
  }
  if (op !== length) throw bad(`decoded ${op} bytes, header says ${length}`);
  return out;
}
