/**
 * Durable Raft state — hard state, the latest snapshot and the log after it — in an LSM database of our
 * own engine (lsm/). Every persist() and compact() is ONE WriteBatch written with sync, so a crash leaves
 * either all of a call's changes or none, and a resolved call is on disk. Key layout: STORAGE.md.
 *
 * The storage keeps a copy of what is stored (the log is compacted at a threshold, so it stays small) to
 * compute which keys a write replaces and to check the invariants a Raft log must keep:
 *   - entries are contiguous, from snapshot.index + 1 (1 without a snapshot), terms never decreasing;
 *   - hardState.commit ≤ the last index (of the log, or of the snapshot).
 * A write that would break them is refused (RAFT_STORAGE_BAD_WRITE) and stored state that breaks them is
 * refused at open (RAFT_STORAGE_CORRUPT): a node must not start with a broken log.
 */
import { DB, type FileSystem, type Logger, WriteBatch } from '../../lsm/index.js';
import {
  FormatError,
  HARD_STATE_KEY,
  META_KEY,
  SNAPSHOT_KEY,
  STORAGE_VERSION,
  decodeEntry,
  decodeHardState,
  decodeMetaVersion,
  decodeSnapshot,
  encodeEntry,
  encodeHardState,
  encodeMeta,
  encodeSnapshot,
  entryIndexOf,
  entryKey,
} from './storage-format.js';
import {
  RaftStorageClosedError,
  RaftStorageCorruptError,
  RaftStorageVersionError,
  RaftStorageWriteError,
} from './storage-errors.js';
import type { Entry, HardState, PersistedState, Snapshot } from './types.js';

export { RaftStorageClosedError, RaftStorageCorruptError, RaftStorageVersionError, RaftStorageWriteError };

export interface RaftStorageOptions {
  /** File system of the LSM database (default: the real disk; tests pass a MemFileSystem). */
  readonly fs?: FileSystem;
  readonly logger?: Logger;
}

export interface PersistInput {
  readonly hardState?: HardState;
  readonly entries: readonly Entry[];
  readonly snapshot?: Snapshot;
}

const EMPTY_HARD_STATE: HardState = { term: 0, vote: '', commit: 0 };

export class RaftStorage {
  /** Serializes writes: each one computes its batch from the state the previous one left. */
  private tail: Promise<void> = Promise.resolve();
  private closed = false;

  private constructor(
    private readonly dir: string,
    private readonly db: DB,
    private hardState: HardState,
    private snap: Snapshot | undefined,
    private entries: Entry[],
  ) {}

  static async open(dir: string, options: RaftStorageOptions = {}): Promise<RaftStorage> {
    // Flushes and compactions in this thread: the Raft log is small and rarely compacts, not worth a
    // worker thread of its own (lsm/THREADS.md); the replica store has one.
    const db = await DB.open(dir, { fs: options.fs, logger: options.logger, backgroundThread: false });
    try {
      const { hardState, snapshot, entries } = await recover(dir, db);
      return new RaftStorage(dir, db, hardState, snapshot, [...entries]);
    } catch (err) {
      await db.close();
      throw err;
    }
  }

  /** What is stored: the hard state, the latest snapshot and the entries after it (as of the last write). */
  load(): PersistedState {
    const entries = [...this.entries];
    return this.snap === undefined ? { hardState: this.hardState, entries } : { hardState: this.hardState, snapshot: this.snap, entries };
  }

  /** Index of the first stored entry (snapshot index + 1); lastIndex() below it means an empty log. */
  firstIndex(): number {
    return (this.snap?.index ?? 0) + 1;
  }

  lastIndex(): number {
    return this.firstIndex() + this.entries.length - 1;
  }

  /**
   * Stores a Ready's snapshot (it replaces the log up to its index; the entries after it survive only if
   * the stored entry at its index has its term), hard state and entries (the first one's index overwrites
   * the stored log from there on), in one synced batch.
   */
  persist(rd: PersistInput): Promise<void> {
    return this.serialize(() => this.doPersist(rd));
  }

  /** Stores `snapshot` and deletes the entries it covers; for a snapshot of our own applied state. */
  compact(snapshot: Snapshot): Promise<void> {
    return this.serialize(() => this.doCompact(snapshot));
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.tail.catch(() => undefined);
    await this.db.close();
  }

  private serialize(op: () => Promise<void>): Promise<void> {
    if (this.closed) return Promise.reject(new RaftStorageClosedError());
    const run = this.tail.then(op);
    this.tail = run.catch(() => undefined);
    return run;
  }

