/**
 * DBIter's scan bounds: a search for the next live entry stops at the end of the caller's range instead
 * of walking on through the deletions past it. The replica store's per-(epoch, partition) index scans
 * hit exactly this: once a whole epoch's entries are deleted (the records moved to a newer epoch), each
 * partition's empty scan walked every later tombstone of that epoch.
 */
import t from 'tap';
import { bytewiseComparator } from '../../lsm/comparator.js';
import { DBIter, type DBIterBounds } from '../../lsm/db-iter.js';
import { InternalKeyComparator, KIND_DELETION, KIND_VALUE, makeInternalKey, type ValueKind } from '../../lsm/dbformat.js';
import type { InternalIterator } from '../../lsm/iterator.js';
import { Block } from '../../lsm/table/block.js';
import { BlockBuilder } from '../../lsm/table/block-builder.js';

const icmp = new InternalKeyComparator(bytewiseComparator);

/** An internal iterator over `entries` (user key, sequence, kind) that counts how often it moves. */
function counted(entries: [string, number, ValueKind][]): { iter: InternalIterator; moves: () => number } {
  const keys = entries.map(([k, seq, kind]) => ({ key: makeInternalKey(Buffer.from(k), seq, kind), value: Buffer.from(`v-${k}`) }));
  keys.sort((a, b) => icmp.compare(a.key, b.key));
  const b = new BlockBuilder(16);
  for (const e of keys) b.add(e.key, e.value);
  const inner = new Block(Buffer.from(b.finish())).iterator(icmp);
  let moves = 0;
  const iter: InternalIterator = {
    valid: () => inner.valid(),
    seekToFirst: () => inner.seekToFirst(),
    seekToLast: () => inner.seekToLast(),
    seek: (k) => inner.seek(k),
    next: () => {
      moves++;
      inner.next();
    },
    prev: () => {
      moves++;
      inner.prev();
    },
    key: () => inner.key(),
    value: () => inner.value(),
  };
  return { iter, moves: () => moves };
}

/** Live keys `live`, and 1,000 keys c0000..c0999, each written (seq 1) and then deleted (seq 2). */
function withTombstones(live: string[]): [string, number, ValueKind][] {
  const out: [string, number, ValueKind][] = live.map((k) => [k, 3, KIND_VALUE]);
  for (let i = 0; i < 1000; i++) {
    const k = `c${String(i).padStart(4, '0')}`;
    out.push([k, 1, KIND_VALUE], [k, 2, KIND_DELETION]);
  }
  return out;
}

function iterOver(live: string[], bounds: DBIterBounds): { it: DBIter; moves: () => number } {
  const { iter, moves } = counted(withTombstones(live));
  return { it: new DBIter(iter, bytewiseComparator, 10, bounds), moves };
}

const bound = (key: string, inclusive: boolean) => ({ key: Buffer.from(key), inclusive });

t.test('a forward scan of an empty range stops at its upper bound, not after the tombstones beyond it', (t) => {
  const { it, moves } = iterOver(['a', 'z'], { upper: bound('c', false) });
  it.seek(Buffer.from('b'));
  t.notOk(it.valid(), 'nothing in [b, c)');
  t.ok(moves() <= 2, `moved ${moves()} times (the 2,000 entries past c are not read)`);

  const unbounded = iterOver(['a', 'z'], {});
  unbounded.it.seek(Buffer.from('b'));
  t.equal(Buffer.from(unbounded.it.key()).toString(), 'z', 'without a bound the next live key is z');
  t.ok(unbounded.moves() >= 2000, 'found by walking every tombstone');
  t.end();
});

t.test('next() stops at the upper bound too, inclusive or not', (t) => {
  for (const inclusive of [true, false]) {
    const { it, moves } = iterOver(['a', 'b', 'bz', 'z'], { upper: bound('bz', inclusive) });
    const got: string[] = [];
    for (it.seek(Buffer.from('a')); it.valid(); it.next()) got.push(Buffer.from(it.key()).toString());
    t.same(got, inclusive ? ['a', 'b', 'bz'] : ['a', 'b'], `upper bz ${inclusive ? 'inclusive' : 'exclusive'}`);
    t.ok(moves() <= 4, `moved ${moves()} times`);
  }
  t.end();
});

