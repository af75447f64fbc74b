/**
 * Reads logical records back from a log file (format.ts).
 *
 * Damage is judged by what follows it. The writer appends each logical record with one write, so a
 * crash can only leave the LAST record incomplete: damage with no intact record start (FULL or FIRST)
 * anywhere after it is a torn tail — its bytes are reported as dropped and reading ends cleanly. Damage
 * followed by an intact record start is corruption of acknowledged data: CorruptionError naming the
 * file and offset, or, with `salvage`, a report and a jump to that next record.
 *
 * Caveat: a torn last write may have reached disk out of order (later pages without earlier ones);
 * those orphan MIDDLE/LAST fragments are not record starts, so they still count as tail. Unsynced
 * earlier writes reordered the same way are indistinguishable from corruption: that is what salvage is for.
 */
import { getFixed32 } from '../coding.js';
import type { FileSystem } from '../env.js';
import { CorruptionError } from '../errors.js';
import {
  BLOCK_SIZE,
  FILE_HEADER_PAYLOAD_SIZE,
  HEADER_SIZE,
  LOG_VERSION,
  MAX_RECORD_TYPE,
  RecordType,
  WAL_MAGIC,
  recordChecksum,
} from './format.js';

export type LogReporter = (bytesDropped: number, reason: string) => void;

export interface LogReaderOptions {
  /** The file's name, used in errors and reports. */
  file?: string;
  /** Told about every dropped range: a torn tail, or corruption skipped in salvage mode. */
  reporter?: LogReporter;
  /** Skip corrupt records (reporting them) instead of throwing CorruptionError. */
  salvage?: boolean;
  /** Expected file-header magic (default WAL_MAGIC). */
  magic?: number;
}

// readPhysical() results besides record types.
const EOF = -1;
const BAD = -2;

export class LogReader {
  private pos = 0;
  private done = false;
  private headerChecked = false;
  // Set by readPhysical(): the record's offset and payload range, or why it is bad.
  private physOffset = 0;
  private fragStart = 0;
  private fragEnd = 0;
  private badReason = '';
  private badHint = -1;
  private lastOffset = -1;
  private readonly file: string;
  private readonly reporter: LogReporter | undefined;
  private readonly salvage: boolean;
  private readonly magic: number;

  constructor(
    private readonly data: Uint8Array,
    options: LogReaderOptions = {},
  ) {
    this.file = options.file ?? 'log';
    this.reporter = options.reporter;
    this.salvage = options.salvage ?? false;
    this.magic = options.magic ?? WAL_MAGIC;
  }

  /** Offset of the last record returned (its first fragment), -1 before any. */
  get lastRecordOffset(): number {
    return this.lastOffset;
  }

  /**
   * The next logical record, or undefined at the end. A single-fragment record is a view into the
   * file's buffer; a fragmented one is a new buffer.
   */
  readRecord(): Uint8Array | undefined {
    if (this.done) return undefined;
    let parts: Uint8Array[] | undefined; // fragments of the record being assembled
    let recordStart = -1;
    for (;;) {
      const type = this.readPhysical();
      const off = this.physOffset;
      if (!this.headerChecked && type !== EOF) {
        this.headerChecked = true;
        if (type === RecordType.FILE_HEADER) {
          this.checkFileHeader();
          continue;
        }
        if (type !== BAD) this.corrupt('missing file header', off, 0);
      }
      switch (type) {
        case RecordType.FULL:
        case RecordType.FIRST:
          if (parts !== undefined) {
            // The previous record never got its LAST fragment, yet an intact record follows.
            this.corrupt('record without its last fragment', recordStart, off - recordStart);
          }
          if (type === RecordType.FULL) {
            this.lastOffset = off;
            return this.data.subarray(this.fragStart, this.fragEnd);
          }
          parts = [this.data.subarray(this.fragStart, this.fragEnd)];
          recordStart = off;
          break;
        case RecordType.MIDDLE:
        case RecordType.LAST:
          if (parts === undefined) {
            // An orphan fragment: its start is gone. Tail or corruption, by what follows.
            if (this.damaged('fragment without a first fragment', off, off, this.pos)) return undefined;
            break;
          }
          parts.push(this.data.subarray(this.fragStart, this.fragEnd));
          if (type === RecordType.LAST) {
            this.lastOffset = recordStart;
            return Buffer.concat(parts);
          }
          break;
        case RecordType.FILE_HEADER:
          if (this.damaged('file header in the middle of the log', parts ? recordStart : off, off, this.pos)) {
            return undefined;
          }
          parts = undefined;
          break;
        case BAD:
          if (this.damaged(this.badReason, parts ? recordStart : off, off, this.badHint)) return undefined;
          parts = undefined;
          break;
        default: // EOF
          if (parts !== undefined) this.report(this.data.length - recordStart, 'incomplete record at end of log');
          this.done = true;
          return undefined;
      }
    }
  }

  *[Symbol.iterator](): IterableIterator<Uint8Array> {
    for (let r = this.readRecord(); r !== undefined; r = this.readRecord()) yield r;
  }

