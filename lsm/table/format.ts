/**
 * SSTable framing: block handles, the per-block trailer, the fixed-size footer, and readBlock().
 *
 * A table file is a sequence of blocks, each followed by a 5-byte trailer, then a 56-byte footer:
 *
 *   +--------------------+---------+   data block 0      (block.ts / block-builder.ts)
 *   | block contents     | trailer |   data block 1
 *   +--------------------+---------+   ...
 *   | filter block       | trailer |   one bloom filter for the whole table (bloom.ts)
 *   | metaindex block    | trailer |   name -> handle, e.g. "filter.mydatastore.bloom1"
 *   | index block        | trailer |   last key of data block i -> handle of data block i
 *   +--------------------+---------+
 *   | footer (56 bytes)            |
 *   +------------------------------+
 *
 * Block trailer (5 bytes):
 *   [0]      compression type: 0 = none, 1 = Snappy raw format (snappy.ts), as in LevelDB. Chosen per
 *            block: the writer keeps the compressed form only if it saves at least 1/8 of the bytes.
 *   [1..4]   masked CRC32C (crc32c.ts maskCrc) over the stored block bytes followed by the type byte,
 *            little-endian
 * The CRC covers the stored (possibly compressed) bytes, so a reader checks it before decoding; a
 * handle's size is the stored size. Data, index and metaindex blocks may be compressed; the filter
 * block is always stored with type 0 (bloom bits do not compress).
 *
 * Block handle: varint64 offset, varint64 size (size excludes the trailer). At most 20 bytes.
 *
 * Footer (56 bytes, at file size - 56):
 *   [0..39]  metaindex handle, then index handle, then zero padding up to byte 40
 *   [40..43] format version, fixed32 LE (TABLE_FORMAT_VERSION = 1)
 *   [44..47] masked CRC32C of bytes [0..43], fixed32 LE
 *   [48..55] magic: F1 4D 44 53 53 54 0D 0A  ("\xF1MDSST\r\n": the high first byte and the CR LF catch
 *            7-bit and newline-translating transfers, as PNG's signature does)
 *
 * Worked example: a metaindex block of 30 bytes at offset 4200 and an index block of 61 bytes at
 * offset 4235 (= 4200 + 30 + 5). Varints: 4200 = 0x1068 -> E8 20; 30 -> 1E; 4235 = 0x108B -> 8B 21;
 * 61 -> 3D. The footer bytes are:
 *   E8 20 1E 8B 21 3D  00 x 34  01 00 00 00  40 A5 5A 04  F1 4D 44 53 53 54 0D 0A
 * where 40 A5 5A 04 is maskCrc(crc32c(bytes 0..43)) little-endian. The file is 4235 + 61 + 5 + 56 =
 * 4357 bytes long. (test/lsm/sstable-format.test.ts checks these bytes.)
 */
import { getFixed32, getVarint, putFixed32, putVarint } from '../coding.js';
import { crc32c, maskCrc, unmaskCrc } from '../crc32c.js';
import type { RandomAccessFile } from '../env.js';
import { CorruptionError } from '../errors.js';
import { snappyDecompress } from './snappy.js';

/** Compression type byte of the block trailer. New codecs take new values; old ones keep theirs. */
export const CompressionType = { None: 0, Snappy: 1 } as const;
export type CompressionType = (typeof CompressionType)[keyof typeof CompressionType];

export const BLOCK_TRAILER_SIZE = 5;
export const MAX_BLOCK_HANDLE_LENGTH = 20;
export const FOOTER_SIZE = 56;
export const TABLE_FORMAT_VERSION = 1;
/** The 8 magic bytes ending every table file. */
export const TABLE_MAGIC: Readonly<Uint8Array> = Uint8Array.of(0xf1, 0x4d, 0x44, 0x53, 0x53, 0x54, 0x0d, 0x0a);

const FOOTER_HANDLES_SIZE = 40;
const FOOTER_VERSION_AT = 40;
const FOOTER_CRC_AT = 44;
const FOOTER_MAGIC_AT = 48;

/** Where a block lives in the file: its first byte and its length without the trailer. */
export interface BlockHandle {
  readonly offset: number;
  readonly size: number;
}

