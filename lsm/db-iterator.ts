/**
 * The public iterator: an async iterable of [key, value] copies over a range, forward or reverse, at
 * one sequence number (a snapshot's, or the last one when it was created).
 *
 * Underneath is the synchronous DBIter; its tables are opened (and pinned) on the first next(). Every
 * YIELD_EVERY entries next() waits for a macrotask turn, so a long scan lets the server breathe.
 * Reaching the end (or the limit) closes the iterator and frees what it pinned; so does close(), and a
 * `break` out of `for await`. An iterator still open when the DB closes is closed by it.
 */
import { performance } from 'node:perf_hooks';
import type { Comparator } from './comparator.js';
import { ClosedError, InvalidArgumentError } from './errors.js';
import type { DBIter, DBIterBounds } from './db-iter.js';
import type { Snapshot } from './snapshot.js';
import type { UserKeyRange } from './version.js';

export interface IteratorOptions {
  gt?: Uint8Array;
  gte?: Uint8Array;
  lt?: Uint8Array;
  lte?: Uint8Array;
  /** Largest key first (default false). */
  reverse?: boolean;
  /** At most this many entries (default: no limit; -1 or Infinity also mean none). */
  limit?: number;
  snapshot?: Snapshot;
}

/** What the DB hands the iterator: how to build the merged view, and what to do when it is closed. */
export interface IteratorSource {
  open(): Promise<{ iter: DBIter; release: () => void }>;
  onClose(): void;
}

export const YIELD_EVERY = 256;
/** nextv() waits for a macrotask turn before a page once this many ms passed since the last one. */
const NEXTV_SLICE_MS = 10;

function checkBound(name: string, v: unknown): Uint8Array | undefined {
  if (v === undefined) return undefined;
  if (!(v instanceof Uint8Array)) throw new InvalidArgumentError(`iterator option ${name} must be a Uint8Array or Buffer`);
  return Buffer.from(v); // a copy: the caller may reuse its buffer
}

export function checkIteratorOptions(o: unknown): IteratorOptions {
  if (o === undefined) return {};
  if (o === null || typeof o !== 'object') throw new InvalidArgumentError('iterator options must be an object');
  const opts = o as IteratorOptions;
  if (opts.reverse !== undefined && typeof opts.reverse !== 'boolean') throw new InvalidArgumentError('reverse must be a boolean');
  if (opts.limit !== undefined && (typeof opts.limit !== 'number' || Number.isNaN(opts.limit) || (opts.limit < 0 && opts.limit !== -1))) {
    throw new InvalidArgumentError(`limit must be a number >= 0 (or -1 for none), got ${String(opts.limit)}`);
  }
  return {
    gt: checkBound('gt', opts.gt),
    gte: checkBound('gte', opts.gte),
    lt: checkBound('lt', opts.lt),
    lte: checkBound('lte', opts.lte),
    reverse: opts.reverse ?? false,
    limit: opts.limit === undefined || opts.limit < 0 ? Infinity : opts.limit,
    snapshot: opts.snapshot,
  };
}

/** An iterator's range in the two forms the DB uses: where DBIter stops, and which tables it opens. */
export interface ScanBounds {
  readonly iter: DBIterBounds;
  readonly files: UserKeyRange;
}

export function scanBounds(o: IteratorOptions): ScanBounds {
  const lower = o.gt ?? o.gte;
  const upper = o.lt ?? o.lte;
  // Each direction needs only its far end: a forward scan starts at its lower end with seek(), a reverse
  // one at its upper end with seekForPrev(), which moves backwards only.
  let iter: DBIterBounds = {};
  if (o.reverse === true) {
    if (lower !== undefined) iter = { lower: { key: lower, inclusive: o.gt === undefined } };
  } else if (upper !== undefined) {
    iter = { upper: { key: upper, inclusive: o.lt === undefined } };
  }
  return { iter, files: { lower, upper } };
}

export class DBIterator implements AsyncIterableIterator<[Buffer, Buffer]> {
  private iter: DBIter | undefined;
  private release: (() => void) | undefined;
  private closed = false;
  private closedByDb = false;
  private busy = false;
  /** Where the next next() starts: 'start' (position from the bounds), 'seek' (seekTarget), 'step'. */
  private pending: 'start' | 'seek' | 'step' = 'start';
  private seekTarget: Buffer | undefined;
  private count = 0;
  private steps = 0;
  /** When nextv() last waited for a macrotask turn. */
  private lastYield = 0;
  private readonly lower: Uint8Array | undefined;
  private readonly lowerInclusive: boolean;
  private readonly upper: Uint8Array | undefined;
  private readonly upperInclusive: boolean;
  private readonly reverse: boolean;
  private readonly limit: number;

