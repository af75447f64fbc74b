/**
 * An in-memory file system for tests and the simulator: deterministic, and able to lose power.
 *
 * Crash model (crash()):
 *  - File data: each file (an inode, shared by every name and handle for it) remembers how many bytes
 *    were synced; a crash cuts it back to that length. Appends are never partially persisted otherwise.
 *  - Directory entries: creating, renaming and removing names change the live namespace; syncDir(dir)
 *    commits dir's live entries as its durable ones. A crash restores every directory to its last
 *    committed entries, so an un-synced create, rename or remove is undone.
 *  - Directories themselves are durable as soon as mkdir returns (simpler, and the engine creates its
 *    directory once before anything else).
 *  - Handles opened before a crash fail afterwards (the process that held them is gone), and locks are
 *    released.
 * openWritable on an existing name binds the name to a new, empty inode (modelled as replacing the
 * file): until the directory is synced, a crash brings the old contents back.
 */
import * as posix from 'node:path/posix';
import type { FileLock, FileSystem, RandomAccessFile, WritableFile } from './env.js';
import { CorruptionError, IOError, LockedError } from './errors.js';

class Inode {
  data = Buffer.alloc(0);
  length = 0;
  synced = 0;

  append(bytes: Uint8Array): void {
    const need = this.length + bytes.length;
    if (need > this.data.length) {
      const grown = Buffer.alloc(Math.max(need, this.data.length * 2, 256));
      this.data.copy(grown, 0, 0, this.length);
      this.data = grown;
    }
    this.data.set(bytes, this.length);
    this.length = need;
  }

  contents(): Buffer {
    return Buffer.from(this.data.subarray(0, this.length));
  }
}

type Dir = Map<string, Inode>;

function norm(path: string): string {
  const p = posix.normalize(path);
  return p.length > 1 && p.endsWith('/') ? p.slice(0, -1) : p;
}

export class MemFileSystem implements FileSystem {
  private live = new Map<string, Dir>();
  private durable = new Map<string, Dir>();
  private locks = new Set<string>();
  /** Bumped by crash(): handles from an older generation refuse to work. */
  private generation = 0;

  constructor() {
    for (const root of ['/', '.']) {
      this.live.set(root, new Map());
      this.durable.set(root, new Map());
    }
  }

  async openWritable(path: string): Promise<WritableFile> {
    const [dir, name] = this.locate(path, 'open');
    const inode = new Inode();
    dir.set(name, inode);
    return Promise.resolve(new MemWritableFile(this, inode, norm(path), this.generation));
  }

  async openRandomAccess(path: string): Promise<RandomAccessFile> {
    return Promise.resolve(this.openRandomAccessSync(path));
  }

  openRandomAccessSync(path: string): RandomAccessFile {
    const inode = this.inode(path, 'open');
    return new MemRandomAccessFile(this, inode, norm(path), this.generation);
  }

  async readFile(path: string): Promise<Buffer> {
    return Promise.resolve(this.inode(path, 'read').contents());
  }

  async rename(from: string, to: string): Promise<void> {
    const [fromDir, fromName] = this.locate(from, 'rename');
    const inode = fromDir.get(fromName);
    if (inode === undefined) throw new IOError(`rename ${from} -> ${to}: no such file`);
    const [toDir, toName] = this.locate(to, 'rename');
    fromDir.delete(fromName);
    toDir.set(toName, inode);
    return Promise.resolve();
  }

  async remove(path: string): Promise<void> {
    const dir = this.live.get(posix.dirname(norm(path)));
    dir?.delete(posix.basename(norm(path)));
    return Promise.resolve();
  }

  async list(dir: string): Promise<string[]> {
    const d = norm(dir);
    const entries = this.live.get(d);
    if (entries === undefined) return [];
    const names = [...entries.keys()];
    for (const sub of this.live.keys()) if (sub !== d && posix.dirname(sub) === d) names.push(posix.basename(sub));
    return Promise.resolve(names.sort());
  }

  async exists(path: string): Promise<boolean> {
    const p = norm(path);
    return Promise.resolve(this.live.has(p) || this.live.get(posix.dirname(p))?.has(posix.basename(p)) === true);
  }

  async size(path: string): Promise<number> {
    return Promise.resolve(this.inode(path, 'stat').length);
  }

  async mkdir(dir: string): Promise<void> {
    for (let d = norm(dir); !this.live.has(d); d = posix.dirname(d)) {
      this.live.set(d, new Map());
      this.durable.set(d, new Map());
    }
    return Promise.resolve();
  }

  async syncDir(dir: string): Promise<void> {
    const d = norm(dir);
    const entries = this.live.get(d);
    if (entries === undefined) throw new IOError(`fsync directory ${dir}: no such directory`);
    this.durable.set(d, new Map(entries));
    return Promise.resolve();
  }

