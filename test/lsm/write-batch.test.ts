import t from 'tap';
import { KIND_DELETION, KIND_VALUE } from '../../lsm/dbformat.js';
import { CorruptionError, InvalidArgumentError } from '../../lsm/errors.js';
import { WriteBatch, type WriteBatchEntry } from '../../lsm/write-batch.js';
import { Rng } from './rng.js';

const b = (s: string): Buffer => Buffer.from(s);

function show(entries: Iterable<WriteBatchEntry>): string[] {
  return [...entries].map((e) =>
    e.kind === KIND_VALUE ? `put ${Buffer.from(e.key).toString()}=${Buffer.from(e.value).toString()}` : `del ${Buffer.from(e.key).toString()}`,
  );
}

t.test('the encoding is byte for byte the one in FORMAT.md', (t) => {
  const batch = new WriteBatch().put(b('key'), b('v1')).del(b('k2'));
  batch.setSequence(7);
  t.equal(
    batch.encode().toString('hex'),
    '0700000000000000' + '02000000' + '01' + '03' + '6b6579' + '02' + '7631' + '00' + '02' + '6b32',
  );
  t.end();
});

t.test('encode then decode gives back every entry, in order, with count and sequence', (t) => {
  const batch = new WriteBatch(16);
  t.equal(batch.count(), 0);
  t.equal(batch.approximateSize(), 12, 'an empty batch is its 12-byte header');
  batch.put(b('a'), b('1')).del(b('b')).put(b(''), b('')).put(b('c'), Buffer.alloc(100_000, 9));
  batch.setSequence(2 ** 40 + 3);
  const decoded = WriteBatch.decode(Buffer.from(batch.encode()));
  t.equal(decoded.count(), 4);
  t.equal(decoded.sequence, 2 ** 40 + 3);
  const entries = [...decoded.entries()];
  t.same(show(entries.slice(0, 3)), ['put a=1', 'del b', 'put =']);
  const last = entries[3]!;
  t.ok(last.kind === KIND_VALUE && last.value.length === 100_000 && last.value.every((x) => x === 9), 'large value intact');
  t.ok(batch.approximateSize() > 100_000);
  t.end();
});

t.test('iterate() calls the handler per entry', (t) => {
  const seen: string[] = [];
  new WriteBatch()
    .put(b('x'), b('1'))
    .del(b('y'))
    .iterate({ put: (k, v) => seen.push(`put ${Buffer.from(k).toString()}=${Buffer.from(v).toString()}`), del: (k) => seen.push(`del ${Buffer.from(k).toString()}`) });
  t.same(seen, ['put x=1', 'del y']);
  t.end();
});

t.test('append() concatenates batches (group commit) and clear() empties', (t) => {
  const a = new WriteBatch().put(b('a'), b('1'));
  const c = new WriteBatch().del(b('b')).put(b('c'), b('3'));
  a.append(c);
  t.equal(a.count(), 3);
  t.same(show(a.entries()), ['put a=1', 'del b', 'put c=3']);
  t.same(show(WriteBatch.decode(Buffer.from(a.encode())).entries()), ['put a=1', 'del b', 'put c=3']);
  a.clear();
  t.equal(a.count(), 0);
  t.same(show(a.entries()), []);
  t.equal(a.approximateSize(), 12);
  t.end();
});

t.test('the batch copies keys and values it is given', (t) => {
  const key = b('key');
  const batch = new WriteBatch().put(key, b('val'));
  key.fill(0);
  t.same(show(batch.entries()), ['put key=val']);
  t.end();
});

t.test('setSequence refuses sequences outside [0, 2^53)', (t) => {
  t.throws(() => new WriteBatch().setSequence(-1), InvalidArgumentError);
  t.throws(() => new WriteBatch().setSequence(2 ** 53), InvalidArgumentError);
  t.end();
});

t.test('decoding refuses every inconsistency with CorruptionError', (t) => {
  const good = new WriteBatch().put(b('key'), b('value')).del(b('gone')).put(b('k3'), b('v3'));
  const enc = Buffer.from(good.encode());
  // Every proper prefix is wrong: short header, entry cut mid-way, or fewer entries than the count.
  for (let n = 0; n < enc.length; n++) {
    t.throws(() => WriteBatch.decode(enc.subarray(0, n)), CorruptionError, `prefix of ${n} bytes`);
  }
  const countHigh = Buffer.from(enc);
  countHigh.writeUInt32LE(4, 8);
  t.throws(() => WriteBatch.decode(countHigh), CorruptionError, 'count says more than present');
  const countLow = Buffer.from(enc);
  countLow.writeUInt32LE(2, 8);
  t.throws(() => WriteBatch.decode(countLow), CorruptionError, 'count says fewer than present');
  const badKind = Buffer.from(enc);
  badKind[12] = 2;
  t.throws(() => WriteBatch.decode(badKind), CorruptionError, 'unknown kind');
  const longKey = Buffer.from(enc);
  longKey[13] = 0x7f;
  t.throws(() => WriteBatch.decode(longKey), CorruptionError, 'key length past the end');
  const trailing = Buffer.concat([enc, Buffer.from([KIND_DELETION])]);
  t.throws(() => WriteBatch.decode(trailing), CorruptionError, 'trailing partial entry');
  const bigSeq = Buffer.from(enc);
  bigSeq.writeBigUInt64LE(2n ** 60n, 0);
  t.throws(() => WriteBatch.decode(bigSeq), CorruptionError, 'sequence above 2^53');
  t.end();
});

t.test('random batches survive encode/decode', (t) => {
  const rng = new Rng(6);
  for (let i = 0; i < 50; i++) {
    const batch = new WriteBatch(rng.int(64));
    const model: string[] = [];
    for (let j = rng.int(50); j > 0; j--) {
      const k = rng.bytes(rng.int(20));
      if (rng.int(3) === 0) {
        batch.del(k);
        model.push(`del ${k.toString('hex')}`);
      } else {
        const v = rng.bytes(rng.int(300));
        batch.put(k, v);
        model.push(`put ${k.toString('hex')}=${v.toString('hex')}`);
      }
    }
    const got = [...WriteBatch.decode(Buffer.from(batch.encode())).entries()].map((e) =>
      e.kind === KIND_VALUE ? `put ${Buffer.from(e.key).toString('hex')}=${Buffer.from(e.value).toString('hex')}` : `del ${Buffer.from(e.key).toString('hex')}`,
    );
    t.same(got, model, `batch ${i}`);
  }
  t.end();
});
