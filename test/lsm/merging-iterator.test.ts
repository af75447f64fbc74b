import t from 'tap';
import { bytewiseComparator, type Comparator } from '../../lsm/comparator.js';
import { emptyIterator, type InternalIterator } from '../../lsm/iterator.js';
import { MergingIterator, newMergingIterator } from '../../lsm/merging-iterator.js';
import { Block } from '../../lsm/table/block.js';
import { BlockBuilder } from '../../lsm/table/block-builder.js';
import { type Entry, iteratorSuite, Rng } from './iterator-suite.js';

function blockIterator(entries: readonly Entry[], cmp: Comparator = bytewiseComparator): InternalIterator {
  const b = new BlockBuilder(4);
  for (const e of entries) b.add(e.key, e.value);
  return new Block(Buffer.from(b.finish())).iterator(cmp);
}

/** Deals the entries to `n` children: round robin, in runs, or at random (seeded). */
function split(entries: readonly Entry[], n: number, how: 'round-robin' | 'runs' | 'random', seed = 9): Entry[][] {
  const parts: Entry[][] = Array.from({ length: n }, () => []);
  const rng = new Rng(seed);
  entries.forEach((e, i) => {
    const c = how === 'round-robin' ? i % n : how === 'runs' ? Math.floor(i / 50) % n : rng.int(n);
    parts[c]!.push(e);
  });
  return parts;
}

for (const [n, how] of [
  [1, 'random'],
  [2, 'round-robin'],
  [3, 'runs'],
  [5, 'random'],
  [12, 'random'],
] as const) {
  iteratorSuite(t, `merging ${n} children (${how})`, (entries) => {
    const children = split(entries, n, how).map((part) => blockIterator(part));
    return new MergingIterator(bytewiseComparator, children);
  });
}
iteratorSuite(t, 'merging with empty children', (entries) => {
  const children = [emptyIterator, blockIterator(entries), blockIterator([]), emptyIterator];
  return new MergingIterator(bytewiseComparator, children);
});

t.test('a reverse comparator orders the merge too', (t) => {
  const rev: Comparator = { name: 'reverse', compare: (a, b) => Buffer.compare(b, a) };
  const keys = ['a', 'b', 'c', 'd', 'e', 'f'].map((k) => ({ key: Buffer.from(k), value: Buffer.from(k) }));
  const sortedRev = [...keys].reverse();
  const it = new MergingIterator(rev, [
    blockIterator(sortedRev.filter((_, i) => i % 2 === 0), rev),
    blockIterator(sortedRev.filter((_, i) => i % 2 === 1), rev),
  ]);
  const got: string[] = [];
  for (it.seekToFirst(); it.valid(); it.next()) got.push(Buffer.from(it.key()).toString());
  t.same(got, ['f', 'e', 'd', 'c', 'b', 'a']);
  it.seek(Buffer.from('c'));
  t.equal(Buffer.from(it.key()).toString(), 'c');
  it.prev();
  t.equal(Buffer.from(it.key()).toString(), 'd');
  t.end();
});

t.test('equal keys in several children: full scans return every copy', (t) => {
  const e = (k: string, v: string): Entry => ({ key: Buffer.from(k), value: Buffer.from(v) });
  const it = new MergingIterator(bytewiseComparator, [
    blockIterator([e('a', '0'), e('k', '0')]),
    blockIterator([e('k', '1'), e('z', '1')]),
  ]);
  const fwd: string[] = [];
  for (it.seekToFirst(); it.valid(); it.next()) fwd.push(`${Buffer.from(it.key()).toString()}${Buffer.from(it.value()).toString()}`);
  t.same(fwd, ['a0', 'k0', 'k1', 'z1']);
  const back: string[] = [];
  for (it.seekToLast(); it.valid(); it.prev()) back.push(`${Buffer.from(it.key()).toString()}${Buffer.from(it.value()).toString()}`);
  t.same(back, ['z1', 'k1', 'k0', 'a0']);
  t.end();
});

t.test('newMergingIterator skips the merge for one child', (t) => {
  const only = blockIterator([]);
  t.equal(newMergingIterator(bytewiseComparator, [only]), only);
  t.type(newMergingIterator(bytewiseComparator, [only, only]), MergingIterator);
  t.end();
});