  private async doPersist(rd: PersistInput): Promise<void> {
    const batch = new WriteBatch();
    let snap = this.snap;
    let log = this.entries;
    let first = this.firstIndex();
    if (rd.snapshot !== undefined && rd.snapshot.index > (snap?.index ?? 0)) {
      const s = rd.snapshot;
      const at = log[s.index - first];
      const keep = at !== undefined && at.term === s.term ? log.slice(s.index - first + 1) : [];
      for (const e of log) if (e.index <= s.index || keep.length === 0) batch.del(entryKey(e.index));
      batch.put(SNAPSHOT_KEY, encodeSnapshot(s));
      snap = s;
      log = keep;
      first = s.index + 1;
    }
    let appended: readonly Entry[] = [];
    const fresh = rd.entries.filter((e) => e.index >= first); // older ones are inside the snapshot
    if (fresh.length > 0) {
      const start = fresh[0]!.index;
      const last = first + log.length - 1;
      if (start > last + 1) throw new RaftStorageWriteError(`entries from ${start} leave a gap after the last stored index ${last}`);
      fresh.forEach((e, i) => {
        if (e.index !== start + i) throw new RaftStorageWriteError(`entries not contiguous: ${e.index} after ${start + i - 1}`);
        if (i > 0 && e.term < fresh[i - 1]!.term) throw new RaftStorageWriteError(`entry ${e.index}: term goes back`);
      });
      const prevTerm = start > first ? log[start - 1 - first]!.term : (snap?.term ?? 0);
      if (fresh[0]!.term < prevTerm) throw new RaftStorageWriteError(`entry ${start}: term ${fresh[0]!.term} below ${prevTerm} before it`);
      const lastNew = fresh[fresh.length - 1]!.index;
      for (let i = lastNew + 1; i <= last; i++) batch.del(entryKey(i));
      for (const e of fresh) batch.put(entryKey(e.index), encodeEntry(e));
      // The common case appends: extend the array after the write instead of copying the whole log.
      log = start === last + 1 && log === this.entries ? log : [...log.slice(0, start - first), ...fresh];
      appended = log === this.entries ? fresh : [];
    }
    const hs = rd.hardState ?? this.hardState;
    const lastIndex = first + log.length + appended.length - 1;
    if (hs.commit > lastIndex) throw new RaftStorageWriteError(`commit ${hs.commit} beyond the last index ${lastIndex}`);
    if (rd.hardState !== undefined) batch.put(HARD_STATE_KEY, encodeHardState(rd.hardState));
    if (batch.count() === 0) return;
    await this.db.write(batch, { sync: true });
    this.snap = snap;
    if (log === this.entries) for (const e of appended) this.entries.push(e);
    else this.entries = log;
    this.hardState = hs;
  }

  private async doCompact(s: Snapshot): Promise<void> {
    const first = this.firstIndex();
    if (s.index < first) return; // an older or the same snapshot: nothing to do
    const at = this.entries[s.index - first];
    if (at === undefined) throw new RaftStorageWriteError(`cannot compact to ${s.index}: the log ends at ${this.lastIndex()}`);
    if (at.term !== s.term) throw new RaftStorageWriteError(`snapshot at ${s.index} has term ${s.term}, the entry there ${at.term}`);
    const batch = new WriteBatch().put(SNAPSHOT_KEY, encodeSnapshot(s));
    for (let i = first; i <= s.index; i++) batch.del(entryKey(i));
    await this.db.write(batch, { sync: true });
    this.snap = s;
    this.entries = this.entries.slice(s.index - first + 1);
  }
}

/** Reads everything stored and checks it is a consistent Raft state; writes the magic into a new store. */
async function recover(dir: string, db: DB): Promise<PersistedState> {
  const corrupt = (m: string): RaftStorageCorruptError => new RaftStorageCorruptError(dir, m);
  let version: number | undefined;
  let hardState = EMPTY_HARD_STATE;
  let snapshot: Snapshot | undefined;
  const entries: Entry[] = [];
  let keys = 0;
  for await (const [key, value] of db.iterator()) {
    keys++;
    try {
      if (key.equals(META_KEY)) version = decodeMetaVersion(value);
      else if (key.equals(HARD_STATE_KEY)) hardState = decodeHardState(value);
      else if (key.equals(SNAPSHOT_KEY)) snapshot = decodeSnapshot(value);
      else {
        const index = entryIndexOf(key);
        if (index === undefined) throw new FormatError(`unknown key ${key.toString('hex')}`);
        entries.push(decodeEntry(index, value));
      }
    } catch (err) {
      if (err instanceof FormatError) throw corrupt(`key ${key.toString('hex')}: ${err.message}`);
      throw err;
    }
  }
  if (keys === 0) {
    await db.put(META_KEY, encodeMeta(), { sync: true });
    return { hardState, entries };
  }
  if (version === undefined) throw corrupt('no magic record (not a raft store, or its first write was lost)');
  if (version !== STORAGE_VERSION) throw new RaftStorageVersionError(dir, version, STORAGE_VERSION);
  // Entry keys iterate in index order (big-endian); check contiguity and terms from the snapshot on.
  let expect = (snapshot?.index ?? 0) + 1;
  let term = snapshot?.term ?? 0;
  for (const e of entries) {
    if (e.index !== expect) {
      throw corrupt(e.index < expect ? `entry ${e.index} is covered by the snapshot at ${expect - 1}` : `gap in the log: entry ${e.index} follows ${expect - 1}`);
    }
    if (e.term < term) throw corrupt(`entry ${e.index} has term ${e.term}, below ${term} before it`);
    term = e.term;
    expect++;
  }
  if (hardState.commit > expect - 1) throw corrupt(`commit ${hardState.commit} beyond the last stored index ${expect - 1}`);
  return snapshot === undefined ? { hardState, entries } : { hardState, snapshot, entries };
}