  /**
   * Handles damage found at `off` (its logical record began at `dropFrom`). Returns true if it is the
   * torn tail (reading is over); otherwise throws, or in salvage mode reports and moves to the next start.
   */
  private damaged(reason: string, dropFrom: number, off: number, hint: number): boolean {
    const next = this.findNextStart(off, hint);
    if (next < 0) {
      this.report(this.data.length - dropFrom, `${reason} (torn tail at byte ${off})`);
      this.done = true;
      return true;
    }
    this.corrupt(reason, off, next - dropFrom);
    this.pos = next;
    return false;
  }

  /** Throws CorruptionError, or in salvage mode reports the dropped bytes and returns. */
  private corrupt(reason: string, off: number, dropped: number): void {
    if (!this.salvage) throw new CorruptionError(reason, this.file, off);
    this.report(dropped, `${reason} at byte ${off}`);
  }

  private report(bytes: number, reason: string): void {
    this.reporter?.(bytes, `${this.file}: ${reason}`);
  }

  private checkFileHeader(): void {
    const { data, fragStart, fragEnd } = this;
    if (fragEnd - fragStart !== FILE_HEADER_PAYLOAD_SIZE || getFixed32(data, fragStart) !== this.magic) {
      throw new CorruptionError('not a log file of this kind (bad magic)', this.file, 0);
    }
    const version = getFixed32(data, fragStart + 4);
    if (version !== LOG_VERSION) throw new CorruptionError(`unsupported log version ${version}`, this.file, 0);
  }

  /** Reads the physical record at this.pos: a record type, EOF, or BAD (with badReason, badHint). */
  private readPhysical(): number {
    const data = this.data;
    for (;;) {
      const blockLeft = BLOCK_SIZE - (this.pos % BLOCK_SIZE);
      if (blockLeft < HEADER_SIZE) {
        this.pos += blockLeft; // skip the block trailer
        continue;
      }
      const p = this.pos;
      this.physOffset = p;
      if (p >= data.length) return EOF;
      this.badHint = -1;
      if (data.length - p < HEADER_SIZE) return this.bad('truncated record header');
      const len = data[p + 4]! | (data[p + 5]! << 8);
      const type = data[p + 6]!;
      if (HEADER_SIZE + len > blockLeft) return this.bad('record length runs past the block');
      const end = p + HEADER_SIZE + len;
      if (end > data.length) return this.bad('truncated record');
      if (type === RecordType.ZERO && len === 0 && getFixed32(data, p) === 0) return this.bad('zeroed region');
      this.badHint = end;
      if (type > MAX_RECORD_TYPE || type === RecordType.ZERO) return this.bad(`unknown record type ${type}`);
      if (recordChecksum(type, data, p + HEADER_SIZE, end) !== getFixed32(data, p)) {
        return this.bad('checksum mismatch');
      }
      this.fragStart = p + HEADER_SIZE;
      this.fragEnd = end;
      this.pos = end;
      return type;
    }
  }

  private bad(reason: string): number {
    this.badReason = reason;
    return BAD;
  }

  /**
   * The offset of the first intact FULL or FIRST record after `off`, or -1. Looks at `hint` (where the
   * next record would be in the same block, if the damaged header's length can be believed), then at
   * every later byte of the same block (the length itself may be what is damaged), then at every later
   * block, following each block's chain of records from its start while they are intact.
   */
  private findNextStart(off: number, hint: number): number {
    const blockEnd = off - (off % BLOCK_SIZE) + BLOCK_SIZE;
    if (hint > off) {
      const r = this.walkChain(hint, blockEnd, off);
      if (r >= 0) return r;
    }
    const scanEnd = Math.min(blockEnd, this.data.length) - HEADER_SIZE;
    for (let q = off + 1; q <= scanEnd; q++) {
      const r = this.walkChain(q, blockEnd, off);
      if (r >= 0) return r;
    }
    for (let b = blockEnd; b < this.data.length; b += BLOCK_SIZE) {
      const r = this.walkChain(b, b + BLOCK_SIZE, off);
      if (r >= 0) return r;
    }
    return -1;
  }

  private walkChain(p: number, blockEnd: number, after: number): number {
    const data = this.data;
    const limit = Math.min(blockEnd, data.length);
    while (limit - p >= HEADER_SIZE) {
      const len = data[p + 4]! | (data[p + 5]! << 8);
      const type = data[p + 6]!;
      const end = p + HEADER_SIZE + len;
      if (end > limit || type === RecordType.ZERO || type > MAX_RECORD_TYPE) return -1;
      if (recordChecksum(type, data, p + HEADER_SIZE, end) !== getFixed32(data, p)) return -1;
      if (p > after && (type === RecordType.FULL || type === RecordType.FIRST)) return p;
      p = end;
    }
    return -1;
  }
}

/** Reads a whole log file (logs are bounded by the memtable size) and returns a reader over it. */
export async function openLogReader(fs: FileSystem, path: string, options: LogReaderOptions = {}): Promise<LogReader> {
  const data = await fs.readFile(path);
  return new LogReader(data, { file: path, ...options });
}
