import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import {
  MAX_VALUE_BYTES,
  RecordCorruptError,
  compareRecords,
  decodeRecord,
  decodeVersion,
  encodeRecord,
  newer,
  readPlacement,
  versionBytes,
  type StoredRecord,
} from '../../cluster/storage/record.js';
import { MAX_LOGICAL } from '../../cluster/hlc.js';
import { crc32c } from '../../lsm/crc32c.js';
import { Rng } from '../support/rng.js';

const doc = readFileSync(fileURLToPath(new URL('../../../cluster/storage/RECORD.md', import.meta.url)), 'utf8');

const example: StoredRecord = {
  value: Buffer.from('hi'),
  timestamp: { physicalMs: 1767225600000, logical: 3, node: 'n1' },
  epoch: 7,
  partition: 42,
  tombstone: false,
};

const NODES = ['n1', 'n2', 'nœud-3', '\u{10000}', 'x'.repeat(255)];

function randomRecord(rng: Rng): StoredRecord {
  const tombstone = rng.chance(0.2);
  return {
    value: tombstone ? Buffer.alloc(0) : rng.bytes(rng.chance(0.1) ? 3000 : rng.int(40)),
    timestamp: {
      physicalMs: rng.chance(0.1) ? Number.MAX_SAFE_INTEGER - rng.int(3) : rng.int(4),
      logical: rng.chance(0.1) ? MAX_LOGICAL : rng.int(3),
      node: NODES[rng.int(NODES.length)]!,
    },
    epoch: rng.chance(0.1) ? Number.MAX_SAFE_INTEGER : rng.int(3),
    partition: rng.chance(0.1) ? 0xffff_ffff : rng.int(3),
    tombstone,
  };
}

const hexOf = (b: Uint8Array): string => Buffer.from(b).toString('hex').replace(/(..)(?!$)/g, '$1 ');

t.test('the worked examples of RECORD.md are what the encoder writes', (t) => {
  const bytes = encodeRecord(example);
  t.equal(bytes.length, 41);
  const lines = hexOf(bytes);
  // The doc lists the bytes one field per line; joined they must be the encoding.
  const block = /```\n(52 43 +magic[\s\S]*?)```/.exec(doc);
  t.ok(block, 'RECORD.md has the annotated example');
  const docHex = block![1]!.split('\n').map((l) => l.slice(0, 26).trim()).filter((l) => l !== '').join(' ');
  t.equal(docHex, lines, 'annotated bytes match');
  const tomb = encodeRecord({ ...example, value: Buffer.alloc(0), tombstone: true, timestamp: { ...example.timestamp, logical: 4 } });
  t.ok(doc.includes(`\`${hexOf(tomb)}\``), 'tombstone example matches');
  t.same(decodeRecord(bytes), example);
  t.same(readPlacement(bytes), { epoch: 7, partition: 42 });
  t.end();
});

t.test('round trip of random records, limits included', (t) => {
  const rng = new Rng(7);
  const asText = (r: StoredRecord): string => JSON.stringify({ ...r, value: Buffer.from(r.value).toString('hex') });
  const differ: string[] = [];
  for (let i = 0; i < 2000; i++) {
    const r = randomRecord(rng);
    const decoded = asText(decodeRecord(encodeRecord(r)));
    if (decoded !== asText(r)) differ.push(`${asText(r)} came back as ${decoded}`);
  }
  t.same(differ.slice(0, 3), [], '2000 random records come back as they were');
  const big = { ...example, value: Buffer.alloc(MAX_VALUE_BYTES, 1) };
  t.equal(decodeRecord(encodeRecord(big)).value.length, MAX_VALUE_BYTES, 'a 16 MiB value is accepted');
  t.end();
});

