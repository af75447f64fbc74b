/**
 * Minimal WritableFile / RandomAccessFile implementations for the table tests, in memory and over
 * node:fs, so these tests do not depend on lsm/node-fs.ts or lsm/mem-fs.ts.
 */
import * as fs from 'node:fs';
import type { RandomAccessFile, WritableFile } from '../../lsm/env.js';
import { CorruptionError } from '../../lsm/errors.js';

export class MemWritableFile implements WritableFile {
  private chunks: Buffer[] = [];
  size = 0;
  appends = 0;
  closed = false;

  append(data: Uint8Array): Promise<void> {
    this.chunks.push(Buffer.from(data)); // copy: the caller may reuse its buffer
    this.size += data.length;
    this.appends++;
    return Promise.resolve();
  }

  sync(): Promise<void> {
    return Promise.resolve();
  }

  close(): Promise<void> {
    this.closed = true;
    return Promise.resolve();
  }

  contents(): Buffer {
    return Buffer.concat(this.chunks);
  }
}

export class MemRandomAccessFile implements RandomAccessFile {
  reads = 0;
  closed = false;

  constructor(readonly data: Buffer) {}

  get size(): number {
    return this.data.length;
  }

  readSync(offset: number, length: number, into?: Buffer): Buffer {
    this.reads++;
    if (offset < 0 || offset + length > this.data.length) {
      throw new CorruptionError(`short read: ${length} bytes at ${offset} of ${this.data.length}`);
    }
    // A copy, as a real read would be: tests mutate `data` to simulate corruption. Into the caller's
    // buffer when it offers one, as NodeFileSystem does, so that table tests see a reused buffer.
    if (into !== undefined && into.length >= length) {
      this.data.copy(into, 0, offset, offset + length);
      return into.subarray(0, length);
    }
    return Buffer.from(this.data.subarray(offset, offset + length));
  }

  read(offset: number, length: number): Promise<Buffer> {
    return Promise.resolve().then(() => this.readSync(offset, length));
  }

  close(): Promise<void> {
    this.closed = true;
    return Promise.resolve();
  }
}

export class NodeWritableFile implements WritableFile {
  size = 0;
  private constructor(private readonly fh: fs.promises.FileHandle) {}

  static async create(path: string): Promise<NodeWritableFile> {
    return new NodeWritableFile(await fs.promises.open(path, 'w'));
  }

  async append(data: Uint8Array): Promise<void> {
    let done = 0;
    while (done < data.length) {
      const { bytesWritten } = await this.fh.write(data, done, data.length - done);
      done += bytesWritten;
    }
    this.size += data.length;
  }

  async sync(): Promise<void> {
    await this.fh.datasync();
  }

  async close(): Promise<void> {
    await this.fh.close();
  }
}

export class NodeRandomAccessFile implements RandomAccessFile {
  private constructor(
    private readonly fd: number,
    readonly size: number,
  ) {}

  static open(path: string): NodeRandomAccessFile {
    const fd = fs.openSync(path, 'r');
    return new NodeRandomAccessFile(fd, fs.fstatSync(fd).size);
  }

  readSync(offset: number, length: number): Buffer {
    const buf = Buffer.allocUnsafe(length);
    let done = 0;
    while (done < length) {
      const n = fs.readSync(this.fd, buf, done, length - done, offset + done);
      if (n === 0) throw new CorruptionError(`short read: ${length} bytes at ${offset}`);
      done += n;
    }
    return buf;
  }

  read(offset: number, length: number): Promise<Buffer> {
    return Promise.resolve().then(() => this.readSync(offset, length));
  }

  close(): Promise<void> {
    fs.closeSync(this.fd);
    return Promise.resolve();
  }
}
