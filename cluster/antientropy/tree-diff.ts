/**
 * The breadth-first Merkle diff, on the replica that starts it, as a pure state machine: it holds the
 * local tree, says which nodes to ask the peer about (one level at a time), takes the peer's answers
 * (MerkleTree.answer), and descends only into nodes whose hashes differ, until it has the differing
 * leaf buckets. The driver carries both over RPC (TreeHashes, MERKLE.md).
 *
 *   const diff = new TreeDiff(tree);
 *   let step = diff.start();                       // first: the peer's root and its entry count
 *   while (step.kind === 'request') step = diff.receive(await askPeer(step));
 *   step.buckets                                    // the leaf buckets to exchange records for
 *
 * Two kinds of request. Dense: the hashes of the nodes asked (and, where it may pay off, their entry
 * counts). Sparse: the peer's non-empty leaves under the nodes asked, with their hashes: a node holding
 * few entries (sparseLimit) is cheaper to list, about 10 bytes a leaf, than to walk, 144 bytes a level.
 * Large trees with one difference walk all levels (419 bytes received in four round trips); the small
 * trees of a few epochs of one partition are settled by one list. A request names at most
 * maxIndicesPerRequest nodes; more are asked in several requests (pages). Where the peer's node is
 * EMPTY_HASH, every local leaf below differs and nothing more is asked.
 *
 * A peer whose root changes during the walk (writes with an old epoch arriving: hints, read repair,
 * another replica's repair) makes the result possibly incomplete: `peerChanged` says so, and the range
 * must not count as verified. The local tree must not change during the walk (MerkleDiffStateError).
 */
import { MerkleArgumentError, MerkleDiffStateError, MerkleResponseError } from './errors.js';
import { FANOUT, HASH_BYTES, LEAF_COUNT, LEAF_LEVEL, MAX_INDICES_PER_REQUEST, isEmptyHash, nodesAt, sameHash } from './merkle-format.js';
import type { MerkleTree } from './merkle-tree.js';

export const DEFAULT_MAX_INDICES_PER_REQUEST = 256;
/** What a sparse answer costs per leaf (a 2-byte index and its hash) and a dense level per parent (16 hashes and counts). */
const SPARSE_BYTES_PER_LEAF = 2 + HASH_BYTES;
const DENSE_BYTES_PER_PARENT = FANOUT * (HASH_BYTES + 1);

export interface TreeDiffOptions {
  /** At most this many indices per request, 1..4096 (default 256: dense answers of 2 KiB). */
  maxIndicesPerRequest?: number;
}

/**
 * The peer's answer to a request (MerkleTree.answer). Dense: `hashes` of the nodes asked, in order, and
 * where the request asked for them `counts`, the entries under each. Sparse: `leaves`, the non-empty leaves under the
 * nodes asked, ascending, and their `hashes`. `root`: the peer's current root.
 */
export interface HashesAnswer {
  hashes: Uint8Array;
  root?: Uint8Array;
  counts?: readonly number[];
  leaves?: readonly number[];
}

export interface DiffStats {
  /** Hash requests sent (round trips). */
  requests: number;
  /** Node indices asked for, over all requests. */
  indicesRequested: number;
  /** Bytes received from the peer: hashes, roots, counts and leaf indices (varints, as on the wire). */
  hashBytes: number;
  /** Bytes of the node indices sent (varints, as on the wire). */
  requestBytes: number;
}

export type DiffStep =
  | { kind: 'request'; level: number; indices: number[]; sparse: boolean; counts: boolean }
  | { kind: 'done'; buckets: number[]; peerChanged: boolean; stats: DiffStats };

/** Bytes of an unsigned varint (protobuf's packed uint32). */
function varintBytes(v: number): number {
  let n = 1;
  while (v >= 0x80) {
    v = Math.floor(v / 0x80);
    n++;
  }
  return n;
}

