/**
 * A Merkle tree over the versions (key, timestamp, tombstone) of one partition's records in a set of
 * epochs, built incrementally: add() the records in any order (a scan of the (epoch, partition, key)
 * index, epoch after epoch), then ask for root() or hashesAt(). Shape and hash inputs: merkle-format.ts
 * and MERKLE.md.
 *
 * Order independence: a leaf keeps its entries unsorted until a hash is needed, then sorts them by key
 * bytewise. A key added twice (a record that moved to a newer epoch between the scans of two epochs)
 * keeps only its newer version, the one last-write-wins keeps, so the tree never depends on the order
 * of add() calls.
 *
 * Hashes are computed lazily: add() marks its leaf and the leaf's ancestors dirty, and a read recomputes
 * only dirty nodes. Empty subtrees are EMPTY_HASH without hashing, so a partition with a few keys costs
 * a few leaf hashes plus three inner hashes per leaf, not 4,369 hashes.
 *
 * Pure: no I/O, no clock. Memory: 35 KiB of hashes and 17 KiB of entry counts, plus the entries' bytes
 * (18 + key + node id each).
 */
import { MerkleArgumentError, MerkleRequestError } from './errors.js';
import {
  EMPTY_HASH,
  FANOUT,
  HASH_BYTES,
  LEAF_COUNT,
  LEAF_LEVEL,
  MAX_INDICES_PER_REQUEST,
  bucketOf,
  encodeEntry,
  hashInto,
  isEmptyHash,
  nodeBytes,
  nodesAt,
} from './merkle-format.js';
import { MAX_LOGICAL, MAX_NODE_BYTES, checkTimestamp, compareTimestamps, type Timestamp } from '../hlc.js';
import type { HashesAnswer } from './tree-diff.js';

/** Largest key, as in the replica store (64 KiB). */
export const MAX_MERKLE_KEY_BYTES = 64 * 1024;

interface Entry {
  /** The key, a view into `bytes`. */
  readonly key: Uint8Array;
  readonly timestamp: Timestamp;
  readonly tombstone: boolean;
  /** The entry's hash input (merkle-format.ts). */
  readonly bytes: Uint8Array;
}

/** The checks of hlc.ts's checkTimestamp without encoding the node id anew for every entry. */
function validTimestamp(t: unknown): t is Timestamp {
  if (t === null || typeof t !== 'object') return false;
  const { physicalMs, logical, node } = t as Record<string, unknown>;
  if (typeof physicalMs !== 'number' || !Number.isSafeInteger(physicalMs) || physicalMs < 0) return false;
  if (typeof logical !== 'number' || !Number.isInteger(logical) || logical < 0 || logical > MAX_LOGICAL) return false;
  if (typeof node !== 'string' || node.length === 0) return false;
  return nodeBytes(node).length <= MAX_NODE_BYTES;
}

/** Bytewise order. A loop beats Buffer.compare's native call for the short keys of a leaf. */
function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return a.length - b.length;
}

function byKey(a: Entry, b: Entry): number {
  return compareBytes(a.key, b.key);
}

/** The version last-write-wins keeps: newer timestamp; on a tie the tombstone (record.ts's order). */
function newerEntry(a: Entry, b: Entry): Entry {
  const c = compareTimestamps(a.timestamp, b.timestamp);
  if (c !== 0) return c > 0 ? a : b;
  return b.tombstone && !a.tombstone ? b : a;
}

export class MerkleTree {
  private readonly leaves: (Entry[] | undefined)[] = new Array<Entry[] | undefined>(LEAF_COUNT).fill(undefined);
  /** 1 when a leaf's entries are sorted by key and free of duplicate keys. */
  private readonly normalized = new Uint8Array(LEAF_COUNT).fill(1);
  /** Per level, the nodes' hashes (8 bytes each); all EMPTY_HASH at first. */
  private readonly hashes: Uint8Array[] = [];
  /** Per level, the number of entries (distinct keys) under each node, valid where not dirty. */
  private readonly counts: Uint32Array[] = [];
  /** Per level, 1 for nodes whose hash and count are stale. */
  private readonly dirty: Uint8Array[] = [];
  private scratch = new Uint8Array(4096);
  private mutations = 0;

  constructor() {
    for (let level = 0; level <= LEAF_LEVEL; level++) {
      this.hashes.push(new Uint8Array(nodesAt(level) * HASH_BYTES));
      this.dirty.push(new Uint8Array(nodesAt(level)));
      this.counts.push(new Uint32Array(nodesAt(level)));
    }
  }

