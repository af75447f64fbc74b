/**
 * RaftLog: the in-memory Raft log of one node, with its commit, applied and stable (persisted) marks.
 *
 *     index:  offset+1 ...  applied ... committed ... stable ... lastIndex
 *             |------ entries[] (contiguous) -----------------------------|
 *                                                     unstable: (stable, lastIndex]
 *
 * Invariants: offset <= applied <= committed <= lastIndex; entries are contiguous and their terms never
 * decrease. `offset` is the index of the entry before entries[0] and `offsetTerm` its term: the last
 * snapshot's index and term (0/0 without one). Compaction raises them and drops the prefix.
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

  /** `snapshot` is the (index, term) of the persisted snapshot the entries follow, if any. */
  constructor(entries: readonly Entry[], committed: number, snapshot?: { index: number; term: number }) {
    this.offset = snapshot?.index ?? 0;
    this.offsetTerm = snapshot?.term ?? 0;
    this.entries = [...entries];
    entries.forEach((e, i) => {
      if (e.index !== this.offset + i + 1) throw new Error(`raft log: entry ${i} has index ${e.index}, want ${this.offset + i + 1}`);
    });
    committed = Math.max(committed, this.offset);
    if (committed > this.lastIndex()) throw new Error(`raft log: commit ${committed} beyond last index ${this.lastIndex()}`);
    this.committed = committed;
    this.applied = this.offset;
    this.stable = this.lastIndex();
  }

  /** The index of the last compacted entry (the snapshot's), 0 without a snapshot. */
  get snapshotIndex(): number {
    return this.offset;
  }

  /** Drops entries up to `index` (applied, so committed); the caller keeps the snapshot covering them. */
  compact(index: number): void {
    if (index <= this.offset || index > this.applied) throw new Error(`raft log: cannot compact to ${index}`);
    this.offsetTerm = this.term(index)!;
    this.entries = this.entries.slice(index - this.offset);
    this.offset = index;
    this.stable = Math.max(this.stable, index);
  }

  /**
   * Installs a snapshot at (index, term) from the leader, which is ahead of our commit. When our entry at
   * `index` has that term our log agrees up to there and the entries after it are kept; otherwise the
   * whole log is replaced. Kept entries count as unstable again: the driver rewrites the stored log.
   */
  restore(index: number, term: number): void {
    const keep = this.term(index) === term ? this.entries.slice(index - this.offset) : [];
    this.entries = keep;
    this.offset = index;
    this.offsetTerm = term;
    this.committed = Math.max(this.committed, index);
    this.applied = index;
    this.stable = index;
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

  /** The leader's own append; returns the new entry. */
  append(term: number, data: Uint8Array, type: Entry['type'] = 'normal'): Entry {
    const e: Entry = { index: this.lastIndex() + 1, term, type, data };
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
      if (e.index <= this.offset) continue; // compacted: committed, so it matches
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
    if (index > this.offset && this.term(index) === term && index > this.stable) this.stable = index;
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
