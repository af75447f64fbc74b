/**
 * DBIter: turns the merged stream of internal keys (memtables and tables) into the user's view at one
 * sequence number — for each user key the newest version with sequence <= the snapshot, deletions
 * hidden. It is an InternalIterator over user keys, so the shared iterator suite checks it too.
 *
 * Positioning follows LevelDB's db_iter:
 *  - Forward: the inner iterator sits ON the entry that is the current (user key, value); key() and
 *    value() are views of it. next() skips the remaining (older) versions of that user key.
 *  - Reverse: the inner iterator sits just BEFORE all versions of the current user key (on the newest
 *    version of some smaller key, or off the start); the current key and value are copies in
 *    savedKey/savedValue, because the reverse scan had to walk past the older versions to learn that the
 *    newest one is not shadowed.
 *  Switching direction re-positions the inner iterator accordingly.
 */
import type { Comparator } from './comparator.js';
import { KIND_DELETION, KIND_VALUE, MAX_SEQUENCE, TRAILER_SIZE, makeLookupKey, trailerKind, trailerSequence } from './dbformat.js';
import { CorruptionError } from './errors.js';
import type { InternalIterator } from './iterator.js';

class Saved {
  buf = Buffer.allocUnsafe(64);
  len = 0;
  set(src: Uint8Array, start: number, end: number): void {
    const n = end - start;
    if (n > this.buf.length) this.buf = Buffer.allocUnsafe(Math.max(n, 2 * this.buf.length));
    this.buf.set(start === 0 && end === src.length ? src : src.subarray(start, end), 0);
    this.len = n;
  }
  view(): Buffer {
    return this.buf.subarray(0, this.len);
  }
  clear(): void {
    this.len = 0;
    if (this.buf.length > 1 << 20) this.buf = Buffer.allocUnsafe(64);
  }
}

/**
 * Where a scan stops looking (user keys). Without it, a forward search for the next live entry walks on
 * past the end of the caller's range through every deletion that follows it, and a reverse one walks
 * back past the start: a scan of an empty range beside a million tombstones would read them all
 * (RocksDB's iterate_upper_bound answers the same).
 */
export interface ScanBound {
  readonly key: Uint8Array;
  readonly inclusive: boolean;
}

export interface DBIterBounds {
  /** Forward positioning (seek, next) reports the end once a user key is past it. */
  readonly upper?: ScanBound;
  /** Reverse positioning (prev, seekToLast) reports the end once a user key is before it. */
  readonly lower?: ScanBound;
}

export class DBIter implements InternalIterator {
  private forward = true;
  private ok = false;
  private readonly savedKey = new Saved();
  private readonly savedValue = new Saved();
  private readonly upper: ScanBound | undefined;
  private readonly lower: ScanBound | undefined;

  constructor(
    private readonly iter: InternalIterator,
    private readonly ucmp: Comparator,
    private readonly sequence: number,
    bounds: DBIterBounds = {},
  ) {
    this.upper = bounds.upper;
    this.lower = bounds.lower;
  }

  valid(): boolean {
    return this.ok;
  }

  key(): Uint8Array {
    if (!this.ok) throw new Error('iterator is not valid');
    if (!this.forward) return this.savedKey.view();
    const k = this.iter.key();
    return k.subarray(0, k.length - TRAILER_SIZE);
  }

  value(): Uint8Array {
    if (!this.ok) throw new Error('iterator is not valid');
    return this.forward ? this.iter.value() : this.savedValue.view();
  }

  seekToFirst(): void {
    this.forward = true;
    this.savedValue.clear();
    this.iter.seekToFirst();
    if (this.iter.valid()) this.findNextUserEntry(false);
    else this.ok = false;
  }

  seekToLast(): void {
    this.forward = false;
    this.savedValue.clear();
    this.iter.seekToLast();
    this.findPrevUserEntry();
  }

  seek(target: Uint8Array): void {
    this.forward = true;
    this.savedValue.clear();
    this.iter.seek(makeLookupKey(target, this.sequence));
    if (this.iter.valid()) this.findNextUserEntry(false);
    else this.ok = false;
  }

  /**
   * Reverse: positions at the last visible key <= target (< target if not inclusive), moving the inner
   * iterator backwards only. seek(target) then prev() would first walk forward over every deletion
   * after target, unbounded (a reverse scan has only its lower bound).
   */
  seekForPrev(target: Uint8Array, inclusive: boolean): void {
    this.forward = false;
    this.savedValue.clear();
    const it = this.iter;
    if (inclusive) {
      // Past every version of target: sequence 0 sorts last among them; only entries at 0 can follow.
      it.seek(makeLookupKey(target, 0));
      while (it.valid() && this.compareUser(it.key(), target) === 0) it.next();
    } else {
      it.seek(makeLookupKey(target, MAX_SEQUENCE)); // before every version of target
    }
    if (it.valid()) it.prev();
    else it.seekToLast();
    this.findPrevUserEntry();
  }