  /** Adds one record's version. A key added twice keeps its newer version. */
  add(key: Uint8Array, timestamp: Timestamp, tombstone: boolean): void {
    if (!(key instanceof Uint8Array)) throw new MerkleArgumentError('key must be a Uint8Array or Buffer');
    if (key.length > MAX_MERKLE_KEY_BYTES) throw new MerkleArgumentError(`key of ${key.length} bytes is over the ${MAX_MERKLE_KEY_BYTES}-byte limit`);
    if (!validTimestamp(timestamp)) {
      try {
        checkTimestamp(timestamp); // throws, with the precise reason
      } catch (err) {
        throw new MerkleArgumentError((err as Error).message);
      }
    }
    if (typeof tombstone !== 'boolean') throw new MerkleArgumentError('tombstone must be a boolean');
    const bytes = encodeEntry(key, timestamp, tombstone);
    const entry: Entry = { key: bytes.subarray(4, 4 + key.length), timestamp: { ...timestamp }, tombstone, bytes };
    const leaf = bucketOf(key);
    const list = this.leaves[leaf];
    if (list === undefined) this.leaves[leaf] = [entry];
    else {
      list.push(entry);
      this.normalized[leaf] = 0;
    }
    this.mutations++;
    for (let level = LEAF_LEVEL, i = leaf; level >= 0; level--, i = Math.floor(i / FANOUT)) {
      if (this.dirty[level]![i] === 1) break; // its ancestors are dirty already
      this.dirty[level]![i] = 1;
    }
  }

  /** Number of distinct keys. */
  get size(): number {
    let n = 0;
    for (let i = 0; i < LEAF_COUNT; i++) n += this.entriesOf(i).length;
    return n;
  }

  /** Counts add() calls: a TreeDiff uses it to notice a tree that changed under it. */
  get changes(): number {
    return this.mutations;
  }

  /** The leaf bucket a key falls into. */
  leafOf(key: Uint8Array): number {
    if (!(key instanceof Uint8Array)) throw new MerkleArgumentError('key must be a Uint8Array or Buffer');
    return bucketOf(key);
  }

  /** The root hash (8 bytes; EMPTY_HASH for a tree without entries). */
  root(): Uint8Array {
    return this.hashesAt(0, [0]);
  }

  /**
   * The hashes of nodes `indices` of `level`, concatenated in the order asked (8 bytes each): what a
   * replica answers a peer's hash request with. MerkleRequestError for a level outside 0..3, an index
   * outside the level, or more than MAX_INDICES_PER_REQUEST indices.
   */
  hashesAt(level: number, indices: readonly number[]): Uint8Array {
    if (!Number.isInteger(level) || level < 0 || level > LEAF_LEVEL) {
      throw new MerkleRequestError(`level must be an integer in [0, ${LEAF_LEVEL}], got ${String(level)}`);
    }
    if (!Array.isArray(indices)) throw new MerkleRequestError('indices must be an array');
    if (indices.length > MAX_INDICES_PER_REQUEST) {
      throw new MerkleRequestError(`${indices.length} indices asked, at most ${MAX_INDICES_PER_REQUEST} per request`);
    }
    const count = nodesAt(level);
    const out = new Uint8Array(indices.length * HASH_BYTES);
    for (let j = 0; j < indices.length; j++) {
      const i: unknown = indices[j];
      if (typeof i !== 'number' || !Number.isInteger(i) || i < 0 || i >= count) {
        throw new MerkleRequestError(`index ${String(i)} is outside level ${level} (0..${count - 1})`);
      }
      this.refresh(level, i);
      out.set(this.hashes[level]!.subarray(i * HASH_BYTES, (i + 1) * HASH_BYTES), j * HASH_BYTES);
    }
    return out;
  }