  /** Exclusive within this instance (which stands for one machine); a crash frees every lock. */
  async lock(path: string): Promise<FileLock> {
    const p = norm(path);
    if (this.locks.has(p)) throw new LockedError(`${path} is already locked`);
    const [dir, name] = this.locate(path, 'lock');
    this.locks.add(p);
    const inode = new Inode();
    inode.append(Buffer.from('1\n'));
    dir.set(name, inode);
    const generation = this.generation;
    let released = false;
    return Promise.resolve({
      release: async () => {
        if (released || generation !== this.generation) return;
        released = true;
        this.locks.delete(p);
        await this.remove(p);
      },
    });
  }

  /** Power loss: unsynced bytes and un-synced directory changes vanish; handles and locks die. */
  crash(): void {
    this.generation++;
    this.locks.clear();
    this.live = new Map();
    for (const [d, entries] of this.durable) this.live.set(d, new Map(entries));
    for (const entries of this.live.values()) {
      for (const inode of entries.values()) {
        inode.length = inode.synced;
        inode.data.fill(0, inode.length); // keep dropped bytes from resurfacing on a later append
      }
    }
  }

  /** Flips every bit of the byte at `offset` (a test of checksums). */
  corrupt(path: string, offset: number): void {
    const inode = this.inode(path, 'corrupt');
    if (offset < 0 || offset >= inode.length) throw new IOError(`corrupt ${path}: offset ${offset} out of range`);
    inode.data[offset] = inode.data[offset]! ^ 0xff;
  }

  /** Cuts a file to `length` bytes (or zero-extends it), as if that were on disk. */
  truncate(path: string, length: number): void {
    const inode = this.inode(path, 'truncate');
    if (length > inode.length) inode.append(Buffer.alloc(length - inode.length));
    inode.data.fill(0, length);
    inode.length = length;
    inode.synced = Math.min(inode.synced, length);
  }

  /** Bytes of the file that would survive a crash's data loss (its name may still be lost). */
  syncedSize(path: string): number {
    return this.inode(path, 'stat').synced;
  }

  /** @internal for handles */
  checkGeneration(generation: number, path: string): void {
    if (generation !== this.generation) throw new IOError(`${path}: file handle from before a crash`);
  }

  private locate(path: string, op: string): [Dir, string] {
    const p = norm(path);
    const dir = this.live.get(posix.dirname(p));
    if (dir === undefined) throw new IOError(`${op} ${path}: no such directory`);
    if (this.live.has(p)) throw new IOError(`${op} ${path}: is a directory`);
    return [dir, posix.basename(p)];
  }

  private inode(path: string, op: string): Inode {
    const p = norm(path);
    const inode = this.live.get(posix.dirname(p))?.get(posix.basename(p));
    if (inode === undefined) throw new IOError(`${op} ${path}: no such file`);
    return inode;
  }
}

class MemWritableFile implements WritableFile {
  private closed = false;

  constructor(
    private readonly fs: MemFileSystem,
    private readonly inode: Inode,
    private readonly path: string,
    private readonly generation: number,
  ) {}

  get size(): number {
    return this.inode.length;
  }

  async append(data: Uint8Array): Promise<void> {
    this.appendSync(data);
    return Promise.resolve();
  }

  appendSync(data: Uint8Array): void {
    this.check('append');
    this.inode.append(data);
  }

  async sync(): Promise<void> {
    this.syncSync();
    return Promise.resolve();
  }

  syncSync(): void {
    this.check('sync');
    this.inode.synced = this.inode.length;
  }

  async close(): Promise<void> {
    this.closed = true;
    return Promise.resolve();
  }

  private check(op: string): void {
    this.fs.checkGeneration(this.generation, this.path);
    if (this.closed) throw new IOError(`${op} ${this.path}: file is closed`);
  }
}

class MemRandomAccessFile implements RandomAccessFile {
  readonly size: number;

  constructor(
    private readonly fs: MemFileSystem,
    private readonly inode: Inode,
    private readonly path: string,
    private readonly generation: number,
  ) {
    this.size = inode.length;
  }

  async read(offset: number, length: number): Promise<Buffer> {
    return Promise.resolve(this.readSync(offset, length));
  }

  readSync(offset: number, length: number, into?: Buffer): Buffer {
    this.fs.checkGeneration(this.generation, this.path);
    if (offset < 0 || offset + length > this.inode.length) {
      throw new CorruptionError(`short read: ${length} bytes past the end`, this.path, offset);
    }
    // Into the caller's buffer when offered, as NodeFileSystem does (tests then see the reuse).
    if (into !== undefined && into.length >= length) {
      into.set(this.inode.data.subarray(offset, offset + length));
      return into.subarray(0, length);
    }
    return Buffer.from(this.inode.data.subarray(offset, offset + length));
  }

  async close(): Promise<void> {
    return Promise.resolve();
  }
}
