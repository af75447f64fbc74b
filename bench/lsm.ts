/**
 * db_bench-style benchmark of the LSM engine against classic-level (native LevelDB) in the same run.
 *
 *   npm run bench:lsm [-- --num 1000000 --reads 100000 --only fillrandom,readrandom]
 *
 * 16-byte keys ("%016d"), 100-byte values (half compressible, as db_bench generates them). Workloads:
 *   fillseq        N puts in key order, one awaited at a time, fresh database
 *   fillrandom     N puts in random order, one awaited at a time, fresh database
 *   overwrite      N puts of random existing keys on the fillrandom database
 *   fillbatch      N puts in key order, 1,000 per batch, fresh database
 *   fillsync       10,000 puts with sync, one awaited at a time, fresh database
 *   readrandom     `reads` gets of random existing keys, one awaited at a time (fillrandom+overwrite db)
 *   readrandom64   the same with 64 gets in flight
 *   readseq        forward iteration over everything (classic-level through nextv pages of 1,000)
 *   compact        compactRange over every key (ops = N: the keys it covers)
 *   readcompacted  `reads` gets of random existing keys after that full compaction
 *   mixed          `reads` operations alternating a get and an overwrite of random keys, one awaited at
 *                  a time, with compaction running in the background
 * Each engine uses its default options. Prints ops/s, MB/s and, for awaited ops, p50/p99 latency;
 * writes JSON to bench/results/.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import { ClassicLevel } from 'classic-level';
import { DB, WriteBatch } from '../lsm/index.js';
import { percentile, printTable, writeResults } from './lib/report.js';
import { xorshiftRandom } from '../lsm/skiplist.js';

const KEY_SIZE = 16;
const VALUE_SIZE = 100;

function arg(name: string, dflt: number): number {
  const i = process.argv.indexOf(`--${name}`);
  if (i < 0) return dflt;
  const v = Number(process.argv[i + 1]);
  if (!Number.isFinite(v) || v <= 0) throw new Error(`--${name} needs a positive number`);
  return v;
}
const NUM = arg('num', 1_000_000);
const READS = arg('reads', Math.min(NUM, 100_000));
const SYNC_NUM = arg('syncs', 10_000);
const onlyIdx = process.argv.indexOf('--only');
const ONLY = onlyIdx < 0 ? undefined : new Set((process.argv[onlyIdx + 1] ?? '').split(','));

/** A seeded xorshift (the skiplist's) as 32-bit integers for keys, so both engines see the same sequence. */
function rng(seed: number): () => number {
  const next = xorshiftRandom(seed);
  return () => next() * 0x100000000;
}

function key(i: number): Buffer {
  return Buffer.from(String(i).padStart(KEY_SIZE, '0'), 'latin1');
}

/** Values like db_bench's: each 100-byte value is 50 random bytes and their repetition. */
const VALUE_POOL = (() => {
  const r = rng(301);
  const pool = Buffer.allocUnsafe(1 << 20);
  for (let p = 0; p < pool.length; p += VALUE_SIZE) {
    for (let i = 0; i < VALUE_SIZE / 2 && p + i < pool.length; i++) pool[p + i] = 32 + (r() % 95);
    pool.copyWithin(p + VALUE_SIZE / 2, p, Math.min(p + VALUE_SIZE / 2, pool.length));
  }
  return pool;
})();
let valuePos = 0;
function value(): Buffer {
  if (valuePos + VALUE_SIZE > VALUE_POOL.length) valuePos = 0;
  const v = VALUE_POOL.subarray(valuePos, valuePos + VALUE_SIZE);
  valuePos += VALUE_SIZE;
  return v;
}

/** The common surface of both engines for the benchmark. */
interface Engine {
  name: string;
  put(k: Buffer, v: Buffer, sync?: boolean): Promise<void>;
  get(k: Buffer): Promise<Buffer | undefined>;
  batch(entries: [Buffer, Buffer][]): Promise<void>;
  scan(): Promise<number>;
  compactAll(): Promise<void>;
  /** Engine counters worth printing (ours: write amplification, stalls, levels). */
  stats(): Record<string, unknown>;
  close(): Promise<void>;
}