  /**
   * The answer to a peer's TreeHashes request (MERKLE.md, "The breadth-first exchange"). Dense: the
   * hashes of the asked nodes of `level` and, if `counts` is asked for, how many entries each holds.
   * Sparse: for the asked nodes, every non-empty leaf below them, ascending, with its hash. The root
   * comes with every answer but the dense one of level 0 (whose hashes are the root). MerkleRequestError
   * as hashesAt() for a bad level or index; a sparse request's indices must ascend.
   */
  answer(level: number, indices: readonly number[], ask: { sparse?: boolean; counts?: boolean } = {}): HashesAnswer {
    const root = this.root();
    if (ask.sparse !== true) {
      const hashes = this.hashesAt(level, indices);
      const counts = ask.counts === true ? { counts: indices.map((i) => this.counts[level]![i]!) } : {};
      // Asked for the root itself, the hashes already hold it.
      return level === 0 ? { hashes, ...counts } : { hashes, root, ...counts };
    }
    this.hashesAt(level, indices); // validates, and refreshes every hash and count below the asked nodes
    const leaves: number[] = [];
    for (let j = 0; j < indices.length; j++) {
      if (j > 0 && indices[j]! <= indices[j - 1]!) throw new MerkleRequestError('the indices of a sparse request must ascend');
      leaves.push(...this.nonEmptyLeavesUnder(level, indices[j]!));
    }
    const hashes = new Uint8Array(leaves.length * HASH_BYTES);
    const leafHashes = this.hashes[LEAF_LEVEL]!;
    leaves.forEach((leaf, j) => hashes.set(leafHashes.subarray(leaf * HASH_BYTES, (leaf + 1) * HASH_BYTES), j * HASH_BYTES));
    return { hashes, root, leaves };
  }

  /** The number of entries under each of the nodes `indices` of `level` (inputs as for hashesAt). */
  countsAt(level: number, indices: readonly number[]): number[] {
    this.hashesAt(level, indices);
    return indices.map((i) => this.counts[level]![i]!);
  }

  /** The leaves under node `index` of `level` that hold entries, ascending. Inputs are trusted. */
  nonEmptyLeavesUnder(level: number, index: number): number[] {
    const span = nodesAt(LEAF_LEVEL - level);
    const out: number[] = [];
    for (let leaf = index * span; leaf < (index + 1) * span; leaf++) if (this.leaves[leaf] !== undefined) out.push(leaf);
    return out;
  }

  /** A leaf's entries sorted by key, one per key (sorted and deduplicated on first need). */
  private entriesOf(leaf: number): readonly Entry[] {
    const list = this.leaves[leaf];
    if (list === undefined) return [];
    if (this.normalized[leaf] === 0) {
      list.sort(byKey);
      let w = 0;
      for (let r = 1; r < list.length; r++) {
        const cur = list[r]!;
        if (compareBytes(cur.key, list[w]!.key) === 0) list[w] = newerEntry(list[w]!, cur);
        else list[++w] = cur;
      }
      list.length = w + 1;
      this.normalized[leaf] = 1;
    }
    return list;
  }

  /** Recomputes the hash of a dirty node (and its dirty descendants). */
  private refresh(level: number, index: number): void {
    const dirty = this.dirty[level]!;
    if (dirty[index] === 0) return;
    const out = this.hashes[level]!;
    if (level === LEAF_LEVEL) {
      this.hashLeaf(index, out);
      this.counts[level]![index] = this.entriesOf(index).length;
    } else {
      const first = index * FANOUT;
      let empty = true;
      let count = 0;
      for (let c = first; c < first + FANOUT; c++) {
        this.refresh(level + 1, c);
        if (!isEmptyHash(this.hashes[level + 1]!, c * HASH_BYTES)) empty = false;
        count += this.counts[level + 1]![c]!;
      }
      this.counts[level]![index] = count;
      // The 16 children's hashes are contiguous in the next level: hash them in place.
      if (empty) out.set(EMPTY_HASH, index * HASH_BYTES);
      else hashInto(this.hashes[level + 1]!.subarray(first * HASH_BYTES, (first + FANOUT) * HASH_BYTES), out, index * HASH_BYTES);
    }
    dirty[index] = 0;
  }

  private hashLeaf(leaf: number, out: Uint8Array): void {
    const entries = this.entriesOf(leaf);
    if (entries.length === 0) {
      out.set(EMPTY_HASH, leaf * HASH_BYTES);
      return;
    }
    let total = 0;
    for (const e of entries) total += e.bytes.length;
    if (this.scratch.length < total) this.scratch = new Uint8Array(Math.max(total, this.scratch.length * 2));
    let at = 0;
    for (const e of entries) {
      this.scratch.set(e.bytes, at);
      at += e.bytes.length;
    }
    hashInto(this.scratch.subarray(0, total), out, leaf * HASH_BYTES);
  }
}
