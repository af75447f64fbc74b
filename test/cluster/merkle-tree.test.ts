import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { MerkleArgumentError, MerkleRequestError } from '../../cluster/antientropy/errors.js';
import { EMPTY_HASH, LEAF_COUNT, bucketOf, checkBuckets, encodeEntry } from '../../cluster/antientropy/merkle-format.js';
import { MerkleTree } from '../../cluster/antientropy/merkle-tree.js';
import { xxh32 } from '../../cluster/hash.js';
import { partitionOf } from '../../cluster/ring.js';
import { Rng } from '../support/rng.js';
import { randomDataset, treeOf } from './merkle-fixture.js';

const doc = readFileSync(fileURLToPath(new URL('../../../cluster/antientropy/MERKLE.md', import.meta.url)), 'utf8');
const hexOf = (b: Uint8Array): string => Buffer.from(b).toString('hex').replace(/(..)(?!$)/g, '$1 ');
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

const K = Buffer.from('k');
const XXX = Buffer.from('xxx');
const tsK = { physicalMs: 1767225600000, logical: 3, node: 'n1' };
const tsX = { physicalMs: 1767225600000, logical: 4, node: 'n2' };

t.test('the worked example of MERKLE.md: buckets, entry bytes and every hash up to the root', (t) => {
  t.equal(bucketOf(K), 1838);
  t.equal(bucketOf(XXX), 1838, 'both keys fall into leaf 1838');
  const e1 = encodeEntry(K, tsK, false);
  const e2 = encodeEntry(XXX, tsX, true);
  t.equal(hexOf(e1), '00 00 00 01 6b 00 00 01 9b 76 da a8 00 00 00 00 03 02 6e 31 00');
  t.equal(hexOf(e2), '00 00 00 03 78 78 78 00 00 01 9b 76 da a8 00 00 00 00 04 02 6e 32 01');
  for (const b of [e1, e2]) t.ok(doc.includes(hexOf(b)), `MERKLE.md shows ${hexOf(b)}`);
  const tree = new MerkleTree();
  tree.add(XXX, tsX, true); // added out of key order on purpose
  tree.add(K, tsK, false);
  const expected: [number, number, string][] = [
    [3, 1838, '66 68 c0 bf 3f f6 40 68'],
    [2, 114, '25 14 f2 76 0e e8 31 d7'],
    [1, 7, '57 e8 ee ff 65 e7 a1 b3'],
    [0, 0, 'b3 52 d7 fc 9e dd ef 9a'],
  ];
  for (const [level, index, h] of expected) {
    t.equal(hexOf(tree.hashesAt(level, [index])), h, `level ${level} node ${index}`);
    t.ok(doc.includes(h), `MERKLE.md shows the hash of level ${level} node ${index}`);
  }
  t.equal(hexOf(tree.hashesAt(2, [113])), hexOf(EMPTY_HASH), 'a node without entries is EMPTY_HASH');
  t.equal(hexOf(new MerkleTree().root()), '00 00 00 00 00 00 00 00', 'an empty tree has the EMPTY_HASH root');
  t.end();
});

t.test('the tree does not depend on the order entries are added in', (t) => {
  const rng = new Rng(7);
  for (let round = 0; round < 12; round++) {
    const data = randomDataset(rng, rng.int(3000));
    const keys = [...data.keys()];
    const a = treeOf(data, keys);
    const b = treeOf(data, rng.shuffle([...keys]));
    t.equal(hex(a.root()), hex(b.root()), `round ${round}: ${keys.length} keys, shuffled`);
    t.equal(hex(a.hashesAt(3, Array.from({ length: LEAF_COUNT }, (_, i) => i))), hex(b.hashesAt(3, Array.from({ length: LEAF_COUNT }, (_, i) => i))));
    t.equal(a.size, keys.length);
  }
  t.end();
});

t.test('reading hashes between adds gives the same tree as adding everything first', (t) => {
  const rng = new Rng(8);
  const data = randomDataset(rng, 2000);
  const whole = treeOf(data);
  const stepwise = new MerkleTree();
  let i = 0;
  for (const [key, v] of data) {
    stepwise.add(Buffer.from(key, 'latin1'), v.timestamp, v.tombstone);
    if (++i % 97 === 0) stepwise.root();
  }
  t.equal(hex(stepwise.root()), hex(whole.root()));
  t.end();
});

t.test('equal data gives equal roots; any single change gives a different root', (t) => {
  const rng = new Rng(11);
  const data = randomDataset(rng, 500);
  const root = hex(treeOf(data).root());
  t.equal(hex(treeOf(new Map(data)).root()), root, 'a copy has the same root');
  const [firstKey, first] = [...data][0]!;
  const changes: [string, (d: typeof data) => void][] = [
    ['a newer physical time', (d) => d.set(firstKey, { ...first, timestamp: { ...first.timestamp, physicalMs: first.timestamp.physicalMs + 1 } })],
    ['a newer logical counter', (d) => d.set(firstKey, { ...first, timestamp: { ...first.timestamp, logical: first.timestamp.logical + 1 } })],
    ['another coordinator id', (d) => d.set(firstKey, { ...first, timestamp: { ...first.timestamp, node: 'zz' } })],
    ['the tombstone flag flipped', (d) => d.set(firstKey, { ...first, tombstone: !first.tombstone })],
    ['a missing key', (d) => d.delete(firstKey)],
    ['an extra key', (d) => d.set('\u0000extra', first)],
  ];
  for (const [what, change] of changes) {
    const copy = new Map(data);
    change(copy);
    t.not(hex(treeOf(copy).root()), root, what);
  }
  t.end();
});

