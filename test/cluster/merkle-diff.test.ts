import t from 'tap';
import { MerkleArgumentError, MerkleDiffStateError, MerkleResponseError } from '../../cluster/antientropy/errors.js';
import { HASH_BYTES, LEAF_COUNT, bucketOf } from '../../cluster/antientropy/merkle-format.js';
import { MerkleTree } from '../../cluster/antientropy/merkle-tree.js';
import { TreeDiff } from '../../cluster/antientropy/tree-diff.js';
import { Rng } from '../support/rng.js';
import { answerFrom, randomDataset, runDiff, treeOf, withDifferences } from './merkle-fixture.js';

const ALL_LEAF_BYTES = LEAF_COUNT * HASH_BYTES; // 32 KiB: what a diff without the tree would send
const sorted = (s: Set<number>): number[] => [...s].sort((a, b) => a - b);

t.test('the BFS diff finds exactly the differing buckets, both ways (property, 150 seeds)', (t) => {
  for (let seed = 1; seed <= 150; seed++) {
    const rng = new Rng(seed);
    const size = rng.chance(0.1) ? rng.int(5) : rng.int(2500);
    const k = seed % 10 === 0 ? 0 : rng.chance(0.2) ? 100 + rng.int(300) : rng.int(30);
    const data = randomDataset(rng, size);
    const { copy, buckets } = withDifferences(rng, data, k);
    const a = treeOf(data);
    const b = treeOf(copy);
    const maxIndicesPerRequest = rng.chance(0.3) ? 1 + rng.int(64) : undefined;
    const there = runDiff(a, b, { maxIndicesPerRequest });
    const back = runDiff(b, a, { maxIndicesPerRequest });
    const expected = sorted(buckets);
    if (there.done.buckets.join() !== expected.join() || back.done.buckets.join() !== expected.join()) {
      t.fail(`seed ${seed}: ${size} keys, k = ${k}`, { found: there.done.buckets, back: back.done.buckets, expected });
      continue;
    }
    t.equal(there.done.peerChanged, false);
    if (maxIndicesPerRequest !== undefined) {
      t.ok(there.requests.every((r) => r.indices.length <= maxIndicesPerRequest), `seed ${seed}: pages of at most ${maxIndicesPerRequest}`);
    }
  }
  t.end();
});

t.test('hash traffic grows with the differences, far below all leaf hashes when they are few', (t) => {
  const rng = new Rng(2026);
  const data = randomDataset(rng, 20_000);
  const local = treeOf(data);
  const figures: string[] = [];
  for (const k of [0, 1, 10, 100]) {
    const { copy, buckets } = withDifferences(rng, data, k);
    const { done } = runDiff(local, treeOf(copy));
    t.same(done.buckets, sorted(buckets), `k = ${k}: exactly the differing buckets`);
    const { requests, hashBytes } = done.stats;
    figures.push(`k=${k}: ${hashBytes} B in ${requests} requests (${buckets.size} buckets)`);
    // The root (8 bytes) and its entry count (20,000: a 3-byte varint).
    if (k === 0) t.same({ requests, hashBytes }, { requests: 1, hashBytes: 11 }, 'equal trees: one root exchange');
    // A full walk would cost 8 + 3 × 128 hash bytes plus roots and counts; once a differing node holds
    // few entries, the list of its non-empty leaves replaces the last level.
    // The root with its 3-byte count, then 16 hashes and the root on each of three levels: 419 bytes.
    if (k === 1) t.equal(hashBytes, 8 + 3 + 3 * (16 * 8 + 8), 'k = 1: one path down, 419 bytes');
    if (k === 10) t.ok(hashBytes < ALL_LEAF_BYTES / 8, `k = 10: ${hashBytes} B`);
    if (k === 100) t.ok(hashBytes < ALL_LEAF_BYTES / 2, `k = 100: ${hashBytes} B`);
  }
  t.comment(`20,000 keys, hash bytes received (all 4,096 leaf hashes: ${ALL_LEAF_BYTES} B): ${figures.join('; ')}`);
  t.end();
});

