/**
 * A small LRU of built Merkle trees keyed by (partition, epoch range), shared by the responder (a peer
 * walks our tree in several requests) and our own sessions (both replicas of a partition usually verify
 * the same range at about the same time, so one build serves both).
 *
 * A cached tree must be the tree of the records stored now. Every write path that can add a record to an
 * old epoch (ReplicaWrite: coordinators, read repair, hint replay, a peer's anti-entropy push; and our own
 * anti-entropy applies) calls invalidate(partition, epoch), which drops the trees whose range holds that
 * epoch, including one still being built (its result is then returned to its waiters but not kept). A
 * TTL bounds the age of any tree against changes no hook reports (tombstone purges).
 *
 * Pure apart from the injected clock; trees in the cache are never added to after their build.
 */
import type { MerkleTree } from './merkle-tree.js';
import type { EpochRange } from './tree-source.js';

interface Entry {
  readonly partition: number;
  readonly range: EpochRange;
  tree: Promise<MerkleTree>;
  builtAt: number | undefined;
}

export class TreeCache {
  private readonly entries = new Map<string, Entry>();
  hits = 0;
  misses = 0;

  constructor(
    private readonly maxEntries: number,
    private readonly ttlMs: number,
    private readonly now: () => number,
  ) {}

  /** The cached tree of (partition, range), or the one `build` makes (shared with concurrent callers). */
  get(partition: number, range: EpochRange, build: () => Promise<MerkleTree>): Promise<MerkleTree> {
    const key = `${partition}/${range.from}/${range.to}`;
    const found = this.entries.get(key);
    if (found !== undefined && (found.builtAt === undefined || this.now() - found.builtAt <= this.ttlMs)) {
      this.entries.delete(key); // most recently used goes last
      this.entries.set(key, found);
      this.hits++;
      return found.tree;
    }
    this.misses++;
    const entry: Entry = { partition, range, tree: build(), builtAt: undefined };
    this.entries.set(key, entry);
    entry.tree.then(
      () => {
        if (this.entries.get(key) === entry) entry.builtAt = this.now();
      },
      () => {
        if (this.entries.get(key) === entry) this.entries.delete(key);
      },
    );
    while (this.entries.size > this.maxEntries) this.entries.delete(this.entries.keys().next().value!);
    return entry.tree;
  }

  /** A record of `epoch` was stored in `partition`: the trees covering it are stale. */
  invalidate(partition: number, epoch: number): void {
    for (const [key, e] of this.entries) {
      if (e.partition === partition && e.range.from <= epoch && epoch <= e.range.to) this.entries.delete(key);
    }
  }

  get size(): number {
    return this.entries.size;
  }
}