  next(): void {
    if (!this.ok) throw new Error('iterator is not valid');
    if (!this.forward) {
      // The inner iterator is just before the current key's versions: step into them, then skip them.
      this.forward = true;
      if (this.iter.valid()) this.iter.next();
      else this.iter.seekToFirst();
      if (!this.iter.valid()) {
        this.ok = false;
        this.savedKey.clear();
        return;
      }
      // savedKey holds the current user key: skip every version of it.
    } else {
      const k = this.iter.key();
      this.savedKey.set(k, 0, k.length - TRAILER_SIZE);
      this.iter.next();
      if (!this.iter.valid()) {
        this.ok = false;
        this.savedKey.clear();
        return;
      }
    }
    this.findNextUserEntry(true);
  }

  prev(): void {
    if (!this.ok) throw new Error('iterator is not valid');
    if (this.forward) {
      // Move the inner iterator before every version of the current key.
      const k = this.iter.key();
      this.savedKey.set(k, 0, k.length - TRAILER_SIZE);
      for (;;) {
        this.iter.prev();
        if (!this.iter.valid()) {
          this.ok = false;
          this.savedKey.clear();
          this.savedValue.clear();
          return;
        }
        if (this.compareUser(this.iter.key(), this.savedKey.view()) < 0) break;
      }
      this.forward = false;
    }
    this.findPrevUserEntry();
  }

  /** User key of ikey compared with a user key. */
  private compareUser(ikey: Uint8Array, user: Uint8Array): number {
    if (ikey.length < TRAILER_SIZE) throw new CorruptionError(`internal key too short (${ikey.length} bytes)`);
    if (this.ucmp.compareRange !== undefined) return this.ucmp.compareRange(ikey, 0, ikey.length - TRAILER_SIZE, user, 0, user.length);
    return this.ucmp.compare(ikey.subarray(0, ikey.length - TRAILER_SIZE), user);
  }

  /** Kind of a visible entry, or -1 if it is newer than the snapshot. */
  private visibleKind(ikey: Uint8Array): number {
    if (ikey.length < TRAILER_SIZE) throw new CorruptionError(`internal key too short (${ikey.length} bytes)`);
    if (trailerSequence(ikey, ikey.length) > this.sequence) return -1;
    const kind = trailerKind(ikey, ikey.length);
    if (kind !== KIND_VALUE && kind !== KIND_DELETION) throw new CorruptionError(`bad value kind ${kind}`);
    return kind;
  }

  /**
   * Forward: from the inner position, finds the first visible, undeleted entry whose user key is not
   * hidden — with `skipping`, user keys <= savedKey are hidden (already returned, or deleted).
   */
  private findNextUserEntry(skipping: boolean): void {
    const it = this.iter;
    const upper = this.upper;
    do {
      const k = it.key();
      if (upper !== undefined) {
        const c = this.compareUser(k, upper.key);
        if (c > 0 || (c === 0 && !upper.inclusive)) break;
      }
      const kind = this.visibleKind(k);
      if (kind === KIND_DELETION) {
        this.savedKey.set(k, 0, k.length - TRAILER_SIZE);
        skipping = true;
      } else if (kind === KIND_VALUE) {
        if (!skipping || this.compareUser(k, this.savedKey.view()) > 0) {
          this.ok = true;
          this.savedKey.clear();
          return;
        }
      }
      it.next();
    } while (it.valid());
    this.savedKey.clear();
    this.ok = false;
  }

  /**
   * Reverse: walks backwards over the versions of the previous user key (oldest to newest), keeping the
   * newest visible one in savedKey/savedValue; stops at the first entry of a still smaller key once a
   * live value is held.
   */
  private findPrevUserEntry(): void {
    const it = this.iter;
    const lower = this.lower;
    let kind: number = KIND_DELETION;
    while (it.valid()) {
      const k = it.key();
      if (lower !== undefined) {
        const c = this.compareUser(k, lower.key);
        if (c < 0 || (c === 0 && !lower.inclusive)) break;
      }
      const vk = this.visibleKind(k);
      if (vk !== -1) {
        if (kind !== KIND_DELETION && this.compareUser(k, this.savedKey.view()) < 0) break;
        kind = vk;
        if (vk === KIND_DELETION) {
          this.savedKey.clear();
          this.savedValue.clear();
        } else {
          this.savedKey.set(k, 0, k.length - TRAILER_SIZE);
          const v = it.value();
          this.savedValue.set(v, 0, v.length);
        }
      }
      it.prev();
    }
    if (kind === KIND_DELETION) {
      this.ok = false;
      this.savedKey.clear();
      this.savedValue.clear();
      this.forward = true;
    } else {
      this.ok = true;
    }
  }
}
