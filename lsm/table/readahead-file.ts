/**
 * A table file read front to back in large chunks, for a compaction's one pass over its inputs. Data
 * blocks are ~4 KiB, and one positioned read each was ~30% of a compaction's time on the worker thread
 * (a system call per block, profiled on a cluster node under load); one read per 256 KiB makes that a
 * sixty-fourth. A read outside the window refills it from that offset, so any order of reads is correct,
 * only slower.
 */
import type { RandomAccessFile } from '../env.js';

export const READAHEAD_BYTES = 256 << 10;

export class ReadaheadFile implements RandomAccessFile {
  private buf: Buffer | undefined;
  private window: Buffer | undefined;
  private start = 0;

  constructor(
    private readonly file: RandomAccessFile,
    private readonly chunk = READAHEAD_BYTES,
  ) {}

  get size(): number {
    return this.file.size;
  }

  read(offset: number, length: number): Promise<Buffer> {
    return this.file.read(offset, length);
  }

  /** Served from the window: a copy (into `into` when given), since the window is refilled later. */
  readSync(offset: number, length: number, into?: Buffer): Buffer {
    const w = this.window;
    if (w === undefined || offset < this.start || offset + length > this.start + w.length) {
      const n = Math.min(this.chunk, this.file.size - offset);
      // A read as large as a chunk, or one running past the end (a short read the file reports), goes direct.
      if (n < length || length >= this.chunk) return this.file.readSync(offset, length, into);
      this.buf ??= Buffer.allocUnsafeSlow(this.chunk);
      this.window = undefined; // a refill that throws must not leave the old window over half-new bytes
      this.window = this.file.readSync(offset, n, this.buf);
      this.start = offset;
      return this.readSync(offset, length, into);
    }
    const view = w.subarray(offset - this.start, offset - this.start + length);
    if (into !== undefined && into.length >= length) {
      into.set(view);
      return into.subarray(0, length);
    }
    const own = Buffer.allocUnsafeSlow(length); // not a slice of Node's shared pool (see NodeFileSystem.readSync)
    own.set(view);
    return own;
  }

  /** The underlying file belongs to the table: closing this reader closes nothing. */
  close(): Promise<void> {
    return Promise.resolve();
  }
}
