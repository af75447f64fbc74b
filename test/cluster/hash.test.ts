import t from 'tap';
import { xxh32 } from '../../cluster/hash.js';

t.test('xxHash32 matches the published reference values', (t) => {
  t.equal(xxh32(''), 0x02cc5d05);
  t.equal(xxh32('a'), 0x550d7456);
  t.equal(xxh32('abc'), 0x32d153ff);
  t.equal(xxh32('Nobody inspects the spammish repetition'), 0xe2293b2f);
  t.equal(xxh32(new Uint8Array(0)), 0x02cc5d05, 'bytes and strings hash alike');
  t.end();
});

/**
 * The sanity buffer of the reference test program (xxhsum.c): byteGen starts at 2654435761, each byte is
 * byteGen's top 8 bits, then byteGen *= 11400714785074694797 (mod 2^64).
 */
function sanityBuffer(len: number): Uint8Array {
  const out = new Uint8Array(len);
  let gen = 2654435761n;
  for (let i = 0; i < len; i++) {
    out[i] = Number(gen >> 56n);
    gen = (gen * 11400714785074694797n) & 0xffffffffffffffffn;
  }
  return out;
}

t.test('xxHash32 matches the reference sanity checks (all code paths: tail bytes, words, 16-byte stripes, seeds)', (t) => {
  const buf = sanityBuffer(222);
  const prime = 2654435761;
  t.equal(xxh32(buf.subarray(0, 0), 0), 0x02cc5d05);
  t.equal(xxh32(buf.subarray(0, 0), prime), 0x36b78ae7);
  t.equal(xxh32(buf.subarray(0, 1), 0), 0xcf65b03e);
  t.equal(xxh32(buf.subarray(0, 1), prime), 0xb4545aa4);
  t.equal(xxh32(buf.subarray(0, 14), 0), 0x1208e7e2);
  t.equal(xxh32(buf.subarray(0, 14), prime), 0x6af1d1fe);
  t.equal(xxh32(buf, 0), 0x5bd11dbd);
  t.equal(xxh32(buf, prime), 0x58803c5f);
  t.end();
});

t.test('strings hash as their UTF-8 bytes', (t) => {
  t.equal(xxh32('héllo ✓'), xxh32(Buffer.from('héllo ✓', 'utf8')));
  t.end();
});