t.test('encodeRecord refuses what it cannot store with RECORD_INVALID', (t) => {
  const bad: unknown[] = [
    null,
    { ...example, value: Buffer.alloc(MAX_VALUE_BYTES + 1) },
    { ...example, tombstone: true },
    { ...example, tombstone: 'yes' },
    { ...example, value: 'hi' },
    { ...example, epoch: -1 },
    { ...example, epoch: 2 ** 53 },
    { ...example, partition: 2 ** 32 },
    { ...example, partition: 1.5 },
    { ...example, timestamp: { ...example.timestamp, node: '' } },
    { ...example, timestamp: { ...example.timestamp, logical: MAX_LOGICAL + 1 } },
    { ...example, timestamp: undefined },
  ];
  for (const r of bad) t.throws(() => encodeRecord(r as StoredRecord), { code: 'RECORD_INVALID' });
  t.end();
});

t.test('a record\'s version bytes are its header through the node id, and decode to its timestamp and tombstone', (t) => {
  const rng = new Rng(11);
  const differ: string[] = [];
  for (let i = 0; i < 1000; i++) {
    const r = randomRecord(rng);
    const bytes = encodeRecord(r);
    const v = versionBytes(bytes);
    const want = JSON.stringify({ timestamp: r.timestamp, tombstone: r.tombstone });
    if (JSON.stringify(decodeVersion(v)) !== want || !Buffer.from(v).equals(bytes.subarray(0, 29 + Buffer.byteLength(r.timestamp.node)))) differ.push(want);
  }
  t.same(differ.slice(0, 3), [], '1000 random records');
  const v = Buffer.from(versionBytes(encodeRecord(example)));
  t.equal(v.toString('hex'), '524301' + '00' + '0000019b76daa800' + '00000003' + '0000000000000007' + '0000002a' + '02' + '6e31', "RECORD.md's example: 31 bytes");
  for (let len = 0; len < v.length; len++) t.throws(() => decodeVersion(v.subarray(0, len)), { code: 'RECORD_CORRUPT' });
  t.throws(() => decodeVersion(Buffer.concat([v, Buffer.from([0x61])])), { code: 'RECORD_CORRUPT' }, 'a trailing byte');
  for (const [offset, byte, what] of [[0, 0x00, 'magic'], [2, 0x02, 'version'], [3, 0x02, 'flags'], [4, 0xff, 'physicalMs over 2^53-1'], [29, 0xff, 'node id not UTF-8']] as const) {
    const bad = Buffer.from(v);
    bad[offset] = byte;
    t.throws(() => decodeVersion(bad), { code: 'RECORD_CORRUPT' }, what);
  }
  t.throws(() => versionBytes(Buffer.from('not a record')), { code: 'RECORD_CORRUPT' });
  t.end();
});

t.test('every single-byte change and every truncation is RECORD_CORRUPT', (t) => {
  const bytes = encodeRecord(example);
  let caught = 0;
  for (let i = 0; i < bytes.length; i++) {
    for (const flip of [0x01, 0x80, 0xff]) {
      const b = Buffer.from(bytes);
      b[i] = b[i]! ^ flip;
      try {
        decodeRecord(b);
      } catch (err) {
        if ((err as RecordCorruptError).code === 'RECORD_CORRUPT') caught++;
      }
    }
  }
  t.equal(caught, bytes.length * 3, 'all flips detected');
  for (let len = 0; len < bytes.length; len++) t.throws(() => decodeRecord(bytes.subarray(0, len)), { code: 'RECORD_CORRUPT' });
  t.throws(() => decodeRecord(Buffer.concat([bytes, Buffer.from([0])])), { code: 'RECORD_CORRUPT' }, 'trailing byte');
  t.throws(() => decodeRecord('not bytes' as unknown as Uint8Array), { code: 'RECORD_CORRUPT' });
  t.throws(() => decodeRecord(Buffer.alloc(16 * 1024 * 1024 + 293)), { code: 'RECORD_CORRUPT' }, 'over the size limit');
  t.end();
});

