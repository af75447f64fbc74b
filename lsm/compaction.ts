/**
 * Choosing compactions (after LevelDB's version_set.cc; the code is ours).
 *
 * Levels. L0 holds flushed memtables and its files may overlap; every level >= 1 is sorted and its files
 * do not overlap. Level n >= 1 targets maxBytesForLevelBase * levelSizeMultiplier^(n-1) bytes.
 *
 * Score. L0 scores (file count / l0CompactionTrigger) — counting files rather than bytes because every
 * L0 file is one more table a read must look at; levels 1..NUM_LEVELS-2 score (bytes / target). The
 * level with the highest score >= 1 is compacted into the next one. The last level is never scored: it
 * has nowhere to go.
 *
 * Which files. Per level a compact pointer (persisted in the manifest, version-edit.ts tag 7) remembers
 * the largest key of that level's last compaction; the next one starts with the first file after it and
 * wraps around, so a level is compacted round-robin over its key space rather than always at its start.
 * Then:
 *  - L0: every L0 file overlapping the chosen one joins, transitively. A newer L0 file left behind with
 *    an older one pushed down would be fine, but an OLDER file left behind above a newer version pushed
 *    down would shadow it: so all overlapping L0 files go together.
 *  - level+1: every file overlapping the inputs' key range.
 *  - If taking more files of `level` does not pull in more files of level+1 (and the whole stays under
 *    25 target files), they are added: the same write cost, more work done.
 *  - grandparents (level+2 files overlapping the range) bound each output file's overlap with level+2
 *    (10 target files), so that a later compaction of that output does not have to rewrite too much.
 *
 * Invariant kept by the compaction job (compaction-job.ts): an output file never ends in the middle of
 * one user key's versions, so on levels >= 1 each user key lives in exactly one file, and ranges of user
 * keys are enough to find the files a key range touches.
 */
import type { Comparator } from './comparator.js';
import type { InternalKeyComparator } from './dbformat.js';
import { extractUserKey as userKey } from './dbformat.js';
import { fileOverlaps, type Version } from './version.js';
import { NUM_LEVELS, VersionEdit, type FileMetaData } from './version-edit.js';

export interface LevelOptions {
  l0CompactionTrigger: number;
  maxBytesForLevelBase: number;
  levelSizeMultiplier: number;
  targetFileSize: number;
}

export function totalBytes(files: readonly FileMetaData[]): number {
  let n = 0;
  for (const f of files) n += f.size;
  return n;
}

/** The byte target of level >= 1. */
export function maxBytesForLevel(o: LevelOptions, level: number): number {
  let n = o.maxBytesForLevelBase;
  for (let l = 1; l < level; l++) n *= o.levelSizeMultiplier;
  return n;
}

/** The level most in need of compaction and its score (< 1: none needs it). */
export function compactionScore(v: Version, o: LevelOptions): { level: number; score: number } {
  let best = { level: 0, score: v.numFiles(0) / o.l0CompactionTrigger };
  for (let level = 1; level < NUM_LEVELS - 1; level++) {
    const score = totalBytes(v.files[level]!) / maxBytesForLevel(o, level);
    if (score > best.score) best = { level, score };
  }
  return best;
}

/**
 * Files of `level` whose user-key range meets [begin, end] (undefined: unbounded). On L0, a file that
 * widens the range restarts the search with the wider range, so overlapping L0 files come as a group.
 */
export function overlappingInputs(
  v: Version,
  level: number,
  begin: Uint8Array | undefined,
  end: Uint8Array | undefined,
  ucmp: Comparator,
): FileMetaData[] {
  const out: FileMetaData[] = [];
  const files = v.files[level]!;
  let lo = begin;
  let hi = end;
  for (let i = 0; i < files.length; ) {
    const f = files[i++]!;
    if (!fileOverlaps(ucmp, f, lo, hi)) continue;
    const fs = userKey(f.smallest);
    const fl = userKey(f.largest);
    out.push(f);
    if (level === 0) {
      if (lo !== undefined && ucmp.compare(fs, lo) < 0) {
        lo = fs;
        out.length = 0;
        i = 0;
      } else if (hi !== undefined && ucmp.compare(fl, hi) > 0) {
        hi = fl;
        out.length = 0;
        i = 0;
      }
    }
  }
  return out;
}

