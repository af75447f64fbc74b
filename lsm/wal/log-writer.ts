/**
 * Appends logical records to a log file in the block format of format.ts. Each addRecord() becomes
 * exactly one file append: a crash can then tear only the last record, which the reader recognises as
 * an incomplete tail. The DB's group commit hands it one coalesced batch per call.
 */
import { putFixed32 } from '../coding.js';
import type { WritableFile } from '../env.js';
import { IOError } from '../errors.js';
import {
  BLOCK_SIZE,
  FILE_HEADER_PAYLOAD_SIZE,
  HEADER_SIZE,
  LOG_VERSION,
  RecordType,
  WAL_MAGIC,
  recordChecksum,
} from './format.js';

export interface LogWriterOptions {
  /** Magic number of the file header (default WAL_MAGIC); another log-structured file may use its own. */
  magic?: number;
  version?: number;
}

// Scratch buffers above this size are not kept between appends.
const MAX_KEPT_SCRATCH = 1 << 20;

export class LogWriter {
  private blockOffset: number;
  private needHeader: boolean;
  private scratch = Buffer.alloc(0);
  private scratchBusy = false;
  private failure: Error | undefined = undefined;
  private readonly magic: number;
  private readonly version: number;

  /** A new (empty) file gets the file header with its first record; a non-empty one is continued. */
  constructor(
    private readonly file: WritableFile,
    options: LogWriterOptions = {},
  ) {
    this.blockOffset = file.size % BLOCK_SIZE;
    this.needHeader = file.size === 0;
    this.magic = options.magic ?? WAL_MAGIC;
    this.version = options.version ?? LOG_VERSION;
  }

  /** Bytes in the file so far (including what appends in flight will add). */
  get size(): number {
    return this.file.size;
  }

  /**
   * Appends one logical record. Resolves when the bytes are handed to the file (not durable: call
   * sync()). After a failed append the writer refuses further records: the file's tail is unknown.
   */
  async addRecord(payload: Uint8Array): Promise<void> {
    if (this.failure !== undefined) throw this.failure;
    const total = this.encodedLength(payload.length);
    const scratch = this.scratchFor(total);
    const useScratch = scratch !== undefined;
    const out = scratch ?? Buffer.allocUnsafe(total);
    if (useScratch) this.scratchBusy = true;
    const written = this.encode(payload, out);
    try {
      await this.file.append(written === out.length ? out : out.subarray(0, written));
    } catch (err) {
      throw this.fail(err);
    } finally {
      if (useScratch) this.scratchBusy = false;
    }
  }

  /** True when addRecordSync() can be used: the file appends synchronously and no append is in flight. */
  get canAddSync(): boolean {
    return this.file.appendSync !== undefined && !this.scratchBusy && this.failure === undefined;
  }

  /** addRecord() done before it returns, for files with appendSync (check canAddSync first). */
  addRecordSync(payload: Uint8Array): void {
    if (this.failure !== undefined) throw this.failure;
    if (this.file.appendSync === undefined || this.scratchBusy) throw new IOError('addRecordSync: the file cannot append synchronously now');
    const total = this.encodedLength(payload.length);
    const out = this.scratchFor(total) ?? Buffer.allocUnsafe(total);
    const written = this.encode(payload, out);
    try {
      this.file.appendSync(written === out.length ? out : out.subarray(0, written));
    } catch (err) {
      throw this.fail(err);
    }
  }

  /** The kept scratch buffer, grown to `total` bytes, if it is free and a record that size may keep it. */
  private scratchFor(total: number): Buffer | undefined {
    if (this.scratchBusy || total > Math.max(this.scratch.length, MAX_KEPT_SCRATCH)) return undefined;
    if (this.scratch.length < total) this.scratch = Buffer.allocUnsafe(Math.max(total, 4096));
    return this.scratch;
  }

  private fail(err: unknown): Error {
    this.failure = err instanceof Error ? err : new IOError(String(err));
    return this.failure;
  }

  /** Makes every record appended so far durable. */
  async sync(): Promise<void> {
    if (this.failure !== undefined) throw this.failure;
    await this.file.sync();
  }

  /** True if syncSync() can be used (the file has a synchronous fdatasync). */
  get canSyncSync(): boolean {
    return this.file.syncSync !== undefined;
  }

  /** sync() on the calling thread. */
  syncSync(): void {
    if (this.failure !== undefined) throw this.failure;
    if (this.file.syncSync === undefined) throw new IOError('syncSync: the file cannot sync synchronously');
    this.file.syncSync();
  }

  async close(): Promise<void> {
    await this.file.close();
  }

  /** Bytes that appending a payload of `n` bytes will add, from the current block position. */
  private encodedLength(n: number): number {
    let off = this.blockOffset;
    let total = 0;
    if (this.needHeader) {
      total += HEADER_SIZE + FILE_HEADER_PAYLOAD_SIZE;
      off += HEADER_SIZE + FILE_HEADER_PAYLOAD_SIZE;
    }
    let left = n;
    do {
      const leftover = BLOCK_SIZE - off;
      if (leftover < HEADER_SIZE) {
        total += leftover;
        off = 0;
      }
      const frag = Math.min(left, BLOCK_SIZE - off - HEADER_SIZE);
      total += HEADER_SIZE + frag;
      off += HEADER_SIZE + frag;
      left -= frag;
    } while (left > 0);
    return total;
  }

  /** Writes the fragments (and the file header if due) into out; returns the byte count. */
  private encode(payload: Uint8Array, out: Buffer): number {
    let p = 0;
    if (this.needHeader) {
      const start = HEADER_SIZE;
      putFixed32(out, start, this.magic);
      putFixed32(out, start + 4, this.version);
      p = this.putHeader(out, 0, RecordType.FILE_HEADER, start, FILE_HEADER_PAYLOAD_SIZE);
      this.blockOffset = p;
      this.needHeader = false;
    }
    let left = payload.length;
    let src = 0;
    let begin = true;
    do {
      const leftover = BLOCK_SIZE - this.blockOffset;
      if (leftover < HEADER_SIZE) {
        out.fill(0, p, p + leftover); // the block trailer: too small for a header
        p += leftover;
        this.blockOffset = 0;
      }
      const frag = Math.min(left, BLOCK_SIZE - this.blockOffset - HEADER_SIZE);
      const end = frag === left;
      const type = begin && end ? RecordType.FULL : begin ? RecordType.FIRST : end ? RecordType.LAST : RecordType.MIDDLE;
      out.set(payload.subarray(src, src + frag), p + HEADER_SIZE);
      p = this.putHeader(out, p, type, p + HEADER_SIZE, frag);
      this.blockOffset += HEADER_SIZE + frag;
      src += frag;
      left -= frag;
      begin = false;
    } while (left > 0);
    return p;
  }

  /** Writes the 7-byte header at out[p] for the payload already at out[start, start+len). */
  private putHeader(out: Buffer, p: number, type: number, start: number, len: number): number {
    putFixed32(out, p, recordChecksum(type, out, start, start + len));
    out[p + 4] = len & 0xff;
    out[p + 5] = len >>> 8;
    out[p + 6] = type;
    return start + len;
  }
}