t.test('a value over 16 MiB is RECORD_CORRUPT even where a short node id leaves room for it in the size limit', (t) => {
  const atLimit = encodeRecord({ ...example, timestamp: { ...example.timestamp, node: 'n' }, value: Buffer.alloc(MAX_VALUE_BYTES, 7) });
  t.equal(decodeRecord(atLimit).value.length, MAX_VALUE_BYTES, 'a value of exactly 16 MiB decodes');
  // The same record with one more value byte, its length field and checksum made to match.
  const over = Buffer.alloc(atLimit.length + 1, 7);
  atLimit.copy(over, 0, 0, 30);
  const lengthAt = 29 + 1;
  over.writeUInt32BE(MAX_VALUE_BYTES + 1, lengthAt);
  const end = over.length - 4;
  over.writeUInt32BE(crc32c(over, 0, 0, end), end);
  t.throws(() => decodeRecord(over), { code: 'RECORD_CORRUPT', message: /over the 16777216-byte limit/ });
  t.end();
});

t.test('fuzz: random and mutated bytes never crash the decoder, only typed errors', (t) => {
  const rng = new Rng(99);
  let decoded = 0;
  let refused = 0;
  const other: string[] = [];
  const seeds = Array.from({ length: 20 }, () => encodeRecord(randomRecord(rng)));
  for (let i = 0; i < 20_000; i++) {
    let input: Buffer;
    if (rng.chance(0.3)) input = rng.bytes(rng.int(80));
    else {
      input = Buffer.from(seeds[rng.int(seeds.length)]!);
      for (let m = 1 + rng.int(4); m > 0; m--) {
        const at = rng.int(Math.min(input.length, 40)); // the header, where lengths and flags live
        input[at] = rng.chance(0.5) ? rng.int(256) : input[at]! ^ (1 << rng.int(8));
      }
      if (rng.chance(0.2)) input = input.subarray(0, rng.int(input.length + 1));
    }
    for (const fn of [decodeRecord, readPlacement]) {
      try {
        const r = fn(input);
        decoded++;
        // Received records are stored as received: what decodes must be what the encoder writes.
        if (fn === decodeRecord && !encodeRecord(r as StoredRecord).equals(input)) other.push(`accepted bytes that re-encode differently: ${input.toString('hex')}`);
      } catch (err) {
        if (err instanceof RecordCorruptError && err.code === 'RECORD_CORRUPT') refused++;
        else other.push(String(err));
      }
    }
  }
  t.same(other.slice(0, 5), [], 'no other exception');
  t.ok(refused > 10_000, `${refused} refused, ${decoded} accepted`);
  t.end();
});

t.test('LWW: newer() is the same whatever the argument order, and a total order', (t) => {
  const a = { ...example, timestamp: { ...example.timestamp, logical: 4 } };
  t.equal(newer(a, example), a);
  t.equal(newer(example, a), a);
  const byNode = { ...example, timestamp: { ...example.timestamp, node: 'n2' } };
  t.equal(newer(example, byNode), byNode, 'node id breaks timestamp ties');
  const tomb = { ...example, value: Buffer.alloc(0), tombstone: true };
  t.equal(newer(example, tomb), tomb, 'on an exact tie a tombstone wins');
  t.equal(newer(tomb, example), tomb);
  const rng = new Rng(3);
  const records = Array.from({ length: 300 }, () => randomRecord(rng));
  const sorted = [...records].sort(compareRecords);
  let ok = true;
  for (let i = 1; i < sorted.length; i++) if (compareRecords(sorted[i - 1]!, sorted[i]!) > 0) ok = false;
  for (let i = 0; i < 3000; i++) {
    const x = records[rng.int(records.length)]!;
    const y = records[rng.int(records.length)]!;
    if (Math.sign(compareRecords(x, y)) !== -Math.sign(compareRecords(y, x))) ok = false;
    if (compareRecords(x, y) === 0 && !Buffer.from(encodeRecord(x)).equals(encodeRecord(y))) ok = false;
    if (compareRecords(newer(x, y), newer(y, x)) !== 0) ok = false;
  }
  t.ok(ok, 'antisymmetric, consistent with sorting, zero only for identical records');
  t.end();
});
