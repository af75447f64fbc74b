/**
 * Model data for the Merkle tests: a partition's versions as a plain map (key → timestamp, tombstone),
 * random datasets from a seed, copies with k known differences, and a peer that answers hash requests
 * from its own tree the way the RPC responder will.
 */
import { bucketOf } from '../../cluster/antientropy/merkle-format.js';
import { MerkleTree } from '../../cluster/antientropy/merkle-tree.js';
import type { DiffStep, HashesAnswer, TreeDiffOptions } from '../../cluster/antientropy/tree-diff.js';
import { TreeDiff } from '../../cluster/antientropy/tree-diff.js';
import type { Timestamp } from '../../cluster/hlc.js';
import type { Rng } from '../support/rng.js';

export interface Version {
  timestamp: Timestamp;
  tombstone: boolean;
}

/** key (latin1 string of the key bytes) → version. */
export type Dataset = Map<string, Version>;

const NODES = ['n1', 'n2', 'node-3', 'nœud-4'];

export function randomKey(rng: Rng): string {
  return rng.bytes(1 + rng.int(24)).toString('latin1');
}

export function randomVersion(rng: Rng): Version {
  return {
    timestamp: { physicalMs: 1_767_225_600_000 + rng.int(1_000_000), logical: rng.int(4), node: NODES[rng.int(NODES.length)]! },
    tombstone: rng.chance(0.1),
  };
}

export function randomDataset(rng: Rng, size: number): Dataset {
  const data: Dataset = new Map();
  while (data.size < size) data.set(randomKey(rng), randomVersion(rng));
  return data;
}

/** The tree of a dataset, its entries added in the order given (default: the map's order). */
export function treeOf(data: Dataset, order: string[] = [...data.keys()]): MerkleTree {
  const tree = new MerkleTree();
  for (const key of order) {
    const v = data.get(key)!;
    tree.add(Buffer.from(key, 'latin1'), v.timestamp, v.tombstone);
  }
  return tree;
}

/**
 * A copy of `data` with `k` differences on k distinct keys, each one of: a newer timestamp, the
 * tombstone flag flipped, the key missing, an extra key. Returns the copy and the buckets touched.
 */
export function withDifferences(rng: Rng, data: Dataset, k: number): { copy: Dataset; buckets: Set<number> } {
  const copy: Dataset = new Map(data);
  const buckets = new Set<number>();
  const keys = rng.shuffle([...data.keys()]);
  let used = 0;
  for (let i = 0; i < k; i++) {
    const kind = keys.length - used > 0 ? rng.int(4) : 3;
    if (kind === 3) {
      let key = randomKey(rng);
      while (data.has(key) || copy.has(key)) key = randomKey(rng);
      copy.set(key, randomVersion(rng));
      buckets.add(bucketOf(Buffer.from(key, 'latin1')));
      continue;
    }
    const key = keys[used++]!;
    const v = data.get(key)!;
    if (kind === 0) copy.set(key, { ...v, timestamp: { ...v.timestamp, logical: v.timestamp.logical + 1 } });
    else if (kind === 1) copy.set(key, { ...v, tombstone: !v.tombstone });
    else copy.delete(key);
    buckets.add(bucketOf(Buffer.from(key, 'latin1')));
  }
  return { copy, buckets };
}

/** The responder: the peer's hashes of the asked nodes, with its root, as the RPC answer carries them. */
export function answerFrom(peer: MerkleTree, step: { level: number; indices: number[]; sparse?: boolean; counts?: boolean }): HashesAnswer {
  return peer.answer(step.level, step.indices, { sparse: step.sparse === true, counts: step.counts === true });
}

/** Runs a whole diff of `local` against `peer`; returns the final step and every request made. */
export function runDiff(local: MerkleTree, peer: MerkleTree, options?: TreeDiffOptions): { done: Extract<DiffStep, { kind: 'done' }>; requests: { level: number; indices: number[]; sparse: boolean; counts: boolean }[] } {
  const diff = new TreeDiff(local, options);
  const requests: { level: number; indices: number[]; sparse: boolean; counts: boolean }[] = [];
  let step = diff.start();
  while (step.kind === 'request') {
    requests.push({ level: step.level, indices: step.indices, sparse: step.sparse, counts: step.counts });
    step = diff.receive(answerFrom(peer, step));
  }
  return { done: step, requests };
}
