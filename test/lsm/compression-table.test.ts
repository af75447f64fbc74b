/**
 * Compressed SSTables end to end (lsm/table/table-builder.ts, format.ts readBlock, lsm/FORMAT.md
 * "Compression"): what is stored with which type byte, that every entry reads back, that the block
 * cache holds decoded blocks, that a damaged compressed block is a CorruptionError naming the file and
 * the block, and the `compression` option.
 */
import t from 'tap';
import { BlockCache } from '../../lsm/block-cache.js';
import { bytewiseComparator } from '../../lsm/comparator.js';
import { crc32c, maskCrc } from '../../lsm/crc32c.js';
import { CorruptionError, InvalidArgumentError } from '../../lsm/errors.js';
import { resolveOptions } from '../../lsm/options.js';
import { Block } from '../../lsm/table/block.js';
import { BLOCK_TRAILER_SIZE, type BlockHandle, CompressionType, readBlock } from '../../lsm/table/format.js';
import { Table } from '../../lsm/table/table.js';
import { TableBuilder } from '../../lsm/table/table-builder.js';
import { MemFileSystem } from '../../lsm/mem-fs.js';
import { MemRandomAccessFile, MemWritableFile } from './fs-for-tests.js';
import { Rng } from './rng.js';

const N = 5000;

function entries(): Array<[Buffer, Buffer]> {
  const rng = new Rng(42);
  const out: Array<[Buffer, Buffer]> = [];
  let k = 0;
  for (let i = 0; i < N; i++) {
    k += 1 + rng.int(5);
    const half = Buffer.from(Array.from({ length: 50 }, () => 32 + rng.int(95)));
    out.push([Buffer.from(String(k).padStart(16, '0')), Buffer.concat([half, half])]);
  }
  return out;
}
const ENTRIES = entries();

async function build(compression?: CompressionType): Promise<Buffer> {
  const file = new MemWritableFile();
  const b = new TableBuilder(file, { comparator: bytewiseComparator, ...(compression === undefined ? {} : { compression }) });
  for (const [k, v] of ENTRIES) b.add(k, v);
  await b.finish();
  return file.contents();
}

/** Handles of every block: data blocks (from the index), filter, metaindex, index. */
async function blocks(bytes: Buffer): Promise<{ data: BlockHandle[]; meta: BlockHandle[] }> {
  const table = await Table.open(new MemRandomAccessFile(bytes), 't.sst', { comparator: bytewiseComparator });
  const data: BlockHandle[] = [];
  const it = table.indexBlock.iterator(bytewiseComparator);
  for (it.seekToFirst(); it.valid(); it.next()) {
    const v = it.value();
    let p = 0;
    const field = (): number => {
      let r = 0;
      for (let s = 1; ; s *= 128) {
        const b = v[p++]!;
        r += (b & 0x7f) * s;
        if (b < 0x80) return r;
      }
    };
    data.push({ offset: field(), size: field() });
  }
  const last = data[data.length - 1]!;
  const filterAt = last.offset + last.size + BLOCK_TRAILER_SIZE;
  const filter = { offset: filterAt, size: table.footer.metaindex.offset - BLOCK_TRAILER_SIZE - filterAt };
  return { data, meta: [filter, table.footer.metaindex, table.footer.index] };
}

const typeOf = (bytes: Buffer, h: BlockHandle): number => bytes[h.offset + h.size]!;

t.test('by default data blocks are Snappy, the filter raw, and every entry reads back', async (t) => {
  const bytes = await build();
  const raw = await build(CompressionType.None);
  const { data, meta } = await blocks(bytes);
  t.ok(data.length > 100);
  t.ok(data.every((h) => typeOf(bytes, h) === CompressionType.Snappy), 'every data block is type 1');
  t.equal(typeOf(bytes, meta[0]!), CompressionType.None, 'the filter block is stored raw');
  t.equal(typeOf(bytes, meta[2]!), CompressionType.Snappy, 'the index block compresses (16-digit keys)');
  t.ok(bytes.length < 0.7 * raw.length, `compressed ${bytes.length} vs raw ${raw.length} bytes`);

  const cache = new BlockCache(64 << 20);
  const table = await Table.open(new MemRandomAccessFile(bytes), 't.sst', { comparator: bytewiseComparator, blockCache: cache });
  const it = table.iterator();
  let i = 0;
  for (it.seekToFirst(); it.valid(); it.next(), i++) {
    const [k, v] = ENTRIES[i]!;
    if (Buffer.compare(it.key(), k) !== 0 || Buffer.compare(it.value(), v) !== 0) t.fail(`entry ${i} differs`);
  }
  t.equal(i, N, 'the iterator returns every entry');
  const rng = new Rng(5);
  for (let n = 0; n < 500; n++) {
    const [k, v] = ENTRIES[rng.int(N)]!;
    if (!table.get(k)?.value.equals(v)) t.fail(`get ${k.toString()}`);
  }
  const decoded = data.map((h) => readBlock(table.file, h, { verifyChecksums: true }));
  const decodedBytes = decoded.reduce((s, b) => s + b.length, 0);
  t.ok(decodedBytes > 1.5 * data.reduce((s, h) => s + h.size, 0), 'decoded blocks are larger than stored ones');
  const charge = decoded.reduce((s, b) => s + new Block(b).size, 0); // decoded bytes + parsed restart array
  t.equal(cache.usage, charge, 'the block cache holds decoded blocks, charged by decoded size');
  await table.close();
});

