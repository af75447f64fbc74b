/**
 * The version set: the current Version, the counters that must survive a restart (next file number,
 * last sequence, log number) and the MANIFEST that records them.
 *
 * Durability protocol (the order matters):
 *  - logAndApply(edit) appends the edit to the manifest and syncs it BEFORE the new version is
 *    installed, so nothing ever reads (or deletes on the strength of) a state that a crash could undo.
 *  - A new manifest is started on every open (and after a failed manifest write): it opens with a
 *    snapshot edit of the whole current state, then the edit being applied; once that is synced, CURRENT
 *    is switched to it atomically — CURRENT.tmp written and synced, renamed over CURRENT, directory
 *    synced. Until the rename is durable, a crash leaves CURRENT naming the old, complete manifest.
 *  - recover() reads CURRENT, replays its manifest from the first edit and refuses a manifest written
 *    with another comparator. A torn last edit (a crash inside logAndApply) was never acknowledged: it
 *    is dropped and reported; damage before the tail is CorruptionError.
 */
import { joinPath, type FileSystem, type WritableFile } from './env.js';
import type { InternalKeyComparator } from './dbformat.js';
import { CorruptionError, InvalidArgumentError, IOError } from './errors.js';
import { CURRENT_FILE, CURRENT_TMP_FILE, manifestFileName, parseFileName } from './filename.js';
import type { Logger } from './options.js';
import { emptyVersion, type Version } from './version.js';
import { MANIFEST_MAGIC, NUM_LEVELS, VersionEdit } from './version-edit.js';
import { LogReader } from './wal/log-reader.js';
import { LogWriter } from './wal/log-writer.js';

export class VersionSet {
  /** Versions still referenced (the current one included): their files must stay. */
  private readonly live = new Set<Version>();
  private currentVersion: Version;
  private manifest: LogWriter | undefined;
  private manifestFile: WritableFile | undefined;
  private queue: Promise<void> = Promise.resolve();
  nextFileNumber = 2;
  lastSequence = 0;
  /** WAL files numbered below this hold nothing that is not in a table. */
  logNumber = 0;
  /** The number of the manifest being written (or to be written by the next logAndApply). */
  manifestFileNumber = 1;
  /** The manifest CURRENT names. */
  private currentManifest = 1;
  /**
   * Per level, the largest key of the last size-triggered compaction there (empty: none yet). Persisted
   * through the edits' compact-pointer fields, so the round-robin survives a restart.
   */
  readonly compactPointers: Buffer[] = Array.from({ length: NUM_LEVELS }, () => Buffer.alloc(0));

  constructor(
    private readonly fs: FileSystem,
    private readonly dir: string,
    private readonly icmp: InternalKeyComparator,
    private readonly logger: Logger,
    /** Called when a version is dropped: some files may have become obsolete. */
    private readonly onVersionReleased: () => void,
  ) {
    this.currentVersion = this.install(emptyVersion(this.released));
  }

  get current(): Version {
    return this.currentVersion;
  }

  newFileNumber(): number {
    return this.nextFileNumber++;
  }

  markFileNumberUsed(n: number): void {
    if (this.nextFileNumber <= n) this.nextFileNumber = n + 1;
  }

  /** Numbers of every table listed by a live version. */
  liveFiles(): Set<number> {
    const out = new Set<number>();
    for (const v of this.live) for (const [, f] of v.allFiles()) out.add(f.number);
    return out;
  }

  /** Writes the manifest and CURRENT of a new, empty database. */
  async create(): Promise<void> {
    const edit = new VersionEdit();
    edit.comparator = this.icmp.user.name;
    edit.logNumber = 0;
    edit.nextFileNumber = 2;
    edit.lastSequence = 0;
    const path = joinPath(this.dir, manifestFileName(1));
    const file = await this.fs.openWritable(path);
    try {
      const w = new LogWriter(file, { magic: MANIFEST_MAGIC });
      await w.addRecord(edit.encode());
      await w.sync();
    } finally {
      await file.close();
    }
    await this.setCurrent(1);
  }

  /** Loads the state named by CURRENT. */
  async recover(): Promise<void> {
    const currentPath = joinPath(this.dir, CURRENT_FILE);
    const text = (await this.fs.readFile(currentPath)).toString('latin1');
    const name = text.endsWith('\n') ? text.slice(0, -1) : '';
    const parsed = parseFileName(name);
    if (parsed?.kind !== 'manifest') throw new CorruptionError('CURRENT does not name a manifest', currentPath, 0);
    const path = joinPath(this.dir, name);
    if (!(await this.fs.exists(path))) throw new CorruptionError(`CURRENT names a missing manifest ${name}`, currentPath, 0);
    const reader = new LogReader(await this.fs.readFile(path), {
      file: path,
      magic: MANIFEST_MAGIC,
      reporter: (bytes, reason) => this.logger.warn('manifest: dropped an unfinished edit', { bytes, reason }),
    });
    let version = emptyVersion(this.released);
    let logNumber: number | undefined;
    let nextFile: number | undefined;
    let lastSeq: number | undefined;
    for (let rec = reader.readRecord(); rec !== undefined; rec = reader.readRecord()) {
      const edit = VersionEdit.decode(rec, path, reader.lastRecordOffset);
      if (edit.comparator !== undefined && edit.comparator !== this.icmp.user.name) {
        throw new InvalidArgumentError(`database was written with comparator ${edit.comparator}, not ${this.icmp.user.name}`);
      }
      for (const { file } of edit.newFiles) {
        // A file whose range is upside down overlaps nothing, not even itself: compaction picking would
        // find no inputs for it and retry forever. Only damage writes one (a sound edit under a valid CRC).
        if (this.icmp.compare(file.smallest, file.largest) > 0) {
          throw new CorruptionError(`manifest record: table ${file.number}'s smallest key sorts after its largest`, path, reader.lastRecordOffset);
        }
      }
      version = version.apply(edit, this.icmp, this.released);
      for (const c of edit.compactPointers) this.compactPointers[c.level] = c.key;
      logNumber = edit.logNumber ?? logNumber;
      nextFile = edit.nextFileNumber ?? nextFile;
      lastSeq = edit.lastSequence ?? lastSeq;
    }
    if (logNumber === undefined || nextFile === undefined || lastSeq === undefined) {
      throw new CorruptionError('manifest lacks the log number, next file number or last sequence', path);
    }
    this.logNumber = logNumber;
    this.nextFileNumber = nextFile;
    this.lastSequence = lastSeq;
    this.currentManifest = parsed.number;
    this.markFileNumberUsed(parsed.number);
    this.markFileNumberUsed(logNumber);
    for (const [, f] of version.allFiles()) this.markFileNumberUsed(f.number);
    this.manifestFileNumber = this.newFileNumber();
    this.replaceCurrent(version);
  }

