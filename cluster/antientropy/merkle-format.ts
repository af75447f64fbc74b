/**
 * The Merkle tree's fixed shape and the bytes its hashes cover (MERKLE.md mirrors this with a worked
 * example that test/cluster/merkle-format.test.ts checks). Both replicas must compute identical bytes,
 * so everything here is part of the anti-entropy protocol (TREE_VERSION).
 *
 * Shape: fan-out 16, levels 0 (the root) to 3 (the leaves): 1 + 16 + 256 + 4,096 nodes. Node i of
 * level L has children 16i .. 16i+15 at level L+1; leaf i is bucket i.
 *
 * Bucket of a key: the top 12 bits of xxh32(key, BUCKET_SEED). Not the partition hash: every key of a
 * partition shares the top bits of xxh32(key, 0) (partitionOf takes them), so those bits would put the
 * whole partition into a few buckets. A different seed gives an unrelated 32-bit hash.
 *
 * Entry (one key's version), all integers big-endian:
 *
 *   offset  size  field
 *   0       4     k = key length
 *   4       k     key
 *   4+k     8     timestamp.physicalMs u64
 *   12+k    4     timestamp.logical    u32
 *   16+k    1     n = node id length
 *   17+k    n     timestamp.node, UTF-8
 *   17+k+n  1     flags: bit 0 = tombstone
 *
 * The value is left out: under last-write-wins a version is identified by its timestamp (a coordinator
 * never stamps two writes with one timestamp, and node ids differ), so equal timestamps mean equal
 * values, and hashing values would cost time in proportion to their bytes.
 *
 * Hash of bytes b: xxh32(b, HASH_SEED_HI) ‖ xxh32(b, HASH_SEED_LO), each u32 big-endian (8 bytes).
 *   leaf  = hash(its entries in bytewise key order, concatenated)
 *   inner = hash(its 16 children's hashes, concatenated: 128 bytes)
 *   any subtree without entries = EMPTY_HASH (8 zero bytes), without hashing.
 */
import { MerkleRequestError } from './errors.js';
import { xxh32 } from '../hash.js';
import type { Timestamp } from '../hlc.js';

/** Version of the tree's shape and hash inputs; peers with another version cannot compare trees. */
export const TREE_VERSION = 1;
export const FANOUT = 16;
/** Level of the leaves (the root is level 0). */
export const LEAF_LEVEL = 3;
export const LEAF_COUNT = FANOUT ** LEAF_LEVEL; // 4,096
export const HASH_BYTES = 8;
/** The most node indices one hash request may ask for: a whole level of leaves (a 32 KiB answer). */
export const MAX_INDICES_PER_REQUEST = LEAF_COUNT;
/** Seed of the bucket hash ("MRKL"), unrelated to the partition hash's seed 0. */
export const BUCKET_SEED = 0x4d524b4c;
/** Seeds of the two halves of a node hash ("MKH1", "MKH2"). */
export const HASH_SEED_HI = 0x4d4b4831;
export const HASH_SEED_LO = 0x4d4b4832;
export const EMPTY_HASH: Readonly<Uint8Array> = new Uint8Array(HASH_BYTES);
const FLAG_TOMBSTONE = 0x01;
const BUCKET_SHIFT = 32 - 12; // 12 = log2(LEAF_COUNT)

const utf8 = new TextEncoder();

/** Number of nodes of a level. */
export function nodesAt(level: number): number {
  return FANOUT ** level;
}

/** The leaf bucket of a key: top 12 bits of its xxh32 with BUCKET_SEED. */
export function bucketOf(key: Uint8Array): number {
  return xxh32(key, BUCKET_SEED) >>> BUCKET_SHIFT;
}

/**
 * A peer's list of leaf buckets (a BucketRecords request) as a set; MerkleRequestError when it is
 * empty, longer than LEAF_COUNT, or holds something other than an integer in [0, LEAF_COUNT).
 */
export function checkBuckets(buckets: readonly number[]): Set<number> {
  if (!Array.isArray(buckets)) throw new MerkleRequestError('buckets must be an array');
  if (buckets.length === 0 || buckets.length > LEAF_COUNT) {
    throw new MerkleRequestError(`1 to ${LEAF_COUNT} buckets per request, got ${buckets.length}`);
  }
  const out = new Set<number>();
  for (const b of buckets) {
    if (typeof b !== 'number' || !Number.isInteger(b) || b < 0 || b >= LEAF_COUNT) {
      throw new MerkleRequestError(`bucket ${String(b)} is outside 0..${LEAF_COUNT - 1}`);
    }
    out.add(b);
  }
  return out;
}

/** UTF-8 of node ids, cached: a tree's entries carry a handful of distinct coordinator ids. */
const nodeCache = new Map<string, Uint8Array>();
const NODE_CACHE_LIMIT = 1024;

export function nodeBytes(node: string): Uint8Array {
  let b = nodeCache.get(node);
  if (b === undefined) {
    if (nodeCache.size >= NODE_CACHE_LIMIT) nodeCache.clear();
    b = utf8.encode(node);
    nodeCache.set(node, b);
  }
  return b;
}

function writeU32(out: Uint8Array, v: number, at: number): void {
  out[at] = v >>> 24;
  out[at + 1] = v >>> 16;
  out[at + 2] = v >>> 8;
  out[at + 3] = v;
}

/** The entry bytes of one version (layout above). Inputs are assumed valid (MerkleTree.add checks). */
export function encodeEntry(key: Uint8Array, timestamp: Timestamp, tombstone: boolean): Uint8Array {
  const node = nodeBytes(timestamp.node);
  const k = key.length;
  const out = new Uint8Array(18 + k + node.length);
  writeU32(out, k, 0);
  out.set(key, 4);
  writeU32(out, Math.floor(timestamp.physicalMs / 0x1_0000_0000), 4 + k);
  writeU32(out, timestamp.physicalMs >>> 0, 8 + k);
  writeU32(out, timestamp.logical, 12 + k);
  out[16 + k] = node.length;
  out.set(node, 17 + k);
  out[17 + k + node.length] = tombstone ? FLAG_TOMBSTONE : 0;
  return out;
}

/** Writes the 8-byte hash of `bytes` into out[offset, offset+8). */
export function hashInto(bytes: Uint8Array, out: Uint8Array, offset: number): void {
  writeU32(out, xxh32(bytes, HASH_SEED_HI), offset);
  writeU32(out, xxh32(bytes, HASH_SEED_LO), offset + 4);
}

/** True if the 8 bytes at out[offset] are EMPTY_HASH. */
export function isEmptyHash(hashes: Uint8Array, offset: number): boolean {
  for (let i = 0; i < HASH_BYTES; i++) if (hashes[offset + i] !== 0) return false;
  return true;
}

/** True if hash a at offset ao equals hash b at offset bo. */
export function sameHash(a: Uint8Array, ao: number, b: Uint8Array, bo: number): boolean {
  for (let i = 0; i < HASH_BYTES; i++) if (a[ao + i] !== b[bo + i]) return false;
  return true;
}
