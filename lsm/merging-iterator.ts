/**
 * Merges N sorted child iterators into one sorted stream, forward and backward.
 *
 * The current entry is the smallest child key (forward) or the largest (backward). The children are
 * scanned linearly to find it: a read merges the memtables, the L0 tables and one table per deeper
 * level, a handful of children, where a linear scan of a compact array beats a heap's bookkeeping. A
 * heap is the change to make if N grows past ~16.
 *
 * Direction switches follow the invariant of LevelDB's MergingIterator: moving forward, every child is
 * positioned at its first key > key() (the current child at key() itself); moving backward, at its last
 * key < key(). Switching direction therefore re-seeks every non-current child around key().
 *
 * Each child's current key is kept in `keys` (null: not valid) and refreshed only when that child
 * moves: a forward scan moves one child per step, so a step costs one key() call, not N.
 *
 * Keys are expected to be distinct across children, as internal keys are (they carry a sequence
 * number). If they are not, full scans still return every copy (argument order going forward, reverse
 * order going backward), but a direction switch may skip the copies equal to key().
 */
import type { Comparator } from './comparator.js';
import type { InternalIterator } from './iterator.js';

export class MergingIterator implements InternalIterator {
  private readonly children: InternalIterator[];
  private readonly keys: (Uint8Array | null)[];
  private current: InternalIterator | null = null;
  private currentIndex = -1;
  private forward = true;

  constructor(
    private readonly comparator: Comparator,
    children: readonly InternalIterator[],
  ) {
    this.children = [...children];
    this.keys = this.children.map(() => null);
  }

  valid(): boolean {
    return this.current !== null;
  }

  key(): Uint8Array {
    if (this.current === null) throw new Error('iterator is not valid');
    return this.current.key();
  }

  value(): Uint8Array {
    if (this.current === null) throw new Error('iterator is not valid');
    return this.current.value();
  }

  seekToFirst(): void {
    for (const c of this.children) c.seekToFirst();
    this.forward = true;
    this.refreshAll();
    this.findSmallest();
  }

  seekToLast(): void {
    for (const c of this.children) c.seekToLast();
    this.forward = false;
    this.refreshAll();
    this.findLargest();
  }

  seek(target: Uint8Array): void {
    for (const c of this.children) c.seek(target);
    this.forward = true;
    this.refreshAll();
    this.findSmallest();
  }

  next(): void {
    const cur = this.current;
    if (cur === null) throw new Error('iterator is not valid');
    if (!this.forward) {
      // Children other than `cur` are at their last key < key(): move each to its first key > key().
      const key = cur.key();
      const cmp = this.comparator;
      for (const c of this.children) {
        if (c === cur) continue;
        c.seek(key);
        if (c.valid() && cmp.compare(key, c.key()) === 0) c.next();
      }
      this.forward = true;
      cur.next();
      this.refreshAll();
    } else {
      cur.next();
      this.keys[this.currentIndex] = cur.valid() ? cur.key() : null;
    }
    this.findSmallest();
  }

  prev(): void {
    const cur = this.current;
    if (cur === null) throw new Error('iterator is not valid');
    if (this.forward) {
      // Children other than `cur` are at their first key >= key(): move each to its last key < key().
      const key = cur.key();
      for (const c of this.children) {
        if (c === cur) continue;
        c.seek(key);
        if (c.valid()) c.prev();
        else c.seekToLast();
      }
      this.forward = false;
      cur.prev();
      this.refreshAll();
    } else {
      cur.prev();
      this.keys[this.currentIndex] = cur.valid() ? cur.key() : null;
    }
    this.findLargest();
  }

  private refreshAll(): void {
    const children = this.children;
    for (let i = 0; i < children.length; i++) {
      const c = children[i]!;
      this.keys[i] = c.valid() ? c.key() : null;
    }
  }

  private findSmallest(): void {
    const cmp = this.comparator;
    const keys = this.keys;
    let best = -1;
    let bestKey: Uint8Array | null = null;
    for (let i = 0; i < keys.length; i++) {
      const k = keys[i] ?? null;
      if (k === null) continue;
      if (bestKey === null || cmp.compare(k, bestKey) < 0) {
        best = i;
        bestKey = k;
      }
    }
    this.currentIndex = best;
    this.current = best < 0 ? null : this.children[best]!;
  }

  private findLargest(): void {
    const cmp = this.comparator;
    const keys = this.keys;
    let best = -1;
    let bestKey: Uint8Array | null = null;
    for (let i = keys.length - 1; i >= 0; i--) {
      const k = keys[i] ?? null;
      if (k === null) continue;
      if (bestKey === null || cmp.compare(k, bestKey) > 0) {
        best = i;
        bestKey = k;
      }
    }
    this.currentIndex = best;
    this.current = best < 0 ? null : this.children[best]!;
  }
}

/** A merging iterator, or the child itself when there is only one (no merge overhead). */
export function newMergingIterator(comparator: Comparator, children: readonly InternalIterator[]): InternalIterator {
  if (children.length === 1) return children[0]!;
  return new MergingIterator(comparator, children);
}
