/**
 * The real file system, on node:fs. Every OS error comes back as an IOError naming the path, with the
 * original error as its cause.
 */
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as nodePath from 'node:path';
import type { FileLock, FileSystem, RandomAccessFile, WritableFile } from './env.js';
import { CorruptionError, IOError, LockedError } from './errors.js';

function ioError(op: string, path: string, err: unknown): IOError {
  const msg = err instanceof Error ? err.message : String(err);
  return new IOError(`${op} ${path}: ${msg}`, { cause: err });
}

function errno(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException | undefined)?.code;
}

function writeAt(fd: number, data: Uint8Array, offset: number, length: number, position: number): Promise<number> {
  return new Promise((resolve, reject) => {
    fs.write(fd, data, offset, length, position, (err, n) => (err ? reject(err) : resolve(n)));
  });
}

function readAt(fd: number, buf: Uint8Array, offset: number, length: number, position: number): Promise<number> {
  return new Promise((resolve, reject) => {
    fs.read(fd, buf, offset, length, position, (err, n) => (err ? reject(err) : resolve(n)));
  });
}

/** Appends up to this size are written synchronously (see append()); larger ones on the thread pool. */
const INLINE_WRITE_MAX = 256 << 10;

/**
 * Appends with positioned writes straight to the fd (no user-space buffering: the caller batches). The
 * position is taken when append() is called, so appends land in call order even if they overlap.
 */
class NodeWritableFile implements WritableFile {
  private written = 0;
  private closed = false;

  constructor(
    private readonly fd: number,
    private readonly path: string,
  ) {}

  get size(): number {
    return this.written;
  }

  async append(data: Uint8Array): Promise<void> {
    // A write into the page cache takes microseconds (tens for 256 KiB): cheaper on this thread than
    // a thread-pool round trip, which dominated every unsynced put. LevelDB writes inline too.
    // Table flushes and compaction outputs come in larger chunks and stay on the pool.
    if (data.length <= INLINE_WRITE_MAX) {
      this.appendSync(data);
      return;
    }
    if (this.closed) throw new IOError(`append ${this.path}: file is closed`);
    let pos = this.written;
    this.written += data.length;
    let off = 0;
    try {
      while (off < data.length) {
        const n = await writeAt(this.fd, data, off, data.length - off, pos);
        off += n;
        pos += n;
      }
    } catch (err) {
      throw ioError('write', this.path, err);
    }
  }

  appendSync(data: Uint8Array): void {
    if (this.closed) throw new IOError(`append ${this.path}: file is closed`);
    let pos = this.written;
    this.written += data.length;
    let off = 0;
    try {
      while (off < data.length) {
        const n = fs.writeSync(this.fd, data, off, data.length - off, pos);
        off += n;
        pos += n;
      }
    } catch (err) {
      throw ioError('write', this.path, err);
    }
  }

  async sync(): Promise<void> {
    try {
      await new Promise<void>((resolve, reject) => fs.fdatasync(this.fd, (err) => (err ? reject(err) : resolve())));
    } catch (err) {
      throw ioError('fdatasync', this.path, err);
    }
  }

  syncSync(): void {
    try {
      fs.fdatasyncSync(this.fd);
    } catch (err) {
      throw ioError('fdatasync', this.path, err);
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    try {
      await new Promise<void>((resolve, reject) => fs.close(this.fd, (err) => (err ? reject(err) : resolve())));
    } catch (err) {
      throw ioError('close', this.path, err);
    }
  }
}

class NodeRandomAccessFile implements RandomAccessFile {
  constructor(
    private readonly fd: number,
    private readonly path: string,
    readonly size: number,
  ) {}

  async read(offset: number, length: number): Promise<Buffer> {
    // Not allocUnsafe: a small block would be a slice of Node's shared 8 KiB pool, which the block cache
    // would keep alive while charging only the block's size.
    const buf = Buffer.allocUnsafeSlow(length);
    let got = 0;
    try {
      while (got < length) {
        const n = await readAt(this.fd, buf, got, length - got, offset + got);
        if (n === 0) break;
        got += n;
      }
    } catch (err) {
      throw ioError('read', this.path, err);
    }
    if (got < length) throw new CorruptionError(`short read: ${got} of ${length} bytes`, this.path, offset);
    return buf;
  }

  readSync(offset: number, length: number, into?: Buffer): Buffer {
    // Not allocUnsafe: a small block would be a slice of Node's shared 8 KiB pool, which the block cache
    // would keep alive while charging only the block's size.
    const buf = into !== undefined && into.length >= length ? into.subarray(0, length) : Buffer.allocUnsafeSlow(length);
    let got = 0;
    try {
      while (got < length) {
        const n = fs.readSync(this.fd, buf, got, length - got, offset + got);
        if (n === 0) break;
        got += n;
      }
    } catch (err) {
      throw ioError('read', this.path, err);
    }
    if (got < length) throw new CorruptionError(`short read: ${got} of ${length} bytes`, this.path, offset);
    return buf;
  }

  async close(): Promise<void> {
    try {
      await new Promise<void>((resolve, reject) => fs.close(this.fd, (err) => (err ? reject(err) : resolve())));
    } catch (err) {
      throw ioError('close', this.path, err);
    }
  }
}

/**
 * Lock files held by this process, by absolute path. A pid alone cannot tell two opens in one process
 * apart, so this set does.
 */
const heldLocks = new Set<string>();

/** True if a process with this pid exists (signal 0 checks without signalling; EPERM means it exists). */
function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return errno(err) !== 'ESRCH';
  }
}

