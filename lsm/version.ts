/**
 * A Version: the immutable set of table files, per level, that together with the memtables make up the
 * database at one moment. L0 files may overlap and are kept newest first (by file number: a flush
 * always gets a higher number than the flushes before it); files of levels >= 1 do not overlap and are
 * kept in key order, so a lookup binary-searches them.
 *
 * Versions are reference counted. The version set holds the current one; a read in progress or an open
 * iterator holds the one it started with. A file is deleted only when no live version lists it, so a
 * long scan keeps its tables on disk while flushes and compactions install newer versions.
 */
import type { Comparator } from './comparator.js';
import type { InternalKeyComparator } from './dbformat.js';
import { extractUserKey, KIND_VALUE, TRAILER_SIZE, trailerKind } from './dbformat.js';
import type { InternalIterator } from './iterator.js';
import type { TableCache, TableHandle } from './table-cache.js';
import type { Table } from './table/table.js';
import type { FileMetaData, VersionEdit } from './version-edit.js';
import { NUM_LEVELS } from './version-edit.js';

export type LookupResult = { kind: 'value'; value: Buffer } | { kind: 'deleted' };

const DELETED: LookupResult = Object.freeze({ kind: 'deleted' });
/** Version.getIfOpen's answer when a table it must search is not open yet. */
export interface NeedsOpen {
  kind: 'open';
  number: number;
}

/** Compares the user key of internal key `a` with user key `b`, in place when the comparator can. */
function userKeyCompare(ucmp: Comparator, a: Uint8Array, b: Uint8Array): number {
  const end = a.length - TRAILER_SIZE;
  if (ucmp.compareRange !== undefined) return ucmp.compareRange(a, 0, end, b, 0, b.length);
  return ucmp.compare(a.subarray(0, end), b);
}

export class Version {
  private refs = 0;

  constructor(
    readonly files: readonly (readonly FileMetaData[])[],
    private readonly onRelease: (v: Version) => void,
  ) {}

  ref(): void {
    this.refs++;
  }

  unref(): void {
    if (this.refs <= 0) throw new Error('version unreferenced more often than referenced');
    if (--this.refs === 0) this.onRelease(this);
  }

  numFiles(level: number): number {
    return this.files[level]?.length ?? 0;
  }

  /** Every file of the version (level, meta), for the live-file set and iterators. */
  *allFiles(): IterableIterator<[number, FileMetaData]> {
    for (let level = 0; level < this.files.length; level++) for (const f of this.files[level]!) yield [level, f];
  }

  /**
   * The newest version of userKey visible at the lookup key's sequence, searching L0 newest first and
   * then one file per deeper level; undefined if no table knows the key. Values are copies.
   */
  async get(lookupKey: Buffer, userKey: Uint8Array, icmp: InternalKeyComparator, tables: TableCache): Promise<LookupResult | undefined> {
    // Open what the search needs, one table at a time, pinned until the search is done (so that a
    // small table cache cannot evict one while the next opens), then search again.
    const pinned: TableHandle[] = [];
    try {
      for (;;) {
        const r = this.getIfOpen(lookupKey, userKey, icmp, tables);
        if (r === undefined || r.kind !== 'open') return r;
        pinned.push(await tables.acquire(r.number));
      }
    } finally {
      for (const h of pinned) tables.release(h);
    }
  }

  /**
   * get() without leaving the caller's task, as long as every table it has to search is open already
   * (the common case: the table cache keeps up to maxOpenFiles open) or small enough to open here
   * (TableCache.tryAcquire); otherwise { kind: 'open' } with the first table that is neither.
   */
  getIfOpen(lookupKey: Buffer, userKey: Uint8Array, icmp: InternalKeyComparator, tables: TableCache): LookupResult | NeedsOpen | undefined {
    const ucmp = icmp.user;
    // Candidate files in search order: L0 newest first, then one file per deeper level.
    for (let level = 0; level < this.files.length; level++) {
      const files = this.files[level]!;
      for (let i = level === 0 ? 0 : findFile(icmp, files, lookupKey); i < files.length; i++) {
        const f = files[i]!;
        if (userKeyCompare(ucmp, f.smallest, userKey) > 0) {
          if (level === 0) continue;
          break;
        }
        if (level === 0 && userKeyCompare(ucmp, f.largest, userKey) < 0) continue;
        const h = tables.tryAcquire(f.number, f.size);
        if (h === undefined) return { kind: 'open', number: f.number };
        const r = searchTable(tables, h, lookupKey, userKey, ucmp);
        if (r !== undefined) return r;
        if (level > 0) break;
      }
    }
    return undefined;
  }

  /**
   * Opens (and pins) every table of the version that meets `range` (default: all) and returns one
   * iterator per L0 file and one per deeper level. The caller releases `handles` when the iterators
   * are no longer used.
   */
  async iterators(icmp: InternalKeyComparator, tables: TableCache, range: UserKeyRange = {}): Promise<{ iters: InternalIterator[]; handles: TableHandle[] }> {
    const handles: TableHandle[] = [];
    const iters: InternalIterator[] = [];
    const overlaps = (f: FileMetaData): boolean => fileOverlaps(icmp.user, f, range.lower, range.upper);
    try {
      for (const f of this.files[0]!) {
        if (!overlaps(f)) continue;
        const h = await tables.acquire(f.number);
        handles.push(h);
        iters.push(h.value.iterator());
      }
      for (let level = 1; level < this.files.length; level++) {
        const files = this.files[level]!.filter(overlaps);
        if (files.length === 0) continue;
        const opened: Table[] = [];
        for (const f of files) {
          const h = await tables.acquire(f.number);
          handles.push(h);
          opened.push(h.value);
        }
        iters.push(new LevelIterator(icmp, files, opened));
      }
    } catch (err) {
      for (const h of handles) tables.release(h);
      throw err;
    }
    return { iters, handles };
  }