/** Encodes h at buf[pos]; returns the position after it. buf needs MAX_BLOCK_HANDLE_LENGTH free bytes. */
export function putBlockHandle(buf: Uint8Array, pos: number, h: BlockHandle): number {
  return putVarint(buf, putVarint(buf, pos, h.offset), h.size);
}

export function encodeBlockHandle(h: BlockHandle): Buffer {
  const buf = Buffer.alloc(MAX_BLOCK_HANDLE_LENGTH);
  return buf.subarray(0, putBlockHandle(buf, 0, h));
}

/** A decoded handle and the position after it. */
export interface DecodedHandle {
  handle: BlockHandle;
  next: number;
}

/** Reads a handle at buf[pos] (up to `limit`); throws CorruptionError if malformed. */
export function getBlockHandle(buf: Uint8Array, pos = 0, limit = buf.length): DecodedHandle {
  const off = getVarint(buf, pos, limit);
  const size = getVarint(buf, off.next, limit);
  return { handle: { offset: off.value, size: size.value }, next: size.next };
}

export function decodeBlockHandle(buf: Uint8Array): BlockHandle {
  return getBlockHandle(buf).handle;
}

export interface Footer {
  readonly metaindex: BlockHandle;
  readonly index: BlockHandle;
}

export function encodeFooter(f: Footer): Buffer {
  const buf = Buffer.alloc(FOOTER_SIZE); // zero padding comes from alloc
  putBlockHandle(buf, putBlockHandle(buf, 0, f.metaindex), f.index);
  putFixed32(buf, FOOTER_VERSION_AT, TABLE_FORMAT_VERSION);
  putFixed32(buf, FOOTER_CRC_AT, maskCrc(crc32c(buf, 0, 0, FOOTER_CRC_AT)));
  buf.set(TABLE_MAGIC, FOOTER_MAGIC_AT);
  return buf;
}

/** Parses the FOOTER_SIZE bytes read at `fileOffset` of `fileName`. Checks magic, version and CRC. */
export function decodeFooter(buf: Uint8Array, fileName?: string, fileOffset?: number): Footer {
  if (buf.length !== FOOTER_SIZE) throw new CorruptionError('short footer', fileName, fileOffset);
  for (let i = 0; i < TABLE_MAGIC.length; i++) {
    if (buf[FOOTER_MAGIC_AT + i] !== TABLE_MAGIC[i]) {
      throw new CorruptionError('not an sstable (bad magic number)', fileName, fileOffset);
    }
  }
  const version = getFixed32(buf, FOOTER_VERSION_AT);
  if (version !== TABLE_FORMAT_VERSION) {
    throw new CorruptionError(`unsupported sstable format version ${version}`, fileName, fileOffset);
  }
  if (unmaskCrc(getFixed32(buf, FOOTER_CRC_AT)) !== crc32c(buf, 0, 0, FOOTER_CRC_AT)) {
    throw new CorruptionError('footer checksum mismatch', fileName, fileOffset);
  }
  try {
    const m = getBlockHandle(buf, 0, FOOTER_HANDLES_SIZE);
    const i = getBlockHandle(buf, m.next, FOOTER_HANDLES_SIZE);
    return { metaindex: m.handle, index: i.handle };
  } catch (e) {
    throw new CorruptionError(`bad block handle in footer: ${(e as Error).message}`, fileName, fileOffset);
  }
}

/** Writes the 5-byte trailer for `contents` stored with `type` into out[pos..pos+5). */
export function putBlockTrailer(out: Uint8Array, pos: number, contents: Uint8Array, type: CompressionType): void {
  out[pos] = type;
  const crc = crc32c(out, crc32c(contents), pos, pos + 1);
  putFixed32(out, pos + 1, maskCrc(crc));
}

/**
 * Writes the trailer for the `size` stored bytes at out[start..start+size), which must be followed
 * by 5 free bytes: the builder's form of putBlockTrailer, for a block already in its output buffer.
 */
export function putBlockTrailerAt(out: Uint8Array, start: number, size: number, type: CompressionType): void {
  const pos = start + size;
  out[pos] = type;
  const crc = crc32c(out, crc32c(out, 0, start, pos), pos, pos + 1);
  putFixed32(out, pos + 1, maskCrc(crc));
}