export class NodeFileSystem implements FileSystem {
  async openWritable(path: string): Promise<WritableFile> {
    try {
      return new NodeWritableFile(await openFd(path, 'w'), path);
    } catch (err) {
      throw ioError('open', path, err);
    }
  }

  async openRandomAccess(path: string): Promise<RandomAccessFile> {
    let fd: number;
    try {
      fd = await openFd(path, 'r');
    } catch (err) {
      throw ioError('open', path, err);
    }
    try {
      const st = await new Promise<fs.Stats>((resolve, reject) =>
        fs.fstat(fd, (err, s) => (err ? reject(err) : resolve(s))),
      );
      return new NodeRandomAccessFile(fd, path, st.size);
    } catch (err) {
      fs.closeSync(fd);
      throw ioError('fstat', path, err);
    }
  }

  openRandomAccessSync(path: string): RandomAccessFile {
    let fd: number;
    try {
      fd = fs.openSync(path, 'r');
    } catch (err) {
      throw ioError('open', path, err);
    }
    try {
      return new NodeRandomAccessFile(fd, path, fs.fstatSync(fd).size);
    } catch (err) {
      fs.closeSync(fd);
      throw ioError('fstat', path, err);
    }
  }

  async readFile(path: string): Promise<Buffer> {
    try {
      return await fsp.readFile(path);
    } catch (err) {
      throw ioError('read', path, err);
    }
  }

  async rename(from: string, to: string): Promise<void> {
    try {
      await fsp.rename(from, to);
    } catch (err) {
      throw ioError('rename', `${from} -> ${to}`, err);
    }
  }

  async remove(path: string): Promise<void> {
    try {
      await fsp.unlink(path);
    } catch (err) {
      if (errno(err) !== 'ENOENT') throw ioError('remove', path, err);
    }
  }

  async list(dir: string): Promise<string[]> {
    try {
      return await fsp.readdir(dir);
    } catch (err) {
      if (errno(err) === 'ENOENT') return [];
      throw ioError('list', dir, err);
    }
  }

  async exists(path: string): Promise<boolean> {
    try {
      await fsp.stat(path);
      return true;
    } catch (err) {
      if (errno(err) === 'ENOENT') return false;
      throw ioError('stat', path, err);
    }
  }

  async size(path: string): Promise<number> {
    try {
      return (await fsp.stat(path)).size;
    } catch (err) {
      throw ioError('stat', path, err);
    }
  }

  async mkdir(dir: string): Promise<void> {
    try {
      await fsp.mkdir(dir, { recursive: true });
    } catch (err) {
      throw ioError('mkdir', dir, err);
    }
  }

  async syncDir(dir: string): Promise<void> {
    let fh: fsp.FileHandle | undefined;
    try {
      fh = await fsp.open(dir, 'r');
      await fh.sync();
    } catch (err) {
      throw ioError('fsync directory', dir, err);
    } finally {
      await fh?.close();
    }
  }

  /**
   * The LOCK file holds the holder's pid. Refused (LockedError) if this process already holds it, or if
   * the pid in it is a live process; a LOCK whose pid is dead (or that is empty or unreadable: a crash
   * between creating and writing it) is stale and taken over.
   *
   * Caveats of pid files: (1) if the holder died and the OS reused its pid for an unrelated process, the
   * lock looks held until that process exits (remove LOCK by hand if you are sure); (2) pids are per
   * host and per pid namespace, so this does not protect a directory shared between hosts or containers;
   * (3) two processes taking over the same stale LOCK in the same instant can both succeed — the
   * read-back check below narrows that window but cannot close it without an OS lock, which node:fs lacks.
   */
  async lock(path: string): Promise<FileLock> {
    const key = nodePath.resolve(path);
    if (heldLocks.has(key)) throw new LockedError(`${path} is already locked by this process`);
    heldLocks.add(key); // before any await, so a concurrent lock() in this process is refused
    try {
      await this.acquire(path);
    } catch (err) {
      heldLocks.delete(key);
      throw err;
    }
    let released = false;
    return {
      release: async () => {
        if (released) return;
        released = true;
        heldLocks.delete(key);
        await this.remove(path);
      },
    };
  }

  private async acquire(path: string): Promise<void> {
    const me = `${process.pid}\n`;
    try {
      await fsp.writeFile(path, me, { flag: 'wx' });
      return;
    } catch (err) {
      if (errno(err) !== 'EEXIST') throw ioError('create lock', path, err);
    }
    let text: string;
    try {
      text = await fsp.readFile(path, 'utf8');
    } catch (err) {
      throw ioError('read lock', path, err);
    }
    const pid = /^\d+$/.test(text.trim()) ? Number(text.trim()) : NaN;
    // Our own pid with no entry in heldLocks: a previous holder in this process that never released,
    // or a dead process whose pid we now carry. Either way nobody holds it.
    if (Number.isSafeInteger(pid) && pid > 0 && pid !== process.pid && processAlive(pid)) {
      throw new LockedError(`${path} is held by process ${pid}`);
    }
    try {
      await fsp.writeFile(path, me);
      if ((await fsp.readFile(path, 'utf8')) !== me) throw new LockedError(`${path} was taken by another process`);
    } catch (err) {
      if (err instanceof LockedError) throw err;
      throw ioError('take over lock', path, err);
    }
  }
}

function openFd(path: string, flags: string): Promise<number> {
  return new Promise((resolve, reject) => fs.open(path, flags, (err, fd) => (err ? reject(err) : resolve(fd))));
}