  /**
   * Records the edit durably in the manifest, then makes the edited version current. Calls are
   * serialised. Sets the edit's next file number and last sequence (and log number if unset).
   */
  logAndApply(edit: VersionEdit, onInstall?: () => void): Promise<void> {
    const run = this.queue.then(() => this.doLogAndApply(edit, onInstall));
    this.queue = run.catch(() => {});
    return run;
  }

  async close(): Promise<void> {
    await this.queue;
    const f = this.manifestFile;
    this.manifest = undefined;
    this.manifestFile = undefined;
    await f?.close();
  }

  private async doLogAndApply(edit: VersionEdit, onInstall: (() => void) | undefined): Promise<void> {
    edit.logNumber ??= this.logNumber;
    if (edit.logNumber < this.logNumber || edit.logNumber >= this.nextFileNumber) {
      throw new InvalidArgumentError(`bad log number ${edit.logNumber} in version edit`);
    }
    edit.nextFileNumber = this.nextFileNumber;
    edit.lastSequence = this.lastSequence;
    const version = this.currentVersion.apply(edit, this.icmp, this.released);
    let created: string | undefined;
    try {
      if (this.manifest === undefined) {
        created = joinPath(this.dir, manifestFileName(this.manifestFileNumber));
        this.manifestFile = await this.fs.openWritable(created);
        this.manifest = new LogWriter(this.manifestFile, { magic: MANIFEST_MAGIC });
        await this.manifest.addRecord(this.snapshotEdit().encode());
      }
      await this.manifest.addRecord(edit.encode());
      await this.manifest.sync();
      if (created !== undefined) await this.setCurrent(this.manifestFileNumber);
    } catch (err) {
      // The manifest's tail is unknown now: the next edit starts a new one (under a new number).
      const f = this.manifestFile;
      this.manifest = undefined;
      this.manifestFile = undefined;
      await f?.close().catch(() => {});
      if (created !== undefined) await this.fs.remove(created).catch(() => {});
      this.manifestFileNumber = this.newFileNumber();
      throw err instanceof Error ? err : new IOError(String(err));
    }
    this.logNumber = edit.logNumber;
    for (const c of edit.compactPointers) this.compactPointers[c.level] = c.key;
    this.replaceCurrent(version);
    onInstall?.();
  }

  /** An edit that recreates the current state from nothing: the first record of a new manifest. */
  private snapshotEdit(): VersionEdit {
    const edit = new VersionEdit();
    edit.comparator = this.icmp.user.name;
    edit.logNumber = this.logNumber;
    edit.nextFileNumber = this.nextFileNumber;
    edit.lastSequence = this.lastSequence;
    this.compactPointers.forEach((key, level) => {
      if (key.length > 0) edit.setCompactPointer(level, key);
    });
    for (const [level, f] of this.currentVersion.allFiles()) edit.addFile(level, f);
    return edit;
  }

  /** Atomically points CURRENT at MANIFEST-n: temp file, sync, rename, sync the directory. */
  private async setCurrent(n: number): Promise<void> {
    const tmp = joinPath(this.dir, CURRENT_TMP_FILE);
    const file = await this.fs.openWritable(tmp);
    try {
      await file.append(Buffer.from(`${manifestFileName(n)}\n`, 'latin1'));
      await file.sync();
    } finally {
      await file.close();
    }
    await this.fs.rename(tmp, joinPath(this.dir, CURRENT_FILE));
    await this.fs.syncDir(this.dir);
    this.currentManifest = n;
  }

  /** True for the manifest CURRENT names and the one being (or about to be) written. */
  isLiveManifest(n: number): boolean {
    return n === this.currentManifest || n >= this.manifestFileNumber;
  }

  private install(v: Version): Version {
    this.live.add(v);
    v.ref();
    return v;
  }

  private replaceCurrent(v: Version): void {
    const old = this.currentVersion;
    this.currentVersion = this.install(v);
    old.unref();
  }

  private readonly released = (v: Version): void => {
    this.live.delete(v);
    this.onVersionReleased();
  };
}
