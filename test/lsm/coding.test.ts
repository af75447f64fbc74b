import t from 'tap';
import {
  getFixed32,
  getFixed64,
  getVarint,
  MAX_VARINT64_BYTES,
  putFixed32,
  putFixed64,
  putVarint,
  varintLength,
} from '../../lsm/coding.js';
import { CorruptionError } from '../../lsm/errors.js';
import { Rng } from './rng.js';

const EDGES = [0, 1, 127, 128, 255, 300, 16383, 16384, 2 ** 21 - 1, 2 ** 21, 2 ** 28, 2 ** 31, 2 ** 32 - 1, 2 ** 32];
const BIG = [2 ** 35 + 7, 2 ** 49, 2 ** 53 - 1];

t.test('varints round-trip and varintLength matches what is written', (t) => {
  const rng = new Rng(3);
  const values = [...EDGES, ...BIG, ...Array.from({ length: 200 }, () => rng.int(2 ** 32) * (rng.int(2 ** 21) + 1))];
  const buf = Buffer.alloc(MAX_VARINT64_BYTES + 3);
  for (const v of values) {
    if (v > Number.MAX_SAFE_INTEGER) continue;
    const end = putVarint(buf, 2, v);
    t.equal(end - 2, varintLength(v), `length of ${v}`);
    t.same(getVarint(buf, 2), { value: v, next: end }, `value ${v}`);
  }
  t.end();
});

t.test('varint encoding is LEB128, low bits first', (t) => {
  const buf = Buffer.alloc(4);
  t.equal(putVarint(buf, 0, 300), 2);
  t.same([...buf.subarray(0, 2)], [0xac, 0x02]);
  t.end();
});

t.test('a truncated varint is corruption, not a wrong number', (t) => {
  const buf = Buffer.alloc(10);
  const end = putVarint(buf, 0, 2 ** 40);
  for (let cut = 0; cut < end; cut++) {
    t.throws(() => getVarint(buf, 0, cut), CorruptionError, `cut at ${cut}`);
  }
  t.throws(() => getVarint(Buffer.from([0x80, 0x80]), 0), CorruptionError, 'ends with a continuation bit');
  t.end();
});

t.test('an over-long or over-large varint is corruption', (t) => {
  t.throws(() => getVarint(Buffer.alloc(12, 0x80), 0), CorruptionError, 'more than 10 bytes');
  const huge = Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f]); // 2^63 - 1
  t.throws(() => getVarint(huge, 0), CorruptionError, 'above 2^53');
  t.end();
});

t.test('fixed32 and fixed64 are little-endian and round-trip', (t) => {
  const buf = Buffer.alloc(8);
  putFixed32(buf, 0, 0x01020304);
  t.same([...buf.subarray(0, 4)], [4, 3, 2, 1]);
  t.equal(getFixed32(buf, 0), 0x01020304);
  putFixed32(buf, 0, 0xffffffff);
  t.equal(getFixed32(buf, 0), 0xffffffff, 'unsigned');
  for (const v of [...EDGES, ...BIG]) {
    putFixed64(buf, 0, v);
    t.equal(getFixed64(buf, 0), v);
    t.equal(buf.readBigUInt64LE(0), BigInt(v), `${v} matches the standard LE uint64 encoding`);
  }
  buf.writeBigUInt64LE(2n ** 53n);
  t.throws(() => getFixed64(buf, 0), CorruptionError, '2^53 does not fit a number exactly');
  t.end();
});
