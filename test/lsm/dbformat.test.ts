import t from 'tap';
import type { Comparator } from '../../lsm/comparator.js';
import {
  extractUserKey,
  InternalKeyComparator,
  KIND_DELETION,
  KIND_VALUE,
  makeInternalKey,
  makeLookupKey,
  MAX_SEQUENCE,
  parseInternalKey,
  type ValueKind,
} from '../../lsm/dbformat.js';
import { CorruptionError, InvalidArgumentError } from '../../lsm/errors.js';
import { Rng } from './rng.js';

const b = (s: string): Buffer => Buffer.from(s);

t.test('an internal key is the user key then (seq << 8 | kind) as a little-endian uint64', (t) => {
  const k = makeInternalKey(b('ab'), 0x0102030405, KIND_VALUE);
  t.same([...k], [0x61, 0x62, 0x01, 0x05, 0x04, 0x03, 0x02, 0x01, 0x00, 0x00]);
  t.equal(k.readBigUInt64LE(2), (0x0102030405n << 8n) | 1n);
  const max = makeInternalKey(b(''), MAX_SEQUENCE, KIND_DELETION);
  t.equal(max.readBigUInt64LE(0), BigInt(MAX_SEQUENCE) << 8n);
  t.end();
});

t.test('parse round-trips and validates', (t) => {
  for (const seq of [0, 1, 255, 256, 2 ** 32 - 1, 2 ** 32, MAX_SEQUENCE]) {
    for (const kind of [KIND_DELETION, KIND_VALUE] as ValueKind[]) {
      const p = parseInternalKey(makeInternalKey(b('key'), seq, kind));
      t.same({ userKey: Buffer.from(p.userKey).toString(), sequence: p.sequence, kind: p.kind }, { userKey: 'key', sequence: seq, kind });
    }
  }
  t.throws(() => parseInternalKey(new Uint8Array(7)), CorruptionError, 'too short');
  t.throws(() => extractUserKey(new Uint8Array(3)), CorruptionError, 'too short for extractUserKey');
  const badKind = makeInternalKey(b('k'), 5, KIND_VALUE);
  badKind[1] = 7;
  t.throws(() => parseInternalKey(badKind), CorruptionError, 'unknown kind');
  const bigSeq = makeInternalKey(b('k'), 5, KIND_VALUE);
  bigSeq.fill(0xff, 2); // sequence 2^56 - 1, kind 0xff
  bigSeq[1] = KIND_VALUE;
  t.throws(() => parseInternalKey(bigSeq), CorruptionError, 'sequence beyond 2^53');
  t.throws(() => makeInternalKey(b('k'), -1, KIND_VALUE), InvalidArgumentError);
  t.throws(() => makeInternalKey(b('k'), MAX_SEQUENCE + 1, KIND_VALUE), InvalidArgumentError);
  t.throws(() => makeInternalKey(b('k'), 1.5, KIND_VALUE), InvalidArgumentError);
  t.equal(Buffer.from(extractUserKey(makeInternalKey(b('xyz'), 9, KIND_VALUE))).toString(), 'xyz');
  t.end();
});

t.test('order: user key ascending, then sequence descending, then kind descending', (t) => {
  const c = new InternalKeyComparator();
  const k = (u: string, s: number, kind: ValueKind): Buffer => makeInternalKey(b(u), s, kind);
  t.ok(c.compare(k('a', 1, KIND_VALUE), k('b', 100, KIND_VALUE)) < 0, 'user key first');
  t.ok(c.compare(k('a', 2, KIND_VALUE), k('a', 1, KIND_VALUE)) < 0, 'newer first');
  t.ok(c.compare(k('a', 2 ** 40, KIND_VALUE), k('a', 2 ** 40 - 1, KIND_VALUE)) < 0, 'newer first, high bits');
  t.ok(c.compare(k('a', 256, KIND_DELETION), k('a', 255, KIND_VALUE)) < 0, 'sequence beats kind');
  t.ok(c.compare(k('a', 3, KIND_VALUE), k('a', 3, KIND_DELETION)) < 0, 'kind descending');
  t.equal(c.compare(k('a', 3, KIND_VALUE), k('a', 3, KIND_VALUE)), 0);
  t.ok(c.compare(k('a', 1, KIND_VALUE), k('ab', 9, KIND_VALUE)) < 0, 'prefix first');
  t.ok(c.compare(k('', 1, KIND_VALUE), k('\x00', 9, KIND_VALUE)) < 0, 'empty user key first');
  t.end();
});

