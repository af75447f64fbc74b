/**
 * The Snappy codec of SSTable blocks (lsm/table/snappy.ts, lsm/FORMAT.md "Snappy blocks"): round trips
 * over many seeds and input shapes, the worked example's bytes, a stream from another implementation,
 * and every kind of damage to a stream reported as CorruptionError (never another exception).
 */
import t from 'tap';
import { CorruptionError } from '../../lsm/errors.js';
import { SnappyCompressor, snappyDecompress, snappyMaxCompressedLength } from '../../lsm/table/snappy.js';
import { Rng } from './rng.js';

const compressor = new SnappyCompressor();

function compress(input: Uint8Array): Buffer {
  const out = Buffer.alloc(snappyMaxCompressedLength(input.length) + 8);
  const end = compressor.compress(input, out, 3); // at an offset: the table builder writes mid-buffer
  return Buffer.from(out.subarray(3, end));
}

/** db_bench-like entries: 16-digit keys, 100-byte values of 50 random printable bytes twice. */
function dbBenchLike(rng: Rng, n: number): Buffer {
  const parts: Buffer[] = [];
  let k = rng.int(1e6);
  let size = 0;
  while (size < n) {
    k += 1 + rng.int(5);
    const half = Buffer.from(Array.from({ length: 50 }, () => 32 + rng.int(95)));
    const entry = Buffer.concat([Buffer.from([0, 16, 100]), Buffer.from(String(k).padStart(16, '0')), half, half]);
    parts.push(entry);
    size += entry.length;
  }
  return Buffer.concat(parts).subarray(0, n);
}

function shapes(rng: Rng): Array<[string, Buffer]> {
  const n = rng.int(3) === 0 ? rng.int(40) : rng.int(rng.chance(0.2) ? 200_000 : 9000);
  const alphabet = 1 + rng.int(6);
  return [
    ['random', rng.bytes(n)],
    ['all-same', Buffer.alloc(n, rng.int(256))],
    ['small alphabet', Buffer.from(Array.from({ length: n }, () => 97 + rng.int(alphabet)))],
    ['db_bench-like', dbBenchLike(rng, n)],
    ['runs', Buffer.concat(Array.from({ length: 1 + rng.int(50) }, () => Buffer.alloc(1 + rng.int(300), rng.int(4))))],
  ];
}

t.test('round trip over many seeds and shapes, within the size bound', (t) => {
  let checked = 0;
  for (let seed = 1; seed <= 150; seed++) {
    const rng = new Rng(seed);
    for (const [shape, input] of shapes(rng)) {
      const stored = compress(input);
      if (stored.length > snappyMaxCompressedLength(input.length)) t.fail(`seed ${seed} ${shape}: over the bound`);
      const back = snappyDecompress(stored, 0, stored.length);
      if (!back.equals(input)) t.fail(`seed ${seed} ${shape} (${input.length} bytes) does not round-trip`);
      checked++;
    }
  }
  t.equal(checked, 750);
  t.end();
});

t.test('edge inputs, and what compresses and what does not', (t) => {
  t.equal(compress(Buffer.alloc(0)).toString('hex'), '00', 'empty input is just the length 0');
  t.equal(snappyDecompress(Buffer.from('00', 'hex'), 0, 1).length, 0);
  const same = Buffer.alloc(4096, 0x41);
  t.ok(compress(same).length < 250, 'a run of one byte compresses ~20×');
  const noise = new Rng(7).bytes(4096);
  t.ok(compress(noise).length > 4096, 'noise stays a literal (slightly longer)');
  const rng = new Rng(9);
  const block = dbBenchLike(rng, 4096);
  const ratio = compress(block).length / block.length;
  t.ok(ratio < 0.7 && ratio > 0.45, `a db_bench-like block compresses to about 0.6 (got ${ratio.toFixed(3)})`);
  // Sizes around the fragment boundary (64 KiB) and the matcher's margin (17 bytes).
  for (const n of [1, 16, 17, 18, 65535, 65536, 65537, 3 * 65536 + 5]) {
    const input = dbBenchLike(rng, n);
    t.ok(snappyDecompress(compress(input), 0, compress(input).length).equals(input), `${n} bytes`);
  }
  t.end();
});

t.test('the worked example of lsm/FORMAT.md', (t) => {
  const input = Buffer.from('abcdabcdabcd0123456789012345678901234567890123456789!');
  const expected = '35 10 61 62 63 64 61 0d 04 24 30 31 32 33 34 35 36 37 38 39 76 0a 00 00 21';
  const bytes = Buffer.from(expected.replace(/ /g, ''), 'hex');
  t.equal(bytes.length, 25);
  t.equal(compress(input).toString('hex'), bytes.toString('hex'));
  t.equal(snappyDecompress(bytes, 0, bytes.length).toString(), input.toString());
  t.end();
});