  /** A new version: this one with the edit's deletions and additions applied. */
  apply(edit: VersionEdit, icmp: InternalKeyComparator, onRelease: (v: Version) => void): Version {
    const levels: FileMetaData[][] = [];
    for (let level = 0; level < NUM_LEVELS; level++) {
      const deleted = new Set(edit.deletedFiles.filter((d) => d.level === level).map((d) => d.number));
      const files = (this.files[level] ?? []).filter((f) => !deleted.has(f.number));
      for (const n of edit.newFiles) if (n.level === level && !deleted.has(n.file.number)) files.push(n.file);
      if (level === 0) files.sort((a, b) => b.number - a.number);
      else files.sort((a, b) => icmp.compare(a.smallest, b.smallest) || a.number - b.number);
      levels.push(files);
    }
    return new Version(levels, onRelease);
  }

  /** "L0: 12 11 | L1: 7" — for logs and tests. */
  describe(): string {
    return this.files
      .map((fs, level) => (fs.length === 0 ? '' : `L${level}: ${fs.map((f) => f.number).join(' ')}`))
      .filter((s) => s !== '')
      .join(' | ');
  }
}

export function emptyVersion(onRelease: (v: Version) => void): Version {
  return new Version(
    Array.from({ length: NUM_LEVELS }, () => []),
    onRelease,
  );
}

/** Looks lookupKey up in a pinned table and releases it. */
function searchTable(
  tables: TableCache,
  h: TableHandle,
  lookupKey: Buffer,
  userKey: Uint8Array,
  ucmp: Comparator,
): LookupResult | undefined {
  try {
    const e = h.value.get(lookupKey);
    if (e === undefined || e.key.length < TRAILER_SIZE || userKeyCompare(ucmp, e.key, userKey) !== 0) return undefined;
    return trailerKind(e.key, e.key.length) === KIND_VALUE ? { kind: 'value', value: Buffer.from(e.value) } : DELETED;
  } finally {
    tables.release(h);
  }
}

/** Index of the first file whose largest key is >= ikey (files.length if none). */
export function findFile(icmp: Comparator, files: readonly FileMetaData[], ikey: Uint8Array): number {
  let lo = 0;
  let hi = files.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (icmp.compare(files[mid]!.largest, ikey) < 0) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** User keys a scan can reach (both ends inclusive; absent = unbounded): tables wholly outside are not opened. */
export interface UserKeyRange {
  readonly lower?: Uint8Array;
  readonly upper?: Uint8Array;
}

/** Whether the table's user keys meet [lower, upper] (both inclusive; undefined = unbounded). */
export function fileOverlaps(ucmp: Comparator, f: FileMetaData, lower: Uint8Array | undefined, upper: Uint8Array | undefined): boolean {
  if (lower !== undefined && ucmp.compare(extractUserKey(f.largest), lower) < 0) return false;
  if (upper !== undefined && ucmp.compare(extractUserKey(f.smallest), upper) > 0) return false;
  return true;
}

/** Concatenates the (non-overlapping, ordered) tables of one level >= 1. */
export class LevelIterator implements InternalIterator {
  private index = -1;
  private cur: InternalIterator | null = null;

  constructor(
    private readonly icmp: Comparator,
    private readonly files: readonly FileMetaData[],
    private readonly tables: readonly Table[],
    /** false: read blocks past the block cache (see Table.iterator). */
    private readonly fillCache = true,
  ) {}

  valid(): boolean {
    return this.cur !== null && this.cur.valid();
  }

  key(): Uint8Array {
    if (this.cur === null) throw new Error('iterator is not valid');
    return this.cur.key();
  }

  value(): Uint8Array {
    if (this.cur === null) throw new Error('iterator is not valid');
    return this.cur.value();
  }

  seek(target: Uint8Array): void {
    this.open(findFile(this.icmp, this.files, target));
    this.cur?.seek(target);
    this.skipForward();
  }

  seekToFirst(): void {
    this.open(0);
    this.cur?.seekToFirst();
    this.skipForward();
  }

  seekToLast(): void {
    this.open(this.files.length - 1);
    this.cur?.seekToLast();
    this.skipBackward();
  }

  next(): void {
    if (!this.valid()) throw new Error('iterator is not valid');
    this.cur!.next();
    this.skipForward();
  }

  prev(): void {
    if (!this.valid()) throw new Error('iterator is not valid');
    this.cur!.prev();
    this.skipBackward();
  }

  private open(i: number): void {
    this.index = i;
    const t = this.tables[i];
    this.cur = t === undefined ? null : t.iterator({ fillCache: this.fillCache });
  }

  private skipForward(): void {
    while (this.cur !== null && !this.cur.valid()) {
      this.open(this.index + 1);
      this.cur?.seekToFirst();
    }
  }

  private skipBackward(): void {
    while (this.cur !== null && !this.cur.valid()) {
      this.open(this.index - 1);
      this.cur?.seekToLast();
    }
  }
}