  /** @internal created by DB.iterator() */
  constructor(
    private readonly source: IteratorSource,
    private readonly ucmp: Comparator,
    options: IteratorOptions,
  ) {
    this.lower = options.gt ?? options.gte;
    this.lowerInclusive = options.gt === undefined;
    this.upper = options.lt ?? options.lte;
    this.upperInclusive = options.lt === undefined;
    this.reverse = options.reverse ?? false;
    this.limit = options.limit ?? Infinity;
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  /**
   * Repositions: the next entry returned is the first key >= target (forward) or the last key <=
   * target (reverse), within the bounds. The limit keeps counting.
   */
  seek(target: Uint8Array): void {
    if (!(target instanceof Uint8Array)) throw new InvalidArgumentError('seek target must be a Uint8Array or Buffer');
    if (this.closed) throw new ClosedError('iterator is closed');
    this.seekTarget = Buffer.from(target);
    this.pending = 'seek';
  }

  async next(): Promise<IteratorResult<[Buffer, Buffer]>> {
    if (this.closed) {
      if (this.closedByDb) throw new ClosedError('database is closed');
      return { done: true, value: undefined };
    }
    if (this.busy) throw new InvalidArgumentError('next() called before the previous next() settled');
    this.busy = true;
    try {
      let it = this.iter;
      if (it === undefined) {
        it = await this.openSource();
        if (it === undefined) return this.next();
      } else if (++this.steps % YIELD_EVERY === 0) {
        await new Promise<void>((resolve) => setImmediate(resolve));
        if (this.closed) return this.next();
      }
      const entry = this.advance(it);
      return entry === undefined ? { done: true, value: undefined } : { done: false, value: entry };
    } finally {
      this.busy = false;
    }
  }

  /**
   * Up to `size` entries at once, fewer only at the end (then [] from there on): a scan's fast path,
   * one promise per page instead of per entry. Pages wait for a macrotask turn every NEXTV_SLICE_MS.
   */
  async nextv(size: number): Promise<Array<[Buffer, Buffer]>> {
    if (!Number.isInteger(size) || size < 1) throw new InvalidArgumentError(`nextv size must be an integer >= 1, got ${size}`);
    if (this.closed) {
      if (this.closedByDb) throw new ClosedError('database is closed');
      return [];
    }
    if (this.busy) throw new InvalidArgumentError('nextv() called before the previous call settled');
    this.busy = true;
    try {
      let it = this.iter;
      if (it === undefined) {
        it = await this.openSource();
        if (it === undefined) return this.nextv(size);
        this.lastYield = performance.now();
      } else if (performance.now() - this.lastYield >= NEXTV_SLICE_MS) {
        // A macrotask turn for others (I/O, timers, a compaction's slice) every few pages, not every
        // page: yielding per page handed half of a scan's time to a running compaction.
        await new Promise<void>((resolve) => setImmediate(resolve));
        this.lastYield = performance.now();
        if (this.closed) return this.nextv(size);
      }
      const out: Array<[Buffer, Buffer]> = [];
      while (out.length < size) {
        const entry = this.advance(it);
        if (entry === undefined) break;
        out.push(entry);
      }
      return out;
    } finally {
      this.busy = false;
    }
  }

  /** Opens the source on first use; undefined (and nothing kept) if the iterator was closed meanwhile. */
  private async openSource(): Promise<DBIter | undefined> {
    const opened = await this.source.open();
    if (this.closed) {
      opened.release();
      return undefined;
    }
    this.iter = opened.iter;
    this.release = opened.release;
    return opened.iter;
  }

  async return(): Promise<IteratorResult<[Buffer, Buffer]>> {
    await this.close();
    return { done: true, value: undefined };
  }

  /** Frees what the iterator pinned. Idempotent. */
  close(): Promise<void> {
    this.doClose(false);
    return Promise.resolve();
  }

  /** @internal the DB closes its open iterators when it closes. */
  closeForDb(): void {
    this.doClose(true);
  }

  private doClose(byDb: boolean): void {
    if (this.closed) return;
    this.closed = true;
    this.closedByDb = byDb;
    this.iter = undefined;
    this.release?.();
    this.release = undefined;
    this.source.onClose();
  }

  /** The next entry in range (a copy), or undefined at the end or the limit (which closes the iterator). */
  private advance(it: DBIter): [Buffer, Buffer] | undefined {
    if (this.count >= this.limit) return this.finish();
    if (this.pending === 'start') this.positionAtStart(it);
    else if (this.pending === 'seek') this.positionAt(it, this.seekTarget!);
    else if (this.reverse) it.prev();
    else it.next();
    this.pending = 'step';
    if (!it.valid() || !this.inRange(it.key())) return this.finish();
    this.count++;
    return [Buffer.from(it.key()), Buffer.from(it.value())];
  }

  private finish(): undefined {
    this.doClose(false);
    return undefined;
  }

  private positionAtStart(it: DBIter): void {
    if (!this.reverse) {
      if (this.lower === undefined) it.seekToFirst();
      else this.seekForward(it, this.lower, this.lowerInclusive);
    } else if (this.upper === undefined) {
      it.seekToLast();
    } else {
      this.seekBackward(it, this.upper, this.upperInclusive);
    }
  }

  private positionAt(it: DBIter, target: Buffer): void {
    if (!this.reverse) {
      if (this.lower !== undefined && this.ucmp.compare(target, this.lower) <= 0) this.positionAtStart(it);
      else this.seekForward(it, target, true);
    } else if (this.upper !== undefined && this.ucmp.compare(target, this.upper) >= 0) {
      this.positionAtStart(it);
    } else {
      this.seekBackward(it, target, true);
    }
  }

  /** First key >= target (> target if not inclusive). */
  private seekForward(it: DBIter, target: Uint8Array, inclusive: boolean): void {
    it.seek(target);
    if (!inclusive && it.valid() && this.ucmp.compare(it.key(), target) === 0) it.next();
  }

  /** Last key <= target (< target if not inclusive). */
  private seekBackward(it: DBIter, target: Uint8Array, inclusive: boolean): void {
    it.seekForPrev(target, inclusive);
  }

  private inRange(key: Uint8Array): boolean {
    if (this.lower !== undefined) {
      const c = this.ucmp.compare(key, this.lower);
      if (c < 0 || (c === 0 && !this.lowerInclusive)) return false;
    }
    if (this.upper !== undefined) {
      const c = this.ucmp.compare(key, this.upper);
      if (c > 0 || (c === 0 && !this.upperInclusive)) return false;
    }
    return true;
  }
}