async function openOurs(dir: string): Promise<Engine> {
  const db = await DB.open(dir);
  return {
    name: 'mydatastore',
    put: (k, v, sync) => db.put(k, v, sync === true ? { sync } : undefined),
    get: (k) => db.get(k),
    batch: (entries) => {
      const b = new WriteBatch(entries.length * (KEY_SIZE + VALUE_SIZE + 4));
      for (const [k, v] of entries) b.put(k, v);
      return db.write(b);
    },
    scan: async () => {
      let n = 0;
      for await (const _ of db.iterator()) n++;
      return n;
    },
    compactAll: () => db.compactRange(),
    stats: () => {
      const s = db.stats();
      return {
        levelFiles: s.levelFiles.join('/'),
        writeAmplification: Number(s.writeAmplification.toFixed(2)),
        compactions: s.compactions,
        trivialMoves: s.trivialMoves,
        stalls: s.stallCount,
        stallMs: Math.round(s.stallMs),
      };
    },
    close: () => db.close(),
  };
}

async function openClassic(dir: string): Promise<Engine> {
  const db = new ClassicLevel<Buffer, Buffer>(dir, { keyEncoding: 'buffer', valueEncoding: 'buffer' });
  await db.open();
  return {
    name: 'classic-level',
    put: (k, v, sync) => db.put(k, v, sync === true ? { sync } : {}),
    get: (k) => db.get(k),
    batch: (entries) => db.batch(entries.map(([k, v]) => ({ type: 'put' as const, key: k, value: v }))),
    scan: async () => {
      const it = db.iterator();
      let n = 0;
      for (;;) {
        const page = await it.nextv(1000);
        if (page.length === 0) break;
        n += page.length;
      }
      await it.close();
      return n;
    },
    compactAll: () => db.compactRange(key(0), key(NUM)),
    stats: () => ({ levels: db.getProperty('leveldb.num-files-at-level0') }),
    close: () => db.close(),
  };
}

interface Row {
  workload: string;
  engine: string;
  ops: number;
  seconds: number;
  opsPerSec: number;
  mbPerSec: number;
  p50us?: number;
  p99us?: number;
}

const rows: Row[] = [];
const engineStats: Record<string, Record<string, unknown>> = {};

function record(workload: string, engine: string, ops: number, seconds: number, lat?: Float64Array): void {
  const row: Row = {
    workload,
    engine,
    ops,
    seconds,
    opsPerSec: ops / seconds,
    mbPerSec: (ops * (KEY_SIZE + VALUE_SIZE)) / seconds / 1048576,
  };
  if (lat !== undefined) {
    row.p50us = percentile(lat, 50) * 1000;
    row.p99us = percentile(lat, 99) * 1000;
  }
  rows.push(row);
  process.stderr.write(`  ${workload.padEnd(13)} ${engine.padEnd(14)} ${Math.round(row.opsPerSec).toLocaleString('en-US').padStart(10)} ops/s  ${seconds.toFixed(2)} s\n`);
}

async function awaited(n: number, op: (i: number) => Promise<unknown>): Promise<{ seconds: number; lat: Float64Array }> {
  const lat = new Float64Array(n);
  const start = performance.now();
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    await op(i);
    lat[i] = performance.now() - t0;
  }
  return { seconds: (performance.now() - start) / 1000, lat };
}

async function inFlight(n: number, depth: number, op: (i: number) => Promise<unknown>): Promise<number> {
  let next = 0;
  const start = performance.now();
  const worker = async (): Promise<void> => {
    while (next < n) await op(next++);
  };
  await Promise.all(Array.from({ length: depth }, () => worker()));
  return (performance.now() - start) / 1000;
}

const want = (w: string): boolean => ONLY === undefined || ONLY.has(w);