t.test('small trees (a few epochs of one partition): the peer lists its leaves, costing less than the missed records', (t) => {
  const rng = new Rng(8);
  for (const [size, missed] of [[4, 4], [34, 4], [120, 10]] as const) {
    const peer = randomDataset(rng, size);
    const local = new Map(peer);
    for (const key of [...peer.keys()].slice(0, missed)) local.delete(key);
    const { done, requests } = runDiff(treeOf(local), treeOf(peer));
    const expected = sorted(new Set([...peer.keys()].slice(0, missed).map((k) => bucketOf(Buffer.from(k, 'latin1')))));
    t.same(done.buckets, expected, `${size} entries, ${missed} missing: exactly their buckets`);
    t.ok(requests.some((r) => r.sparse), 'a sparse list was asked for');
    const bytes = done.stats.hashBytes + done.stats.requestBytes;
    // A missed record is a key plus at least 30 bytes of encoded record (RECORD.md) and its value.
    t.ok(bytes <= 16 + size * 10 + 8, `${size} entries: ${bytes} B of walk for ${missed} missed keys (at most 10 B per listed leaf)`);
    t.ok(requests.length <= 3, `${requests.length} round trips`);
  }
  t.end();
});

t.test('a sparse answer that lies is refused', (t) => {
  const rng = new Rng(3);
  const tree = treeOf(randomDataset(rng, 10));
  const start = (): TreeDiff => {
    const diff = new TreeDiff(new MerkleTree());
    diff.start();
    const step = diff.receive({ hashes: tree.root(), counts: [10] });
    t.match(step, { kind: 'request', level: 0, indices: [0], sparse: true }, 'ten entries: a sparse list of the whole tree');
    return diff;
  };
  const good = tree.answer(0, [0], { sparse: true });
  const leaves = good.leaves!;
  const cases: [string, object][] = [
    ['no leaves', { hashes: good.hashes }],
    ['a hash missing', { hashes: good.hashes.subarray(8), leaves }],
    ['leaves out of order', { hashes: good.hashes, leaves: [...leaves].reverse() }],
    ['a leaf past the last', { hashes: good.hashes, leaves: [...leaves.slice(0, -1), LEAF_COUNT] }],
  ];
  for (const [what, answer] of cases) t.throws(() => start().receive(answer as never), { code: 'MERKLE_BAD_RESPONSE' }, what);
  const dense = new TreeDiff(new MerkleTree());
  dense.start();
  t.throws(() => dense.receive({ hashes: tree.root(), counts: [1, 2] }), { code: 'MERKLE_BAD_RESPONSE' }, 'two counts for one node');
  t.end();
});

t.test('requests are paged: no request over the cap, levels asked in order', (t) => {
  const rng = new Rng(99);
  const data = randomDataset(rng, 3000);
  const { copy, buckets } = withDifferences(rng, data, 400);
  const { done, requests } = runDiff(treeOf(data), treeOf(copy), { maxIndicesPerRequest: 50 });
  t.same(done.buckets, sorted(buckets));
  t.ok(requests.every((r) => r.indices.length >= 1 && r.indices.length <= 50));
  t.same(requests.map((r) => r.level), [...requests.map((r) => r.level)].sort((a, b) => a - b), 'breadth-first');
  const leafAsks = requests.filter((r) => r.level === 3).flatMap((r) => r.indices);
  t.equal(new Set(leafAsks).size, leafAsks.length, 'no leaf is asked for twice');
  t.ok(requests.filter((r) => r.level === 3).length > 1, 'the leaf level took several pages');
  t.equal(done.stats.requests, requests.length);
  t.equal(done.stats.indicesRequested, requests.reduce((n, r) => n + r.indices.length, 0));
  t.end();
});

t.test('a peer with nothing costs one round trip; an empty local tree learns the peer buckets', (t) => {
  const rng = new Rng(5);
  const data = randomDataset(rng, 300);
  const full = treeOf(data);
  const expected = sorted(new Set([...data.keys()].map((k) => bucketOf(Buffer.from(k, 'latin1')))));
  const toEmpty = runDiff(full, new MerkleTree());
  t.same(toEmpty.done.buckets, expected, 'every bucket we hold');
  t.equal(toEmpty.done.stats.requests, 1, 'the peer root is EMPTY_HASH: nothing below it to ask');
  const fromEmpty = runDiff(new MerkleTree(), full);
  t.same(fromEmpty.done.buckets, expected, 'every bucket the peer holds');
  t.equal(fromEmpty.requests.at(-1)?.sparse, true, 'found in the lists of the peer\'s non-empty leaves');
  const bothEmpty = runDiff(new MerkleTree(), new MerkleTree());
  t.same(bothEmpty.done.buckets, []);
  t.end();
});