t.test('decodes a stream written by another Snappy implementation, and copy4 elements', (t) => {
  // snappyjs 0.7 compress() of the 396 bytes below (it emits copy offsets our compressor would not).
  const input = Buffer.from(
    Array.from({ length: 12 }, (_, i) => `000000000000${1000 + 3 * i}:value-${i % 4}-value-${i % 4};`).join(''),
  );
  const theirs = Buffer.from(
    '8c0300301d0130313030303a76616c75652d302d0d08003b1d20012100330d2100310d2100313e210000360d2100320d210032' +
      '3e210000390d2100330d2100333a21000431320d215e84000431350d215e84000431380d215e84000832313a09df00335a8400' +
      '0432340d215e84000432370d215e84000033314a5e84000433330d4224332d76616c75652d333b',
    'hex',
  );
  t.ok(snappyDecompress(theirs, 0, theirs.length).equals(input));
  // "abcd" then copy4 (tag 0x0f: length 4, offset 4) and copy4 of length 6 overlapping (offset 2).
  const copy4 = Buffer.from('0e 0c 61 62 63 64 0f 04 00 00 00 17 02 00 00 00'.replace(/ /g, ''), 'hex');
  t.equal(snappyDecompress(copy4, 0, copy4.length).toString(), 'abcdabcdcdcdcd');
  t.end();
});

/** Decodes and classifies: 'ok' (output of the declared length), 'corrupt', or the foreign error. */
function tryDecode(stream: Buffer): 'ok' | 'corrupt' {
  try {
    snappyDecompress(stream, 0, stream.length, 'x.sst', 77);
    return 'ok';
  } catch (e) {
    if (e instanceof CorruptionError && e.file === 'x.sst' && e.offset === 77) return 'corrupt';
    throw e;
  }
}

t.test('damaged streams: truncation and length flips always, tag flips never crash', (t) => {
  const input = dbBenchLike(new Rng(3), 4096);
  const stream = compress(input);
  const varintBytes = 2; // 4096 = 0x80 0x20
  for (let n = 0; n < stream.length; n++) {
    if (tryDecode(stream.subarray(0, n)) !== 'corrupt') t.fail(`truncated to ${n} bytes was accepted`);
  }
  for (let i = 0; i < varintBytes; i++) {
    for (let bit = 0; bit < 8; bit++) {
      const bad = Buffer.from(stream);
      bad[i]! ^= 1 << bit;
      t.equal(tryDecode(bad), 'corrupt', `length byte ${i} bit ${bit}`);
    }
  }
  // Flip every bit of every byte after the length: most are caught here; those that still decode give
  // output of exactly the declared length (the table's CRC catches them before the decoder runs).
  let caught = 0;
  let flips = 0;
  for (let i = varintBytes; i < stream.length; i++) {
    for (let bit = 0; bit < 8; bit++) {
      const bad = Buffer.from(stream);
      bad[i]! ^= 1 << bit;
      flips++;
      if (tryDecode(bad) === 'corrupt') caught++;
    }
  }
  t.ok(flips > 10_000 && caught > 0, `${caught} of ${flips} flips caught by the decoder alone`);
  t.end();
});

t.test('hostile headers are refused before any allocation; random bytes never crash', (t) => {
  const cases: Array<[string, string]> = [
    ['ff ff ff ff 0f 00', 'a 4 GiB declaration behind 1 byte'],
    ['ff ff ff ff ff 01', 'a 6-byte length varint'],
    ['80 80 80 80 80', 'an unterminated varint'],
    ['c1 00 00 61', '65 bytes declared from 2 element bytes'],
    ['04 fc ff ff ff ff', 'a literal length of 2^32'],
    ['08 00 61 05 00', 'a copy1 with offset 0'],
    ['08 00 61 05 02', 'a copy1 reaching before the start'],
    ['05 00 61 12 01 00', 'a copy2 of 5 bytes past the declared 5'],
    ['05 00 61 03 01 00 00', 'a truncated copy4'],
    ['03 0c 61 62 63 64', 'a literal past the declared length'],
    ['08 00 61 09 01', 'a stream ending before the declared length'],
    ['04 08 61 62', 'a literal past the end of the stream'],
  ];
  for (const [hex, what] of cases) t.equal(tryDecode(Buffer.from(hex.replace(/ /g, ''), 'hex')), 'corrupt', what);
  const rng = new Rng(11);
  let ok = 0;
  for (let i = 0; i < 5000; i++) {
    const junk = rng.bytes(1 + rng.int(64));
    junk[0] = rng.int(128); // a plausible short length, so the elements get parsed
    if (tryDecode(junk) === 'ok') ok++;
  }
  t.ok(ok < 5000, `random streams: ${ok} of 5000 happened to be valid, the rest CorruptionError`);
  t.end();
});
