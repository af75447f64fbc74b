/**
 * The breadth-first Merkle diff, on the replica that starts it, as a pure state machine: it holds the
 * local tree, says which node hashes to ask the peer for (one level at a time), takes the peer's
 * answers, and descends only into nodes whose hashes differ, until it has the differing leaf buckets.
 * The peer answers with MerkleTree.hashesAt(level, indices); the driver carries both over RPC
 * (TreeHashes, MERKLE.md).
 *
 *   const diff = new TreeDiff(tree);
 *   let step = diff.start();                       // first: the peer's root (level 0, [0])
 *   while (step.kind === 'request') step = diff.receive(await askPeer(step.level, step.indices));
 *   step.buckets                                    // the leaf buckets to exchange records for
 *
 * Cost: with k differing keys, at most min(k, 16^L) nodes of level L differ, so about 8 + 128 · k bytes
 * of hashes per level below the root (k = 1: 392 bytes in four round trips), against 32 KiB for all
 * 4,096 leaf hashes. A request asks for at most maxIndicesPerRequest hashes; when more differ, the
 * level is asked in several requests (pages). Where the peer's node is EMPTY_HASH, every local leaf
 * below differs (the peer has nothing there) and no more hashes are needed; where ours is empty and
 * the peer's is not, the walk must descend to learn which of the peer's leaves hold entries.
 *
 * A peer whose root changes during the walk (writes with an old epoch arriving: hints, read repair)
 * makes the result possibly incomplete: `peerChanged` says so, and the range must not count as
 * verified. The local tree must not change during the walk (MerkleDiffStateError).
 */
import { MerkleArgumentError, MerkleDiffStateError, MerkleResponseError } from './errors.js';
import { FANOUT, HASH_BYTES, LEAF_LEVEL, MAX_INDICES_PER_REQUEST, isEmptyHash, sameHash } from './merkle-format.js';
import type { MerkleTree } from './merkle-tree.js';

export const DEFAULT_MAX_INDICES_PER_REQUEST = 256;

export interface TreeDiffOptions {
  /** At most this many hashes per request, 1..4096 (default 256: answers of 2 KiB). */
  maxIndicesPerRequest?: number;
}

/** The peer's answer to a request: the hashes asked for, in order; optionally its current root. */
export interface HashesAnswer {
  hashes: Uint8Array;
  root?: Uint8Array;
}

export interface DiffStats {
  /** Hash requests sent (round trips). */
  requests: number;
  /** Node indices asked for, over all requests. */
  indicesRequested: number;
  /** Bytes of hashes received from the peer (requested hashes and roots). */
  hashBytes: number;
}

export type DiffStep =
  | { kind: 'request'; level: number; indices: number[] }
  | { kind: 'done'; buckets: number[]; peerChanged: boolean; stats: DiffStats };

export class TreeDiff {
  private readonly maxIndices: number;
  private readonly startChanges: number;
  private state: 'new' | 'waiting' | 'done' = 'new';
  /** The level being asked for, the indices not yet asked, and the request in flight. */
  private level = 0;
  private queue: number[] = [0];
  private pending: number[] = [];
  /** Differing inner nodes of the current level, whose children the next level asks for. */
  private differing: number[] = [];
  private readonly buckets = new Set<number>();
  private peerRoot: Uint8Array | undefined;
  private peerChanged = false;
  private readonly stats: DiffStats = { requests: 0, indicesRequested: 0, hashBytes: 0 };

  constructor(
    private readonly tree: MerkleTree,
    options: TreeDiffOptions = {},
  ) {
    const max = options.maxIndicesPerRequest ?? DEFAULT_MAX_INDICES_PER_REQUEST;
    if (!Number.isInteger(max) || max < 1 || max > MAX_INDICES_PER_REQUEST) {
      throw new MerkleArgumentError(`maxIndicesPerRequest must be an integer in [1, ${MAX_INDICES_PER_REQUEST}], got ${String(max)}`);
    }
    this.maxIndices = max;
    this.startChanges = tree.changes;
  }

  /** The first request: the peer's root hash. */
  start(): DiffStep {
    if (this.state !== 'new') throw new MerkleDiffStateError('start() was already called');
    return this.nextRequest();
  }

  /** Takes the peer's answer to the pending request; returns the next request or the result. */
  receive(answer: HashesAnswer): DiffStep {
    if (this.state !== 'waiting') throw new MerkleDiffStateError(`receive() with no request pending (state ${this.state})`);
    if (this.tree.changes !== this.startChanges) throw new MerkleDiffStateError('the local tree changed during the diff');
    const asked = this.pending;
    const { hashes } = answer;
    if (!(hashes instanceof Uint8Array) || hashes.length !== asked.length * HASH_BYTES) {
      const got = hashes instanceof Uint8Array ? `${hashes.length} bytes` : typeof hashes;
      throw new MerkleResponseError(`expected ${asked.length} hashes (${asked.length * HASH_BYTES} bytes), got ${got}`);
    }
    if (answer.root !== undefined && (!(answer.root instanceof Uint8Array) || answer.root.length !== HASH_BYTES)) {
      throw new MerkleResponseError(`a root hash is ${HASH_BYTES} bytes`);
    }
    this.stats.hashBytes += hashes.length + (answer.root?.length ?? 0);
    if (this.level === 0) this.notePeerRoot(hashes.subarray(0, HASH_BYTES));
    if (answer.root !== undefined) this.notePeerRoot(answer.root);
    const local = this.tree.hashesAt(this.level, asked);
    for (let j = 0; j < asked.length; j++) {
      const off = j * HASH_BYTES;
      if (sameHash(local, off, hashes, off)) continue;
      const index = asked[j]!;
      if (this.level === LEAF_LEVEL) this.buckets.add(index);
      else if (isEmptyHash(hashes, off)) for (const leaf of this.tree.nonEmptyLeavesUnder(this.level, index)) this.buckets.add(leaf);
      else this.differing.push(index);
    }
    return this.nextRequest();
  }

  private notePeerRoot(root: Uint8Array): void {
    if (this.peerRoot === undefined) this.peerRoot = root.slice();
    else if (!sameHash(this.peerRoot, 0, root, 0)) this.peerChanged = true;
  }

  /** The next page of the current level, else the first page of the next level, else the result. */
  private nextRequest(): DiffStep {
    if (this.queue.length === 0) {
      if (this.differing.length > 0) {
        this.level++;
        this.queue = [];
        for (const parent of this.differing.sort((a, b) => a - b)) {
          for (let c = parent * FANOUT; c < (parent + 1) * FANOUT; c++) this.queue.push(c);
        }
        this.differing = [];
      }
    }
    if (this.queue.length === 0) {
      this.state = 'done';
      this.pending = [];
      const buckets = [...this.buckets].sort((a, b) => a - b);
      return { kind: 'done', buckets, peerChanged: this.peerChanged, stats: { ...this.stats } };
    }
    this.pending = this.queue.splice(0, this.maxIndices);
    this.state = 'waiting';
    this.stats.requests++;
    this.stats.indicesRequested += this.pending.length;
    return { kind: 'request', level: this.level, indices: [...this.pending] };
  }
}

