import t from 'tap';
import { crc32c, maskCrc, unmaskCrc } from '../../lsm/crc32c.js';
import { Rng } from './rng.js';

/** Bit-at-a-time CRC32C: slow, obviously right, the reference for the table-driven version. */
function reference(data: Uint8Array): number {
  let c = 0xffffffff;
  for (const b of data) {
    c ^= b;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
  }
  return ~c >>> 0;
}

t.test('known vectors (RFC 3720 and the usual check value)', (t) => {
  t.equal(crc32c(Buffer.from('123456789')), 0xe3069283);
  t.equal(crc32c(Buffer.alloc(32)), 0x8a9136aa);
  t.equal(crc32c(Buffer.alloc(32, 0xff)), 0x62a8ab43);
  t.equal(crc32c(Buffer.from(Array.from({ length: 32 }, (_, i) => i))), 0x46dd794e);
  t.equal(crc32c(Buffer.from(Array.from({ length: 32 }, (_, i) => 31 - i))), 0x113fdb5c);
  t.equal(crc32c(new Uint8Array(0)), 0);
  t.end();
});

t.test('matches a bitwise reference on random data, lengths and sub-ranges', (t) => {
  const rng = new Rng(1);
  for (let i = 0; i < 300; i++) {
    const data = rng.bytes(rng.int(100));
    const start = rng.int(data.length + 1);
    const end = start + rng.int(data.length - start + 1);
    t.equal(crc32c(data, 0, start, end), reference(data.subarray(start, end)), `case ${i}`);
  }
  t.end();
});

t.test('the word-at-a-time path (long ranges, any alignment) matches the reference', (t) => {
  // Views at every offset mod 4 of one buffer: the aligned head, the 16-byte words and the byte tail.
  const rng = new Rng(2);
  const base = Buffer.allocUnsafeSlow(5000);
  base.set(rng.bytes(base.length));
  let mismatches = 0;
  for (let i = 0; i < 200; i++) {
    const data = base.subarray(rng.int(8), base.length - rng.int(8));
    const start = rng.int(40);
    const end = start + 64 + rng.int(data.length - start - 64);
    if (crc32c(data, 0, start, end) !== reference(data.subarray(start, end))) mismatches++;
  }
  t.equal(mismatches, 0, '200 long ranges at mixed alignments');
  t.end();
});

t.test('extending a CRC equals the CRC of the concatenation', (t) => {
  const a = Buffer.from('hello, ');
  const b = Buffer.from('world of checksums');
  t.equal(crc32c(b, crc32c(a)), crc32c(Buffer.concat([a, b])));
  t.end();
});

t.test('masking round-trips and changes the value', (t) => {
  const rng = new Rng(2);
  for (const crc of [0, 1, 0xffffffff, 0xe3069283, ...Array.from({ length: 100 }, () => rng.int(2 ** 32))]) {
    const m = maskCrc(crc);
    t.equal(unmaskCrc(m), crc);
    t.ok(m >= 0 && m <= 0xffffffff, 'masked value is an unsigned 32-bit integer');
  }
  t.not(maskCrc(0xe3069283), 0xe3069283);
  t.not(maskCrc(maskCrc(0xe3069283)), maskCrc(0xe3069283), 'masking twice differs from once');
  t.end();
});