t.test("compression None writes only type-0 blocks, and such tables read back the same", async (t) => {
  const bytes = await build(CompressionType.None);
  const { data, meta } = await blocks(bytes);
  t.ok([...data, ...meta].every((h) => typeOf(bytes, h) === CompressionType.None));
  const table = await Table.open(new MemRandomAccessFile(bytes), 't.sst', { comparator: bytewiseComparator });
  for (const [k, v] of ENTRIES.slice(0, 300)) if (!table.get(k)?.value.equals(v)) t.fail(`get ${k.toString()}`);
  t.throws(
    () => new TableBuilder(new MemWritableFile(), { comparator: bytewiseComparator, compression: 7 as CompressionType }),
    InvalidArgumentError,
  );
  t.end();
});

/** A copy of `bytes` where block h's stored bytes are changed by `edit`, with a CRC that matches again. */
function damage(bytes: Buffer, h: BlockHandle, edit: (stored: Buffer) => void): Buffer {
  const copy = Buffer.from(bytes);
  edit(copy.subarray(h.offset, h.offset + h.size));
  const end = h.offset + h.size;
  copy.writeUInt32LE(maskCrc(crc32c(copy, 0, h.offset, end + 1)), end + 1);
  return copy;
}

t.test('a damaged compressed block is a CorruptionError naming the file and block', async (t) => {
  const bytes = await build();
  const { data } = await blocks(bytes);
  const h = data[7]!;
  const corruptions: Array<[string, (s: Buffer) => void]> = [
    ['length varint grown', (s) => (s[0]! += 1)],
    ['length varint unterminated', (s) => s.fill(0x80, 0, 5)],
    ['first tag made a long literal', (s) => (s[2] = 0xfc)],
    ['stream cut short (zeroed tail)', (s) => s.fill(0, s.length - 40)],
    ['copy offsets zeroed', (s) => s.fill(0x01, 2)],
  ];
  for (const [what, edit] of corruptions) {
    const file = new MemRandomAccessFile(damage(bytes, h, edit));
    t.throws(() => readBlock(file, h, { verifyChecksums: true, fileName: 'd.sst' }), { name: 'CorruptionError', file: 'd.sst', offset: h.offset }, what);
    const table = await Table.open(file, 'd.sst', { comparator: bytewiseComparator });
    let err: unknown;
    try {
      const it = table.iterator();
      for (it.seekToFirst(); it.valid(); it.next());
    } catch (e) {
      err = e;
    }
    t.ok(err instanceof CorruptionError && err.offset === h.offset, `${what}: a scan stops with CorruptionError`);
  }
  // Without a matching CRC the checksum catches it first, before the decoder runs.
  const flipped = Buffer.from(bytes);
  flipped[h.offset + 10]! ^= 4;
  t.throws(() => readBlock(new MemRandomAccessFile(flipped), h, { verifyChecksums: true, fileName: 'd.sst' }), /checksum mismatch/);
});

t.test('the compression option', (t) => {
  t.equal(resolveOptions({ fs: new MemFileSystem() }).compression, CompressionType.Snappy, "default 'snappy'");
  t.equal(resolveOptions({ fs: new MemFileSystem(), compression: 'snappy' }).compression, CompressionType.Snappy);
  t.equal(resolveOptions({ fs: new MemFileSystem(), compression: 'none' }).compression, CompressionType.None);
  t.throws(() => resolveOptions({ fs: new MemFileSystem(), compression: 'lz4' as 'none' }), {
    name: 'InvalidArgumentError',
    code: 'LSM_INVALID_ARGUMENT',
    message: /compression/,
  });
  t.end();
});

t.test('a DB writes L0 and L1 tables raw and compresses the levels below', async (t) => {
  const { DB } = await import('../../lsm/db.js');
  const { compressionForLevel } = await import('../../lsm/flush-job.js');
  t.equal(compressionForLevel(CompressionType.Snappy, 0), CompressionType.None);
  t.equal(compressionForLevel(CompressionType.Snappy, 1), CompressionType.None);
  t.equal(compressionForLevel(CompressionType.Snappy, 2), CompressionType.Snappy);
  t.equal(compressionForLevel(CompressionType.None, 3), CompressionType.None);

  const fs = new MemFileSystem();
  const db = await DB.open('/db', { fs, writeBufferSize: 32 << 10, maxBytesForLevelBase: 64 << 10, targetFileSize: 16 << 10 });
  const value = Buffer.alloc(100, 'abcd'); // compresses well
  for (let i = 0; i < 6000; i++) await db.put(Buffer.from(`key${String((i * 7919) % 6000).padStart(8, '0')}`), value);
  await db.waitForCompaction();
  // Which level each table is on, from the version's description ("L0: 12 13 | L2: 9 10").
  const levelOf = new Map<number, number>();
  for (const part of db.describeVersion().split(' | ')) {
    const [name, files] = part.split(': ');
    for (const n of (files ?? '').split(' ')) levelOf.set(Number(n), Number(name!.slice(1)));
  }
  t.ok([...levelOf.values()].some((l) => l >= 2), `some tables below L1 (${db.describeVersion()})`);
  let checked = 0;
  for (const [number, level] of levelOf) {
    const path = `/db/${String(number).padStart(6, '0')}.sst`;
    const bytes = await fs.readFile(path);
    const { data } = await blocks(bytes);
    const want = level >= 2 ? CompressionType.Snappy : CompressionType.None;
    if (data.every((h) => typeOf(bytes, h) === want)) checked++;
    else t.fail(`table ${number} on L${level}: data blocks not all type ${want}`);
  }
  t.equal(checked, levelOf.size, `all ${checked} tables use their level's codec`);
  await db.close();
});