t.test('a key added twice keeps the version last-write-wins keeps, in either order', (t) => {
  const older = { physicalMs: 100, logical: 0, node: 'n1' };
  const newer = { physicalMs: 100, logical: 1, node: 'n1' };
  const only = new MerkleTree();
  only.add(K, newer, true);
  for (const order of [[older, newer], [newer, older]] as const) {
    const tree = new MerkleTree();
    tree.add(K, order[0], order[0] === newer);
    tree.add(K, order[1], order[1] === newer);
    t.equal(hex(tree.root()), hex(only.root()));
    t.equal(tree.size, 1);
  }
  // The same timestamp with and without the tombstone: the tombstone wins (record.ts's order).
  const tie = new MerkleTree();
  tie.add(K, newer, false);
  tie.add(K, newer, true);
  t.equal(hex(tie.root()), hex(only.root()));
  t.end();
});

t.test('the keys of one partition spread over all the buckets (the bucket hash is not the partition hash)', (t) => {
  const partitions = 16;
  const keys: Buffer[] = [];
  for (let i = 0; keys.length < 4 * LEAF_COUNT; i++) {
    const key = Buffer.from(`user:${i}`);
    if (partitionOf(key, partitions) === 5) keys.push(key);
  }
  const ours = new Set(keys.map(bucketOf));
  const byPartitionBits = new Set(keys.map((k) => xxh32(k) >>> 20));
  // 4 keys per bucket on average: a uniform spread leaves e^-4 ≈ 1.8% of the buckets empty.
  t.ok(ours.size > 0.95 * LEAF_COUNT, `${ours.size} of ${LEAF_COUNT} buckets used`);
  t.ok(byPartitionBits.size <= LEAF_COUNT / partitions, `the partition hash's top bits would use only ${byPartitionBits.size}`);
  t.end();
});

t.test('bad input gets typed errors with stable codes', (t) => {
  const tree = new MerkleTree();
  const bad: [string, () => void][] = [
    ['key not bytes', () => tree.add('k' as unknown as Uint8Array, tsK, false)],
    ['key over 64 KiB', () => tree.add(Buffer.alloc(64 * 1024 + 1), tsK, false)],
    ['negative time', () => tree.add(K, { ...tsK, physicalMs: -1 }, false)],
    ['fractional logical', () => tree.add(K, { ...tsK, logical: 0.5 }, false)],
    ['empty node id', () => tree.add(K, { ...tsK, node: '' }, false)],
    ['node id over 255 bytes', () => tree.add(K, { ...tsK, node: 'é'.repeat(128) }, false)],
    ['tombstone not boolean', () => tree.add(K, tsK, 1 as unknown as boolean)],
    ['leafOf a string', () => tree.leafOf('k' as unknown as Uint8Array)],
  ];
  for (const [what, f] of bad) t.throws(f, { code: 'MERKLE_BAD_ARGUMENT', name: 'MerkleArgumentError' }, what);
  t.equal(tree.changes, 0, 'nothing was added');
  t.doesNotThrow(() => tree.add(K, { ...tsK, node: 'é'.repeat(127) }, false), 'a 254-byte node id is fine');

  const requests: [string, () => unknown][] = [
    ['level -1', () => tree.hashesAt(-1, [0])],
    ['level 4', () => tree.hashesAt(4, [0])],
    ['level 1.5', () => tree.hashesAt(1.5, [0])],
    ['index past level 0', () => tree.hashesAt(0, [1])],
    ['index past level 2', () => tree.hashesAt(2, [256])],
    ['index past the leaves', () => tree.hashesAt(3, [4096])],
    ['negative index', () => tree.hashesAt(3, [-1])],
    ['index not a number', () => tree.hashesAt(1, ['3' as unknown as number])],
    ['indices not an array', () => tree.hashesAt(1, 3 as unknown as number[])],
    ['too many indices', () => tree.hashesAt(3, new Array<number>(4097).fill(0))],
    ['no buckets', () => checkBuckets([])],
    ['bucket 4096', () => checkBuckets([1, 4096])],
    ['bucket NaN', () => checkBuckets([Number.NaN])],
  ];
  for (const [what, f] of requests) t.throws(f, { code: 'MERKLE_BAD_REQUEST', name: 'MerkleRequestError' }, what);
  t.same([...checkBuckets([3, 3, 4095, 0])], [3, 4095, 0], 'a valid list, duplicates folded');
  t.equal(tree.hashesAt(3, []).length, 0, 'no indices: no hashes');
  t.equal(tree.hashesAt(3, new Array<number>(4096).fill(1838)).length, 4096 * 8, 'a whole level at most');
  t.ok(new MerkleArgumentError('x') instanceof Error && new MerkleRequestError('x') instanceof Error);
  t.end();
});

t.test('build cost for 50,000 entries of one partition (measured, not asserted)', (t) => {
  const rng = new Rng(50);
  const data = randomDataset(rng, 50_000);
  const entries = [...data].map(([k, v]) => ({ key: Buffer.from(k, 'latin1'), ...v }));
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const tree = new MerkleTree();
  for (const e of entries) tree.add(e.key, e.timestamp, e.tombstone);
  const root = tree.root();
  const wall = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  t.equal(root.length, 8);
  t.comment(`50,000 entries: ${wall.toFixed(0)} ms wall, ${((cpu.user + cpu.system) / 1000).toFixed(0)} ms CPU (add + root)`);
  t.end();
});