const sumVarints = (xs: readonly number[]): number => xs.reduce((a, x) => a + varintBytes(x), 0);

/**
 * The most entries a node of `level` may hold for the list of its leaves to cost less than walking its
 * remaining levels (43, 28 and 14 on levels 0, 1 and 2; -1 on the leaves).
 */
function sparseLimit(level: number): number {
  return Math.ceil((DENSE_BYTES_PER_PARENT * (LEAF_LEVEL - level)) / SPARSE_BYTES_PER_LEAF) - 1;
}

export class TreeDiff {
  private readonly maxIndices: number;
  private readonly startChanges: number;
  private state: 'new' | 'waiting' | 'done' = 'new';
  /** The dense level being asked for and its indices not yet asked. */
  private level = 0;
  private queue: number[] = [0];
  /** Whether the dense requests of this level ask for entry counts (the root's always does). */
  private levelCounts = true;
  /** Nodes of the current level whose leaves are asked for in a sparse list. */
  private sparseQueue: number[] = [];
  /** The request in flight. */
  private pending: number[] = [];
  private pendingSparse = false;
  private pendingCounts = false;
  /** Differing inner nodes of the current level, whose children the next level asks for. */
  private differing: number[] = [];
  /** Their entry counts: the peer's where asked for, else ours. */
  private estimates = new Map<number, number>();
  private readonly buckets = new Set<number>();
  private peerRoot: Uint8Array | undefined;
  private peerChanged = false;
  private readonly stats: DiffStats = { requests: 0, indicesRequested: 0, hashBytes: 0, requestBytes: 0 };

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
    const { hashes, root } = answer;
    if (!(hashes instanceof Uint8Array)) throw new MerkleResponseError(`hashes must be bytes, got ${typeof hashes}`);
    if (root !== undefined && (!(root instanceof Uint8Array) || root.length !== HASH_BYTES)) {
      throw new MerkleResponseError(`a root hash is ${HASH_BYTES} bytes`);
    }
    if (this.pendingSparse) this.receiveSparse(answer);
    else this.receiveDense(answer);
    if (root !== undefined) this.notePeerRoot(root);
    return this.nextRequest();
  }

  private receiveDense({ hashes, root, counts }: HashesAnswer): void {
    const asked = this.pending;
    if (hashes.length !== asked.length * HASH_BYTES) {
      throw new MerkleResponseError(`expected ${asked.length} hashes (${asked.length * HASH_BYTES} bytes), got ${hashes.length} bytes`);
    }
    const peerCounts = this.pendingCounts ? counts : undefined;
    if (this.pendingCounts && (!Array.isArray(peerCounts) || peerCounts.length !== asked.length || !peerCounts.every((c) => Number.isSafeInteger(c) && c >= 0))) {
      throw new MerkleResponseError(`expected ${asked.length} entry counts, got ${Array.isArray(counts) ? counts.length : 'none'}`);
    }
    this.stats.hashBytes += hashes.length + (root?.length ?? 0) + (peerCounts === undefined ? 0 : sumVarints(peerCounts));
    if (this.level === 0) this.notePeerRoot(hashes.subarray(0, HASH_BYTES));
    const local = this.tree.hashesAt(this.level, asked);
    for (let j = 0; j < asked.length; j++) {
      const off = j * HASH_BYTES;
      if (sameHash(local, off, hashes, off)) continue;
      const index = asked[j]!;
      if (this.level === LEAF_LEVEL) this.buckets.add(index);
      else if (isEmptyHash(hashes, off)) this.addLocalLeaves(index);
      else {
        // The peer's count where asked for; else ours, a fair guess between replicas nearly in sync.
        const entries = peerCounts?.[j] ?? this.tree.countsAt(this.level, [index])[0]!;
        if (entries <= sparseLimit(this.level)) this.sparseQueue.push(index);
        else {
          this.differing.push(index);
          this.estimates.set(index, entries);
        }
      }
    }
  }

  private receiveSparse({ hashes, root, leaves: listed }: HashesAnswer): void {
    const asked = this.pending;
    const leaves: readonly number[] = Array.isArray(listed) ? listed : [];
    if (!Array.isArray(listed) || hashes.length !== leaves.length * HASH_BYTES) {
      throw new MerkleResponseError(`a sparse answer has a hash for each of its leaves: ${Array.isArray(listed) ? leaves.length : 'no'} leaves, ${hashes.length} bytes of hashes`);
    }
    const shift = nodesAt(LEAF_LEVEL - this.level);
    const askedSet = new Set(asked);
    const peer = new Map<number, number>(); // leaf -> offset of its hash
    leaves.forEach((leaf, j) => {
      if (!Number.isInteger(leaf) || leaf < 0 || leaf >= LEAF_COUNT || (j > 0 && leaf <= leaves[j - 1]!)) {
        throw new MerkleResponseError('the leaves of a sparse answer must be ascending leaf indices');
      }
      if (!askedSet.has(Math.floor(leaf / shift))) throw new MerkleResponseError(`leaf ${leaf} is not under a node asked for`);
      peer.set(leaf, j * HASH_BYTES);
    });
    this.stats.hashBytes += hashes.length + (root?.length ?? 0) + sumVarints(leaves);
    const local = this.tree.hashesAt(LEAF_LEVEL, [...peer.keys()]);
    let j = 0;
    for (const [leaf, off] of peer) {
      if (!sameHash(local, j * HASH_BYTES, hashes, off)) this.buckets.add(leaf);
      j++;
    }
    // Leaves we hold that the peer did not list: it has nothing there.
    for (const index of asked) for (const leaf of this.tree.nonEmptyLeavesUnder(this.level, index)) if (!peer.has(leaf)) this.buckets.add(leaf);
  }

  /** The peer holds nothing under node `index` of the current level: every leaf we hold there differs. */
  private addLocalLeaves(index: number): void {
    for (const leaf of this.tree.nonEmptyLeavesUnder(this.level, index)) this.buckets.add(leaf);
  }

  private notePeerRoot(root: Uint8Array): void {
    if (this.peerRoot === undefined) this.peerRoot = root.slice();
    else if (!sameHash(this.peerRoot, 0, root, 0)) this.peerChanged = true;
  }

  /** The next page of the current level, else its sparse lists, else the next level, else the result. */
  private nextRequest(): DiffStep {
    let sparse = false;
    if (this.queue.length === 0 && this.sparseQueue.length > 0) {
      sparse = true;
    } else if (this.queue.length === 0 && this.differing.length > 0) {
      this.level++;
      // Counts pay off only where a child may be small enough for a leaf list.
      const limit = FANOUT * sparseLimit(this.level);
      this.levelCounts = this.differing.some((parent) => this.estimates.get(parent)! <= limit);
      for (const parent of this.differing.sort((a, b) => a - b)) {
        for (let c = parent * FANOUT; c < (parent + 1) * FANOUT; c++) this.queue.push(c);
      }
      this.differing = [];
      this.estimates = new Map();
    }
    const source = sparse ? this.sparseQueue.sort((a, b) => a - b) : this.queue;
    if (source.length === 0) {
      this.state = 'done';
      this.pending = [];
      const buckets = [...this.buckets].sort((a, b) => a - b);
      return { kind: 'done', buckets, peerChanged: this.peerChanged, stats: { ...this.stats } };
    }
    this.pending = source.splice(0, this.maxIndices);
    this.pendingSparse = sparse;
    this.pendingCounts = !sparse && this.levelCounts;
    this.state = 'waiting';
    this.stats.requests++;
    this.stats.indicesRequested += this.pending.length;
    this.stats.requestBytes += sumVarints(this.pending);
    return { kind: 'request', level: this.level, indices: [...this.pending], sparse, counts: this.pendingCounts };
  }
}
