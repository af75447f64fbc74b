/**
 * RaftLog: the in-memory Raft log of one node, with its commit, applied and stable (persisted) marks.
 *
 *     index:  offset+1 ...  applied ... committed ... stable ... lastIndex
 *             |------ entries[] (contiguous) -----------------------------|
 *                                                     unstable: (stable, lastIndex]
 *
 * Invariants: applied <= committed <= lastIndex; entries are contiguous and their terms never decrease.
 * `offset` is the index of the entry before entries[0] and `offsetTerm` its term: 0/0 today. Compaction will
 * raise them (a snapshot's index and term) and drop the prefix; every accessor goes through them already.
 * Committed entries may be unstable for the length of one Ready: the driver persists before it applies.
 */
import type { Entry } from './types.js';

export class RaftLog {
  private entries: Entry[];
  private offset = 0;
  private offsetTerm = 0;
  committed: number;
  applied: number;
  /** Entries up to here are on stable storage. */
  stable: number;

  constructor(entries: readonly Entry[], committed: number) {
    this.entries = [...entries];
    entries.forEach((e, i) => {
      if (e.index !== i + 1) throw new Error(`raft log: entry ${i} has index ${e.index}, want ${i + 1}`);
    });
    if (committed > this.lastIndex()) throw new Error(`raft log: commit ${committed} beyond last index ${this.lastIndex()}`);
    this.committed = committed;
    this.applied = 0;
    this.stable = this.lastIndex();
  }

  lastIndex(): number {
    return this.offset + this.entries.length;
  }

  lastTerm(): number {
    return this.term(this.lastIndex()) ?? 0;
  }

  /** The term of the entry at `index`, or undefined when the log does not hold it. */
  term(index: number): number | undefined {
    if (index === this.offset) return this.offsetTerm;
    if (index < this.offset || index > this.lastIndex()) return undefined;
    return this.entries[index - this.offset - 1]?.term;
  }

  entry(index: number): Entry | undefined {
    return this.entries[index - this.offset - 1];
  }

  matchTerm(index: number, term: number): boolean {
    return this.term(index) === term;
  }

  /** Entries in [lo, hi] (clamped to the log), at most `max` of them. */
  slice(lo: number, hi: number, max = Infinity): Entry[] {
    const from = Math.max(lo, this.offset + 1) - this.offset - 1;
    const to = Math.min(hi, this.lastIndex()) - this.offset;
    return this.entries.slice(from, Math.min(to, from + max));
  }

  /** Election restriction (§5.4.1): is a log ending at (lastIndex, lastTerm) at least as up to date as ours? */
  isUpToDate(lastIndex: number, lastTerm: number): boolean {
    const ourTerm = this.lastTerm();
    return lastTerm > ourTerm || (lastTerm === ourTerm && lastIndex >= this.lastIndex());
  }

  /** The leader's own append; returns the new last index. */
  append(term: number, data: Uint8Array): Entry {
    const e: Entry = { index: this.lastIndex() + 1, term, type: 'normal', data };
    this.entries.push(e);
    return e;
  }

  /**
   * The follower's side of AppendEntries once (prevIndex, prevTerm) matched: skips entries it already
   * holds, truncates at the first conflicting one (never at or below `committed`), appends the rest.
   * Entries that match are kept even if the message is shorter than our log: a stale, reordered append
   * must not erase newer entries. Returns the index of the last entry the message vouched for.
   */
  appendFromLeader(prevIndex: number, entries: readonly Entry[]): number {
    for (const e of entries) {
      const have = this.term(e.index);
      if (have === e.term) continue;
      if (have !== undefined) {
        if (e.index <= this.committed) throw new Error(`raft log: conflict at committed index ${e.index}`);
        this.entries.length = e.index - this.offset - 1;
        this.stable = Math.min(this.stable, e.index - 1);
      }
      this.entries.push(e);
    }
    return prevIndex + entries.length;
  }

  commitTo(index: number): void {
    if (index <= this.committed) return;
    if (index > this.lastIndex()) throw new Error(`raft log: commit ${index} beyond last index ${this.lastIndex()}`);
    this.committed = index;
  }

  /** Entries not yet persisted. */
  unstableEntries(): Entry[] {
    return this.entries.slice(this.stable - this.offset);
  }

  /** Committed entries not yet handed out for applying. */
  nextCommitted(): Entry[] {
    return this.slice(this.applied + 1, this.committed);
  }

  /**
   * Marks entries up to (index, term) persisted. The term check ignores a stale mark: the log may have
   * been truncated and rewritten at that index between ready() and advance().
   */
  stableTo(index: number, term: number): void {
    if (this.term(index) === term && index > this.stable) this.stable = index;
  }

  appliedTo(index: number): void {
    if (index > this.applied) this.applied = index;
  }

  /** For fast backtracking: the first index of the run of entries with the same term as `index`. */
  firstIndexOfTerm(index: number): number {
    const t = this.term(index);
    let i = index;
    while (i - 1 > this.offset && this.term(i - 1) === t) i--;
    return i;
  }

  /** The last index whose term is `term`, or undefined when our log has no entry of that term. */
  lastIndexOfTerm(term: number): number | undefined {
    for (let i = this.lastIndex(); i > this.offset; i--) {
      const t = this.term(i)!;
      if (t === term) return i;
      if (t < term) return undefined;
    }
    return undefined;
  }

  /** A copy of all entries, for tests and status. */
  all(): readonly Entry[] {
    return this.entries;
  }
}