/** Smallest and largest internal keys over the files (which must not be empty). */
export function keyRange(icmp: InternalKeyComparator, ...groups: (readonly FileMetaData[])[]): { smallest: Buffer; largest: Buffer } {
  let smallest: Buffer | undefined;
  let largest: Buffer | undefined;
  for (const files of groups) {
    for (const f of files) {
      if (smallest === undefined || icmp.compare(f.smallest, smallest) < 0) smallest = f.smallest;
      if (largest === undefined || icmp.compare(f.largest, largest) > 0) largest = f.largest;
    }
  }
  if (smallest === undefined || largest === undefined) throw new Error('keyRange of no files');
  return { smallest, largest };
}

/** One compaction: inputs[0] from `level`, inputs[1] from level+1, merged into level+1. */
export class Compaction {
  inputs: [FileMetaData[], FileMetaData[]] = [[], []];
  grandparents: FileMetaData[] = [];
  readonly edit = new VersionEdit();
  private readonly levelPtrs = new Array<number>(NUM_LEVELS).fill(0);
  private gpIndex = 0;
  private seenKey = false;
  private overlapped = 0;

  constructor(
    readonly version: Version,
    readonly level: number,
    private readonly o: LevelOptions,
    private readonly icmp: InternalKeyComparator,
    /** Requested by compactRange (never a trivial move: the point may be to drop garbage). */
    readonly manual = false,
  ) {}

  get outputLevel(): number {
    return this.level + 1;
  }

  get maxGrandparentOverlap(): number {
    return 10 * this.o.targetFileSize;
  }

  /** A single input file with nothing under it and little beneath: move it down, no rewriting. */
  isTrivialMove(): boolean {
    return !this.manual && this.inputs[0].length === 1 && this.inputs[1].length === 0 && totalBytes(this.grandparents) <= this.maxGrandparentOverlap;
  }

  /** Adds the deletion of every input to the edit. */
  deleteInputs(edit: VersionEdit): void {
    for (const f of this.inputs[0]) edit.deleteFile(this.level, f.number);
    for (const f of this.inputs[1]) edit.deleteFile(this.level + 1, f.number);
  }

  /**
   * True if no level below the output level can hold userKey, so a tombstone for it (old enough for
   * every snapshot) can go. Calls must come in increasing key order: it keeps a cursor per level.
   */
  isBaseLevelForKey(uk: Uint8Array): boolean {
    const ucmp = this.icmp.user;
    for (let level = this.level + 2; level < NUM_LEVELS; level++) {
      const files = this.version.files[level]!;
      let i = this.levelPtrs[level]!;
      while (i < files.length) {
        const f = files[i]!;
        if (ucmp.compare(uk, userKey(f.largest)) <= 0) {
          if (ucmp.compare(uk, userKey(f.smallest)) >= 0) {
            this.levelPtrs[level] = i;
            return false;
          }
          break;
        }
        i++;
      }
      this.levelPtrs[level] = i;
    }
    return true;
  }

  /** True if the output file should end before ikey: it would overlap too much of level+2. */
  shouldStopBefore(ikey: Uint8Array): boolean {
    const gp = this.grandparents;
    while (this.gpIndex < gp.length && this.icmp.compare(ikey, gp[this.gpIndex]!.largest) > 0) {
      if (this.seenKey) this.overlapped += gp[this.gpIndex]!.size;
      this.gpIndex++;
    }
    this.seenKey = true;
    if (this.overlapped > this.maxGrandparentOverlap) {
      this.overlapped = 0;
      return true;
    }
    return false;
  }

  /** Bytes of input. */
  inputBytes(): number {
    return totalBytes(this.inputs[0]) + totalBytes(this.inputs[1]);
  }

  /** "L0 [12 11] + L1 [7] -> L1" for logs. */
  describe(): string {
    const names = (fs: FileMetaData[]): string => fs.map((f) => f.number).join(' ');
    return `L${this.level} [${names(this.inputs[0])}] + L${this.level + 1} [${names(this.inputs[1])}] -> L${this.level + 1}`;
  }
}