export interface ReadBlockOptions {
  /** Check the trailer CRC (costs a CRC32C pass over the block). */
  verifyChecksums: boolean;
  /** Named in CorruptionError messages. */
  fileName?: string;
  /** Memory for contents that are decoded or copied (default: a new unpooled buffer each time). */
  alloc?: (length: number) => Buffer;
}

/**
 * Reads the block at `handle` with a synchronous positioned read and returns its (decoded) contents.
 * Throws CorruptionError, naming the file and the block's offset, if the handle points outside the
 * file, the checksum does not match, the compression type is unknown or the compressed stream is
 * malformed. Never returns unchecked bytes as if they were good when verifyChecksums is set.
 */
export function readBlock(file: RandomAccessFile, handle: BlockHandle, opts: ReadBlockOptions): Buffer {
  checkHandle(file, handle, opts);
  const length = handle.size + BLOCK_TRAILER_SIZE;
  const into = length <= MAX_SCRATCH_READ ? scratchFor(length) : undefined;
  let buf: Buffer;
  try {
    buf = file.readSync(handle.offset, length, into);
  } catch (e) {
    throw rethrowShortRead(e, handle, opts);
  }
  const contents = checkBlock(buf, handle, opts);
  // A stored block is still a view of the shared scratch buffer: it gets memory of its own (it may go
  // into the block cache). A compressed one was decoded into a new buffer already.
  if (into === undefined || contents.buffer !== into.buffer) return contents;
  const own = opts.alloc !== undefined ? opts.alloc(contents.length) : Buffer.allocUnsafeSlow(contents.length);
  own.set(contents);
  return own;
}

/**
 * Synchronous block reads land in one reused buffer per thread: most blocks are compressed, and
 * their stored bytes are garbage once decoded and checked, so allocating them was pure GC work.
 */
const MAX_SCRATCH_READ = 256 << 10;
let scratch = Buffer.allocUnsafeSlow(16 << 10);
function scratchFor(length: number): Buffer {
  if (scratch.length < length) scratch = Buffer.allocUnsafeSlow(Math.min(MAX_SCRATCH_READ, 2 * length));
  return scratch;
}

/** readBlock() with an asynchronous read: for big reads off the hot path (index and filter at open). */
export async function readBlockAsync(
  file: RandomAccessFile,
  handle: BlockHandle,
  opts: ReadBlockOptions,
): Promise<Buffer> {
  checkHandle(file, handle, opts);
  let buf: Buffer;
  try {
    buf = await file.read(handle.offset, handle.size + BLOCK_TRAILER_SIZE);
  } catch (e) {
    throw rethrowShortRead(e, handle, opts);
  }
  return checkBlock(buf, handle, opts);
}

function checkHandle(file: RandomAccessFile, { offset, size }: BlockHandle, opts: ReadBlockOptions): void {
  const end = offset + size + BLOCK_TRAILER_SIZE;
  if (!Number.isSafeInteger(end) || end > file.size) {
    throw new CorruptionError(`block handle (offset ${offset}, size ${size}) past end of file`, opts.fileName, offset);
  }
}

function rethrowShortRead(e: unknown, handle: BlockHandle, opts: ReadBlockOptions): unknown {
  if (!(e instanceof CorruptionError)) return e;
  return new CorruptionError(`truncated block read: ${e.message}`, opts.fileName, handle.offset);
}

/** Checks the trailer of a block read with its trailer; returns the contents, decompressed. */
function checkBlock(buf: Buffer, { offset, size }: BlockHandle, opts: ReadBlockOptions): Buffer {
  if (buf.length !== size + BLOCK_TRAILER_SIZE) {
    throw new CorruptionError('truncated block read', opts.fileName, offset);
  }
  const type = buf[size]!;
  if (opts.verifyChecksums) {
    const expected = unmaskCrc(getFixed32(buf, size + 1));
    if (crc32c(buf, 0, 0, size + 1) !== expected) {
      throw new CorruptionError('block checksum mismatch', opts.fileName, offset);
    }
  }
  if (type === CompressionType.None) return buf.subarray(0, size);
  if (type === CompressionType.Snappy) return snappyDecompress(buf, 0, size, opts.fileName, offset, opts.alloc);
  throw new CorruptionError(`unknown block compression type ${type}`, opts.fileName, offset);
}
