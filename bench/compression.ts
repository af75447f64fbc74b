/**
 * Block codecs on realistic SSTable data blocks: the hand-written Snappy (lsm/table/snappy.ts) against
 * what Node ships (zlib deflate-raw level 1, brotli quality 1). Blocks are built with BlockBuilder from
 * db_bench-like entries: 16-digit decimal keys (as internal keys, with their 8-byte trailer) and
 * 100-byte values made of 50 random printable bytes repeated twice (half compressible).
 *
 *   node dist/bench/compression.js [--blocks 2000] [--rounds 5] [--entries 1000000]
 *
 * Prints, per codec: compress and decompress MB/s (of uncompressed bytes), ratio (stored / raw), the
 * share of blocks the 1/8 rule would store compressed, and µs per 4 KiB block each way. Then the bytes
 * of a set of 2 MiB tables holding `--entries` sorted db_bench-like entries, Snappy against none.
 */
import * as zlib from 'node:zlib';
import { bytewiseComparator } from '../lsm/comparator.js';
import type { WritableFile } from '../lsm/env.js';
import { BlockBuilder } from '../lsm/table/block-builder.js';
import { CompressionType } from '../lsm/table/format.js';
import { TableBuilder } from '../lsm/table/table-builder.js';
import { SnappyCompressor, snappyDecompress, snappyMaxCompressedLength } from '../lsm/table/snappy.js';
import { numberFlag, parseFlags } from './lib/cli-flags.js';
import { seededRandom } from './lib/rng.js';

interface Codec {
  name: string;
  compress(block: Buffer): Uint8Array;
  decompress(stored: Uint8Array, rawLength: number): Uint8Array;
}

const USAGE = `usage: node dist/bench/compression.js [options]

Block codecs on db_bench-like SSTable data blocks: our Snappy against zlib deflate-raw and brotli;
MB/s each way, ratio, µs per block, then table bytes with Snappy against none.

  --blocks N           data blocks to build (default 2000)
  --rounds N           rounds; the best is shown (default 5)
  --entries N          sorted entries written as tables for the size comparison (default 1000000)
  --help               this text`;

const flags = parseFlags('compression', USAGE, { blocks: { type: 'string' }, rounds: { type: 'string' }, entries: { type: 'string' } }).values;

function arg(name: 'blocks' | 'rounds' | 'entries', dflt: number): number {
  return numberFlag('compression', USAGE, name, flags[name], dflt, { whole: true });
}

/** db_bench-like data blocks of about 4 KiB, keys in random-insert-then-sorted order. */
function buildBlocks(count: number): Buffer[] {
  const rnd = seededRandom(301);
  const pool = Buffer.allocUnsafe(1 << 20);
  for (let p = 0; p + 100 <= pool.length; p += 100) {
    for (let i = 0; i < 50; i++) pool[p + i] = 32 + Math.floor(rnd() * 95);
    pool.copyWithin(p + 50, p, p + 50);
  }
  const blocks: Buffer[] = [];
  const b = new BlockBuilder(16, 4096);
  let k = 0;
  let v = 0;
  const key = Buffer.alloc(24);
  while (blocks.length < count) {
    // Keys about 1 in 3 apart: what a table of 1M random keys out of 3M looks like.
    k += 1 + Math.floor(rnd() * 5);
    key.write(String(k).padStart(16, '0'), 0, 'latin1');
    key.writeUIntLE(Math.floor(rnd() * 2 ** 40) * 256 + 1, 16, 6);
    key.writeUInt16LE(0, 22);
    if (v + 100 > pool.length) v = 0;
    b.add(key, pool.subarray(v, v + 100));
    v += 100;
    if (b.currentSizeEstimate() >= 4096) {
      blocks.push(Buffer.from(b.finish()));
      b.reset();
    }
  }
  return blocks;
}

const snappy = new SnappyCompressor();
const snappyOut = Buffer.allocUnsafe(snappyMaxCompressedLength(1 << 20));
const codecs: Codec[] = [
  {
    name: 'snappy (ours, JS)',
    compress: (block) => snappyOut.subarray(0, snappy.compress(block, snappyOut, 0)),
    decompress: (stored) => snappyDecompress(stored, 0, stored.length),
  },
  {
    name: 'zlib deflateRaw lvl 1',
    compress: (block) => zlib.deflateRawSync(block, { level: 1 }),
    decompress: (stored) => zlib.inflateRawSync(stored),
  },
  {
    name: 'brotli quality 1',
    compress: (block) =>
      zlib.brotliCompressSync(block, {
        params: { [zlib.constants.BROTLI_PARAM_QUALITY]: 1, [zlib.constants.BROTLI_PARAM_SIZE_HINT]: block.length },
      }),
    decompress: (stored) => zlib.brotliDecompressSync(stored),
  },
];