t.test('a peer tree that changes during the walk is reported; a local one is refused', (t) => {
  const rng = new Rng(6);
  const data = randomDataset(rng, 500);
  const local = treeOf(data);
  const peer = treeOf(withDifferences(rng, data, 5).copy);
  const diff = new TreeDiff(local);
  let step = diff.start();
  let answers = 0;
  while (step.kind === 'request') {
    step = diff.receive(answerFrom(peer, step));
    if (++answers === 1) peer.add(Buffer.from('late write'), { physicalMs: 1, logical: 0, node: 'n9' }, false);
  }
  t.equal(step.peerChanged, true, 'the root in a later answer differs from the first');

  const mine = treeOf(data);
  const other = new TreeDiff(mine);
  const first = other.start();
  mine.add(Buffer.from('oops'), { physicalMs: 1, logical: 0, node: 'n1' }, false);
  t.throws(() => other.receive(answerFrom(peer, first as { level: number; indices: number[] })), { code: 'MERKLE_DIFF_STATE' });
  t.end();
});

t.test('misuse and malformed answers get typed errors', (t) => {
  const tree = treeOf(randomDataset(new Rng(3), 50));
  const diff = new TreeDiff(tree);
  t.throws(() => diff.receive({ hashes: new Uint8Array(8) }), { code: 'MERKLE_DIFF_STATE', name: 'MerkleDiffStateError' }, 'an answer before start()');
  const step = diff.start();
  t.same(step, { kind: 'request', level: 0, indices: [0], sparse: false, counts: true }, 'the first request is the root and its entry count');
  t.throws(() => diff.start(), { code: 'MERKLE_DIFF_STATE' }, 'start() twice');
  for (const [what, answer] of [
    ['no hashes', { hashes: new Uint8Array(0) }],
    ['a short hash', { hashes: new Uint8Array(7) }],
    ['two hashes for one', { hashes: new Uint8Array(16) }],
    ['hashes not bytes', { hashes: 'x' as unknown as Uint8Array }],
    ['a short root', { hashes: new Uint8Array(8), root: new Uint8Array(4), counts: [1] }],
    ['no count', { hashes: new Uint8Array(8) }],
    ['a negative count', { hashes: new Uint8Array(8), counts: [-1] }],
  ] as const) {
    t.throws(() => diff.receive(answer), { code: 'MERKLE_BAD_RESPONSE', name: 'MerkleResponseError' }, what);
  }
  const done = diff.receive({ hashes: tree.root(), counts: [50] });
  t.same(done.kind === 'done' && done.buckets, [], 'still usable after refused answers; equal roots: done');
  t.throws(() => diff.receive({ hashes: tree.root(), counts: [50] }), { code: 'MERKLE_DIFF_STATE' }, 'an answer after the end');
  for (const bad of [0, 4097, 1.5]) {
    t.throws(() => new TreeDiff(tree, { maxIndicesPerRequest: bad }), { code: 'MERKLE_BAD_ARGUMENT' }, `maxIndicesPerRequest ${bad}`);
  }
  t.ok(new MerkleArgumentError('x') instanceof Error && new MerkleResponseError('x') instanceof Error && new MerkleDiffStateError('x') instanceof Error);
  t.end();
});

t.test('the sequence example of MERKLE.md: a replica that missed one delete', (t) => {
  const k = { physicalMs: 1767225600000, logical: 3, node: 'n1' };
  const behind = new MerkleTree();
  behind.add(Buffer.from('k'), k, false);
  const ahead = new MerkleTree();
  ahead.add(Buffer.from('k'), k, false);
  ahead.add(Buffer.from('xxx'), { physicalMs: 1767225600000, logical: 4, node: 'n2' }, true);
  const { done, requests } = runDiff(behind, ahead);
  t.same(requests, [
    { level: 0, indices: [0], sparse: false, counts: true },
    { level: 0, indices: [0], sparse: true, counts: false },
  ]);
  t.same(done.buckets, [1838]);
  // The root and its count (8 + 1), then the one leaf holding both keys (a 2-byte index), its hash and the root (2 + 8 + 8).
  t.same(done.stats, { requests: 2, indicesRequested: 2, hashBytes: 9 + 18, requestBytes: 2 });
  // The same miss in a tree too large for leaf lists: the walk goes down level by level.
  const rng = new Rng(11);
  const big = randomDataset(rng, 20_000);
  const bigBehind = treeOf(big);
  const bigAhead = treeOf(big);
  bigAhead.add(Buffer.from('xxx'), { physicalMs: 1767225600000, logical: 4, node: 'n2' }, true);
  const walk = runDiff(bigBehind, bigAhead);
  t.same(walk.done.buckets, [1838]);
  t.same(walk.requests.map((r) => r.level), [0, 1, 2, 3], 'four levels, one request each');
  t.end();
});