t.test('sorting random internal keys matches sorting their (user key, -seq, -kind) tuples', (t) => {
  const rng = new Rng(4);
  const c = new InternalKeyComparator();
  const entries = Array.from({ length: 2000 }, () => ({
    user: rng.bytes(rng.int(rng.int(2) ? 4 : 80)), // short keys and long ones (the native compare path)
    seq: rng.int(2) ? rng.int(10) : rng.int(2 ** 30) * 2 ** 20,
    kind: rng.int(2) as ValueKind,
  }));
  // Long keys sharing prefixes exercise the native path on equal prefixes.
  for (let i = 0; i < 200; i++) entries.push({ ...entries[i]!, user: Buffer.concat([Buffer.alloc(60, 1), rng.bytes(rng.int(3))]) });
  const byModel = [...entries].sort(
    (x, y) => Buffer.compare(x.user, y.user) || y.seq - x.seq || y.kind - x.kind,
  );
  const byComparator = entries.map((e) => makeInternalKey(e.user, e.seq, e.kind)).sort((x, y) => c.compare(x, y));
  t.same(
    byComparator.map((k) => k.toString('hex')),
    byModel.map((e) => makeInternalKey(e.user, e.seq, e.kind).toString('hex')),
  );
  t.end();
});

t.test('compareRange on sub-ranges equals compare on copies', (t) => {
  const c = new InternalKeyComparator();
  const rng = new Rng(5);
  for (let i = 0; i < 500; i++) {
    const a = makeInternalKey(rng.bytes(rng.int(70)), rng.int(1000), rng.int(2) as ValueKind);
    const x = makeInternalKey(rng.int(3) ? rng.bytes(rng.int(70)) : a.subarray(0, a.length - 8), rng.int(1000), rng.int(2) as ValueKind);
    const pa = Buffer.concat([rng.bytes(3), a, rng.bytes(2)]);
    const px = Buffer.concat([rng.bytes(5), x]);
    t.equal(Math.sign(c.compareRange(pa, 3, 3 + a.length, px, 5, 5 + x.length)), Math.sign(c.compare(a, x)));
  }
  t.end();
});

t.test('a lookup key lands on the newest version visible at the snapshot', (t) => {
  const c = new InternalKeyComparator();
  const versions = [9, 7, 5, 2].map((s) => makeInternalKey(b('k'), s, KIND_VALUE)); // sorted order
  const firstAtOrAfter = (target: Buffer): number => versions.findIndex((v) => c.compare(v, target) >= 0);
  t.equal(firstAtOrAfter(makeLookupKey(b('k'), 8)), 1, 'snapshot 8 sees seq 7');
  t.equal(firstAtOrAfter(makeLookupKey(b('k'), 7)), 1, 'snapshot 7 sees seq 7');
  t.equal(firstAtOrAfter(makeLookupKey(b('k'), MAX_SEQUENCE)), 0, 'latest sees seq 9');
  t.equal(firstAtOrAfter(makeLookupKey(b('k'), 1)), -1, 'snapshot 1 sees nothing');
  t.ok(c.compare(makeLookupKey(b('k'), 7), makeInternalKey(b('k'), 7, KIND_DELETION)) < 0, 'a deletion at the snapshot is seen');
  t.end();
});

t.test('a custom user comparator decides the user-key order', (t) => {
  const reverse: Comparator = { name: 'test.reverse', compare: (x, y) => Buffer.compare(y, x) };
  const c = new InternalKeyComparator(reverse);
  t.ok(c.compare(makeInternalKey(b('b'), 1, KIND_VALUE), makeInternalKey(b('a'), 1, KIND_VALUE)) < 0);
  t.ok(c.compare(makeInternalKey(b('a'), 2, KIND_VALUE), makeInternalKey(b('a'), 1, KIND_VALUE)) < 0);
  t.equal(c.user, reverse);
  t.end();
});