function measure(codec: Codec, blocks: Buffer[], rounds: number): string[] {
  const raw = blocks.reduce((s, b) => s + b.length, 0);
  const stored = blocks.map((b) => Buffer.from(codec.compress(b)));
  for (let i = 0; i < blocks.length; i++) {
    if (!Buffer.from(codec.decompress(stored[i]!, blocks[i]!.length)).equals(blocks[i]!)) {
      throw new Error(`${codec.name} does not round-trip block ${i}`);
    }
  }
  let best = Infinity;
  for (let r = 0; r < rounds; r++) {
    const t0 = process.hrtime.bigint();
    for (const b of blocks) codec.compress(b);
    best = Math.min(best, Number(process.hrtime.bigint() - t0) / 1e9);
  }
  const cTime = best;
  best = Infinity;
  for (let r = 0; r < rounds; r++) {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < blocks.length; i++) codec.decompress(stored[i]!, blocks[i]!.length);
    best = Math.min(best, Number(process.hrtime.bigint() - t0) / 1e9);
  }
  const dTime = best;
  const kept = stored.reduce((s, c, i) => s + (c.length < blocks[i]!.length - (blocks[i]!.length >>> 3) ? c.length : blocks[i]!.length), 0);
  const worth = stored.filter((c, i) => c.length < blocks[i]!.length - (blocks[i]!.length >>> 3)).length;
  return [
    codec.name,
    (raw / 1e6 / cTime).toFixed(0),
    (raw / 1e6 / dTime).toFixed(0),
    (kept / raw).toFixed(3),
    `${((100 * worth) / blocks.length).toFixed(0)}%`,
    ((cTime * 1e6) / blocks.length).toFixed(1),
    ((dTime * 1e6) / blocks.length).toFixed(1),
  ];
}

/** Counts appended bytes, keeps none. */
class CountingFile implements WritableFile {
  size = 0;
  append(data: Uint8Array): Promise<void> {
    this.size += data.length;
    return Promise.resolve();
  }
  sync(): Promise<void> {
    return Promise.resolve();
  }
  close(): Promise<void> {
    return Promise.resolve();
  }
}

/** Bytes of 2 MiB tables of `entries` db_bench-like entries (keys 0..entries-1 with an 8-byte trailer). */
async function tableSetBytes(entries: number, compression: CompressionType): Promise<{ bytes: number; tables: number }> {
  const rnd = seededRandom(77);
  const pool = Buffer.allocUnsafe(1 << 20);
  for (let p = 0; p + 100 <= pool.length; p += 100) {
    for (let i = 0; i < 50; i++) pool[p + i] = 32 + Math.floor(rnd() * 95);
    pool.copyWithin(p + 50, p, p + 50);
  }
  const key = Buffer.alloc(24);
  let bytes = 0;
  let tables = 0;
  let v = 0;
  let file = new CountingFile();
  let b = new TableBuilder(file, { comparator: bytewiseComparator, compression });
  for (let i = 0; i < entries; i++) {
    key.write(String(i).padStart(16, '0'), 0, 'latin1');
    key.writeUIntLE(i * 256 + 1, 16, 6);
    if (v + 100 > pool.length) v = 0;
    b.add(key, pool.subarray(v, v + 100));
    v += 100;
    if (b.estimatedSize >= 2 << 20 || i === entries - 1) {
      await b.finish();
      bytes += file.size;
      tables++;
      file = new CountingFile();
      b = new TableBuilder(file, { comparator: bytewiseComparator, compression });
    }
  }
  return { bytes, tables };
}

async function main(): Promise<void> {
  const blocks = buildBlocks(arg('blocks', 2000));
  const rounds = arg('rounds', 5);
  const avg = blocks.reduce((s, b) => s + b.length, 0) / blocks.length;
  console.log(`${blocks.length} db_bench-like data blocks, ${avg.toFixed(0)} bytes on average, best of ${rounds} rounds`);
  const head = ['codec', 'compress MB/s', 'decompress MB/s', 'ratio', 'blocks kept', 'µs/block c', 'µs/block d'];
  const rows = [head, ...codecs.map((c) => measure(c, blocks, rounds))];
  const widths = head.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  for (const r of rows) console.log(r.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  '));
  const entries = arg('entries', 1_000_000);
  const snappyTables = await tableSetBytes(entries, CompressionType.Snappy);
  const rawTables = await tableSetBytes(entries, CompressionType.None);
  const mb = (n: number): string => `${(n / 1e6).toFixed(1)} MB`;
  console.log(
    `${entries} entries in 2 MiB tables: snappy ${mb(snappyTables.bytes)} (${snappyTables.tables} tables), ` +
      `none ${mb(rawTables.bytes)} (${rawTables.tables} tables), ratio ${(snappyTables.bytes / rawTables.bytes).toFixed(3)}`,
  );
}

await main();