/** Fills in level+1 inputs, expansion and grandparents; records the compact pointer. */
function setupOtherInputs(c: Compaction, o: LevelOptions, icmp: InternalKeyComparator): void {
  const ucmp = icmp.user;
  const v = c.version;
  const level = c.level;
  let range = keyRange(icmp, c.inputs[0]);
  c.inputs[1] = overlappingInputs(v, level + 1, userKey(range.smallest), userKey(range.largest), ucmp);
  let all = keyRange(icmp, c.inputs[0], c.inputs[1]);
  if (c.inputs[1].length > 0) {
    const expanded0 = overlappingInputs(v, level, userKey(all.smallest), userKey(all.largest), ucmp);
    if (expanded0.length > c.inputs[0].length && totalBytes(expanded0) + totalBytes(c.inputs[1]) < 25 * o.targetFileSize) {
      const r = keyRange(icmp, expanded0);
      const expanded1 = overlappingInputs(v, level + 1, userKey(r.smallest), userKey(r.largest), ucmp);
      if (expanded1.length === c.inputs[1].length) {
        c.inputs = [expanded0, expanded1];
        range = r;
        all = keyRange(icmp, c.inputs[0], c.inputs[1]);
      }
    }
  }
  if (level + 2 < NUM_LEVELS) c.grandparents = overlappingInputs(v, level + 2, userKey(all.smallest), userKey(all.largest), ucmp);
  c.edit.setCompactPointer(level, range.largest);
}

/** The size-triggered compaction the version needs most, or undefined if every score is < 1. */
export function pickCompaction(
  v: Version,
  compactPointers: readonly Buffer[],
  o: LevelOptions,
  icmp: InternalKeyComparator,
): Compaction | undefined {
  const { level, score } = compactionScore(v, o);
  if (score < 1) return undefined;
  const files = v.files[level]!;
  const ptr = compactPointers[level];
  let first = files[0];
  if (ptr !== undefined && ptr.length > 0) {
    const after = files.find((f) => icmp.compare(f.largest, ptr) > 0);
    if (after !== undefined) first = after;
  }
  if (first === undefined) return undefined;
  const c = new Compaction(v, level, o, icmp);
  c.inputs[0] = [first];
  if (level === 0) {
    const r = keyRange(icmp, c.inputs[0]);
    c.inputs[0] = overlappingInputs(v, 0, userKey(r.smallest), userKey(r.largest), icmp.user);
  }
  setupOtherInputs(c, o, icmp);
  return c;
}

/**
 * A compaction of `level`'s files overlapping [begin, end] (user keys; undefined: unbounded) into
 * level+1, or undefined if there are none. Above L0 the inputs are capped near 10 target files, so a
 * large range takes several steps (the caller repeats until nothing overlaps).
 */
export function rangeCompaction(
  v: Version,
  level: number,
  begin: Uint8Array | undefined,
  end: Uint8Array | undefined,
  o: LevelOptions,
  icmp: InternalKeyComparator,
): Compaction | undefined {
  let inputs = overlappingInputs(v, level, begin, end, icmp.user);
  if (inputs.length === 0) return undefined;
  if (level > 0) {
    const limit = 10 * o.targetFileSize;
    let total = 0;
    for (let i = 0; i < inputs.length; i++) {
      total += inputs[i]!.size;
      if (total >= limit) {
        inputs = inputs.slice(0, i + 1);
        break;
      }
    }
  }
  const c = new Compaction(v, level, o, icmp, true);
  c.inputs[0] = inputs;
  setupOtherInputs(c, o, icmp);
  return c;
}

/**
 * A rewrite in place of a contiguous run of `level`'s files (level >= 1) listed in `toRewrite`, starting at
 * the first one still there, of at most ~10 target files. compactRange uses it on the deepest level
 * holding the range, so that overwritten versions and tombstones there go too. (Shaped as a compaction
 * of nothing from level-1 plus these files from `level`, so everything else applies unchanged.)
 */
export function inPlaceCompaction(
  v: Version,
  level: number,
  toRewrite: ReadonlySet<number>,
  o: LevelOptions,
  icmp: InternalKeyComparator,
): Compaction | undefined {
  const files = v.files[level]!;
  const start = files.findIndex((f) => toRewrite.has(f.number));
  if (level < 1 || start < 0) return undefined;
  const run: FileMetaData[] = [];
  let total = 0;
  for (let i = start; i < files.length && toRewrite.has(files[i]!.number) && total < 10 * o.targetFileSize; i++) {
    run.push(files[i]!);
    total += files[i]!.size;
  }
  const c = new Compaction(v, level - 1, o, icmp, true);
  c.inputs[1] = run;
  if (level + 1 < NUM_LEVELS) {
    const r = keyRange(icmp, run);
    c.grandparents = overlappingInputs(v, level + 1, userKey(r.smallest), userKey(r.largest), icmp.user);
  }
  return c;
}