t.test('a reverse scan stops at its lower bound, not before the tombstones below it', (t) => {
  for (const inclusive of [true, false]) {
    const { it, moves } = iterOver(['a', 'd', 'e'], { lower: bound('d', inclusive) });
    it.seekToLast();
    const got: string[] = [];
    for (; it.valid(); it.prev()) got.push(Buffer.from(it.key()).toString());
    t.same(got, inclusive ? ['e', 'd'] : ['e'], `lower d ${inclusive ? 'inclusive' : 'exclusive'}`);
    t.ok(moves() <= 4, `moved ${moves()} times (the 2,000 entries below d are not read)`);
  }
  t.end();
});

t.test('seekForPrev finds the last live key at or before its target without walking the tombstones after it', (t) => {
  for (const inclusive of [true, false]) {
    // b, then 1,000 deleted c keys, then z: a reverse scan of (…, c0500] wants b.
    const { it, moves } = iterOver(['a', 'b', 'z'], {});
    it.seekForPrev(Buffer.from('c0500'), inclusive);
    t.equal(Buffer.from(it.key()).toString(), 'b', `last live key <${inclusive ? '=' : ''} c0500`);
    t.ok(moves() <= 1010, `moved ${moves()} times (the ~1,000 entries after c0500 are not read)`);
    const got: string[] = [];
    for (; it.valid(); it.prev()) got.push(Buffer.from(it.key()).toString());
    t.same(got, ['b', 'a']);
  }
  const old = iterOver(['a', 'b', 'z'], {});
  old.it.seek(Buffer.from('c0500'));
  old.it.prev();
  t.equal(Buffer.from(old.it.key()).toString(), 'b', 'seek() then prev() finds b too');
  t.ok(old.moves() >= 2000, `but moves ${old.moves()} times: forward over c0500..c0999 to z first`);
  const exact = iterOver(['a', 'b', 'z'], {});
  exact.it.seekForPrev(Buffer.from('b'), true);
  t.equal(Buffer.from(exact.it.key()).toString(), 'b', 'inclusive: the target itself');
  exact.it.seekForPrev(Buffer.from('b'), false);
  t.equal(Buffer.from(exact.it.key()).toString(), 'a', 'exclusive: the key before it');
  exact.it.seekForPrev(Buffer.from('zz'), false);
  t.equal(Buffer.from(exact.it.key()).toString(), 'z', 'past the end: the last key');
  exact.it.seekForPrev(Buffer.from('a'), false);
  t.notOk(exact.it.valid(), 'before the first key: nothing');
  exact.it.seekForPrev(Buffer.from('a'), true);
  exact.it.next();
  t.equal(Buffer.from(exact.it.key()).toString(), 'b', 'next() after it steps forward as usual');
  t.end();
});

t.test('bounded reverse scans through the DB iterator return their range, newest first', async (t) => {
  const { DB } = await import('../../lsm/db.js');
  const { MemFileSystem } = await import('../../lsm/mem-fs.js');
  const db = await DB.open('/db', { fs: new MemFileSystem() });
  t.teardown(() => db.close());
  await db.put(Buffer.from('a'), Buffer.from('1'));
  await db.put(Buffer.from('b'), Buffer.from('2'));
  for (let i = 0; i < 1000; i++) {
    const k = Buffer.from(`c${String(i).padStart(4, '0')}`);
    await db.put(k, Buffer.from('x'));
    await db.del(k);
  }
  await db.put(Buffer.from('z'), Buffer.from('3'));
  for (const [opts, want] of [[{ lt: Buffer.from('c0500') }, ['b', 'a']], [{ lte: Buffer.from('b') }, ['b', 'a']], [{ lt: Buffer.from('b'), gte: Buffer.from('a') }, ['a']]] as const) {
    const got: string[] = [];
    for await (const [k] of db.iterator({ ...opts, reverse: true })) got.push(k.toString());
    t.same(got, want, JSON.stringify(opts));
  }
});