async function runEngine(open: (dir: string) => Promise<Engine>, label: string): Promise<void> {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), `bench-lsm-${label}-`));
  const fresh = async (name: string): Promise<Engine> => open(path.join(root, name));
  try {
    if (want('fillseq')) {
      const e = await fresh('fillseq');
      const r = await awaited(NUM, (i) => e.put(key(i), value()));
      record('fillseq', e.name, NUM, r.seconds, r.lat);
      await e.close();
    }
    if (want('fillbatch')) {
      const e = await fresh('fillbatch');
      const start = performance.now();
      for (let i = 0; i < NUM; i += 1000) {
        const entries: [Buffer, Buffer][] = [];
        for (let j = i; j < Math.min(NUM, i + 1000); j++) entries.push([key(j), value()]);
        await e.batch(entries);
      }
      record('fillbatch', e.name, NUM, (performance.now() - start) / 1000);
      await e.close();
    }
    if (want('fillsync')) {
      const e = await fresh('fillsync');
      const r1 = rng(7);
      const r = await awaited(SYNC_NUM, () => e.put(key(r1() % NUM), value(), true));
      record('fillsync', e.name, SYNC_NUM, r.seconds, r.lat);
      await e.close();
    }
    const reads = ['overwrite', 'readrandom', 'readrandom64', 'readseq', 'compact', 'readcompacted', 'mixed'];
    if (want('fillrandom') || reads.some(want)) {
      const e = await fresh('random');
      const r1 = rng(1);
      let r = await awaited(NUM, () => e.put(key(r1() % NUM), value()));
      record('fillrandom', e.name, NUM, r.seconds, r.lat);
      if (want('overwrite')) {
        const r2 = rng(2);
        r = await awaited(NUM, () => e.put(key(r2() % NUM), value()));
        record('overwrite', e.name, NUM, r.seconds, r.lat);
      }
      if (want('readrandom')) {
        const r3 = rng(3);
        r = await awaited(READS, () => e.get(key(r3() % NUM)));
        record('readrandom', e.name, READS, r.seconds, r.lat);
      }
      if (want('readrandom64')) {
        const r4 = rng(4);
        const s = await inFlight(READS, 64, () => e.get(key(r4() % NUM)));
        record('readrandom64', e.name, READS, s);
      }
      if (want('readseq')) {
        const start = performance.now();
        const n = await e.scan();
        record('readseq', e.name, n, (performance.now() - start) / 1000);
      }
      if (want('mixed')) {
        const r5 = rng(5);
        r = await awaited(READS, (i) => (i % 2 === 0 ? e.get(key(r5() % NUM)) : e.put(key(r5() % NUM), value())));
        record('mixed', e.name, READS, r.seconds, r.lat);
      }
      if (want('compact') || want('readcompacted')) {
        const start = performance.now();
        await e.compactAll();
        record('compact', e.name, NUM, (performance.now() - start) / 1000);
        const r6 = rng(6);
        r = await awaited(READS, () => e.get(key(r6() % NUM)));
        record('readcompacted', e.name, READS, r.seconds, r.lat);
      }
      engineStats[e.name] = e.stats();
      process.stderr.write(`  ${e.name} after the random workloads: ${JSON.stringify(engineStats[e.name])}\n`);
      await e.close();
    }
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  process.stderr.write(`lsm bench: num ${NUM}, reads ${READS}, fillsync ${SYNC_NUM}\n`);
  await runEngine(openOurs, 'ours');
  await runEngine(openClassic, 'classic');
  const order = ['fillseq', 'fillrandom', 'overwrite', 'fillbatch', 'fillsync', 'readrandom', 'readrandom64', 'readseq', 'mixed', 'compact', 'readcompacted'];
  const table: (string | number)[][] = [];
  const summary: Record<string, unknown>[] = [];
  for (const w of order) {
    const ours = rows.find((r) => r.workload === w && r.engine === 'mydatastore');
    const theirs = rows.find((r) => r.workload === w && r.engine === 'classic-level');
    if (ours === undefined || theirs === undefined) continue;
    const ratio = ours.opsPerSec / theirs.opsPerSec;
    const lat = (r: Row): string => (r.p50us === undefined ? '-' : `${r.p50us.toFixed(1)}/${r.p99us!.toFixed(1)}`);
    table.push([w, ours.opsPerSec, ours.mbPerSec, lat(ours), theirs.opsPerSec, theirs.mbPerSec, lat(theirs), `${ratio.toFixed(2)}x`]);
    summary.push({ workload: w, ours, classicLevel: theirs, ratio });
  }
  printTable(['workload', 'ours ops/s', 'ours MB/s', 'ours p50/p99 us', 'classic ops/s', 'classic MB/s', 'classic p50/p99 us', 'ratio'], table);
  const file = writeResults('lsm', { num: NUM, reads: READS, syncs: SYNC_NUM, keySize: KEY_SIZE, valueSize: VALUE_SIZE, rows: summary, engineStats });
  console.log(`results: ${file}`);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
