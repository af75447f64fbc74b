/**
 * The db_bench-style workloads of bench/lsm.ts, run against one engine variant (in its own process, so
 * that its peak RSS is its own). Workloads (N = --num, R = --reads, S = --syncs):
 *   fillseq        N puts in key order, one awaited at a time, fresh database (informational)
 *   fillbatch      N puts in key order, 1,000 per batch, fresh database
 *   fillsync       S puts with sync, one awaited at a time, fresh database, interleaved with slices of
 *                  bare fdatasyncs on a file beside it (the disk's own rate, same disk, same minutes)
 *   fillsync64     64 writers of sync puts, until at least S puts and 2 s, fresh database (group commit)
 *   fillrandom     N puts in random order, one awaited at a time, fresh database
 *   overwrite      N puts of random existing keys on the fillrandom database, one awaited at a time,
 *                  compaction running (write stalls counted from the engine's stats where it has them)
 *   readrandom     R gets of random existing keys, one awaited at a time (fillrandom+overwrite db)
 *   readrandom64   R gets, 64 at a time (64 concurrent gets, or one getMany of 64 keys where faster)
 *   readseq        forward iteration over everything, pages of 1,000 (nextv)
 *   mixed          R operations, alternately a get and an overwrite of random keys, 16 in flight
 *   compact        a full compaction (ops = N; timed only where the API has one: not through abstract-level);
 *                  the database directory's size is measured after it
 *   readcompacted  R gets of random existing keys after that full compaction, one awaited at a time
 * The main thread's event-loop delay is measured during fillrandom and during overwrite.
 */
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import { percentile } from './report.js';
import { type Engine, KEY_SIZE, key, opener, rng, value, VALUE_SIZE, type Variant } from './lsm-engines.js';
import { awaited, type Counter, dirBytes, FdatasyncProbe, inFlight, inFlightFor, type LoopDelay, type Timed, withLoopDelay, withProgress } from './lsm-drivers.js';

/** Table order. */
export const WORKLOADS = [
  'fillseq', 'fillrandom', 'fillbatch', 'fillsync', 'fillsync64', 'overwrite',
  'readrandom', 'readrandom64', 'readcompacted', 'readseq', 'mixed', 'compact',
] as const;

/** Workloads whose rows await one operation at a time (and so report per-op latency). */
export const AWAITED: ReadonlySet<string> = new Set(['fillseq', 'fillrandom', 'fillsync', 'overwrite', 'readrandom', 'readcompacted']);

export const SYNC_WRITERS = 64;
export const SYNC64_MIN_MS = 2000;
export const MIXED_IN_FLIGHT = 16;
export const READ_IN_FLIGHT = 64;
export const BATCH = 1000;
/** Sync puts per slice of the interleaved fillsync / fdatasync-probe measurement. */
const SYNC_SLICE = 100;

export interface Row {
  workload: string;
  variant: Variant;
  ops: number;
  seconds: number;
  opsPerSec: number;
  mbPerSec: number;
  p50us?: number;
  p99us?: number;
  /** Main-thread event-loop delay during the row (fillrandom, overwrite). */
  eventLoop?: LoopDelay;
  /** Write stalls during the row, where the engine reports them. */
  stalls?: { count: number; ms: number };
}

export interface VariantResult {
  variant: Variant;
  rows: Row[];
  stats: Record<string, unknown>;
  /** fdatasync ops/s of the bare disk, measured interleaved with this variant's fillsync. */
  diskSyncRate?: number;
  /** Bytes of the fillrandom database's directory after its full compaction. */
  dbBytes?: number;
  /** process.resourceUsage().maxRSS of the process that ran this variant, in KiB. */
  maxRssKiB: number;
}

export interface Settings {
  num: number;
  reads: number;
  syncs: number;
  want: (workload: string) => boolean;
}

/** Runs every wanted workload against `variant` in fresh databases under `root`. */
export async function runVariant(variant: Variant, root: string, s: Settings): Promise<VariantResult> {
  const open = opener(variant);
  const rows: Row[] = [];
  const result: VariantResult = { variant, rows, stats: {}, maxRssKiB: 0 };
  const { num, syncs, want } = s;
  const dirOf = (name: string): string => path.join(root, `${variant}-${name}`);

  const record = (workload: string, t: Timed, extra: Partial<Row> = {}): Row => {
    const row: Row = {
      workload,
      variant,
      ops: t.ops,
      seconds: t.seconds,
      opsPerSec: t.ops / t.seconds,
      mbPerSec: (t.ops * (KEY_SIZE + VALUE_SIZE)) / t.seconds / 1048576,
      ...extra,
    };
    if (t.lat !== undefined) {
      row.p50us = percentile(t.lat, 50) * 1000;
      row.p99us = percentile(t.lat, 99) * 1000;
    }
    rows.push(row);
    const loop = row.eventLoop === undefined ? '' : `  event-loop p99 ${row.eventLoop.p99Ms.toFixed(1)} ms`;
    const stalls = row.stalls === undefined ? '' : `  stalls ${row.stalls.count} (${Math.round(row.stalls.ms)} ms)`;
    process.stderr.write(`  ${workload.padEnd(13)} ${variant.padEnd(14)} ${Math.round(row.opsPerSec).toLocaleString('en-US').padStart(10)} ops/s  ${t.seconds.toFixed(2)} s${loop}${stalls}\n`);
    return row;
  };
  const phase = (workload: string, total: number, fn: (c: Counter) => Promise<Timed>): Promise<Timed> =>
    withProgress(`  ${workload} ${variant}`, total, fn);

  if (want('fillseq')) {
    const e = await open(dirOf('fillseq'));
    record('fillseq', await phase('fillseq', num, (c) => awaited(num, (i) => e.put(key(i), value()), c)));
    await e.close();
  }
  if (want('fillbatch')) {
    const e = await open(dirOf('fillbatch'));
    const t = await phase('fillbatch', num, async (c) => {
      const start = performance.now();
      for (let i = 0; i < num; i += BATCH) {
        await e.fillBatch(i, Math.min(num, i + BATCH));
        c.done = Math.min(num, i + BATCH);
      }
      return { ops: num, seconds: (performance.now() - start) / 1000 };
    });
    record('fillbatch', t);
    await e.close();
  }
  if (want('fillsync')) {
    // Slices of the engine's sync puts alternate with slices of bare fdatasyncs on a file next to it:
    // the shared disk's rate drifts a lot, and this way both see the same disk.
    const e = await open(dirOf('fillsync'));
    const probe = new FdatasyncProbe(root, KEY_SIZE + VALUE_SIZE + 27); // WAL header + batch header + key + value
    const r1 = rng(7);
    let probeMs = 0;
    const t = await phase('fillsync', syncs, async (c) => {
      const lat = new Float64Array(syncs);
      let engineMs = 0;
      for (let done = 0; done < syncs; ) {
        const n = Math.min(SYNC_SLICE, syncs - done);
        probeMs += probe.run(n);
        const slice = await awaited(n, () => e.put(key(r1() % num), value(), true), c);
        lat.set(slice.lat!, done);
        engineMs += slice.seconds * 1000;
        done += n;
      }
      return { ops: syncs, seconds: engineMs / 1000, lat };
    });
    probe.close();
    record('fillsync', t);
    result.diskSyncRate = Math.round(syncs / (probeMs / 1000));
    process.stderr.write(`  disk fdatasync ${result.diskSyncRate.toLocaleString('en-US')} ops/s, interleaved with ${variant}'s fillsync\n`);
    await e.close();
  }
  if (want('fillsync64')) {
    const e = await open(dirOf('fillsync64'));
    const r1 = rng(8);
    const t = await phase('fillsync64', syncs, (c) => inFlightFor(syncs, SYNC64_MIN_MS, SYNC_WRITERS, () => e.put(key(r1() % num), value(), true), c));
    record('fillsync64', t);
    await e.close();
  }

  const later = ['overwrite', 'readrandom', 'readrandom64', 'readseq', 'mixed', 'compact', 'readcompacted'];
  if (want('fillrandom') || later.some(want)) {
    const dir = dirOf('random');
    const e = await open(dir);
    await runOnRandom(e, dir, s, record, phase, result);
    result.stats = e.stats();
    await e.close();
  }
  result.maxRssKiB = process.resourceUsage().maxRSS;
  return result;
}

type RecordRow = (workload: string, t: Timed, extra?: Partial<Row>) => Row;
type Phase = (workload: string, total: number, fn: (c: Counter) => Promise<Timed>) => Promise<Timed>;

/** fillrandom, then everything that reads or rewrites its database, in order. */
async function runOnRandom(e: Engine, dir: string, s: Settings, record: RecordRow, phase: Phase, result: VariantResult): Promise<void> {
  const { num, reads, want } = s;
  const stallsSince = (before: { count: number; ms: number } | undefined): Row['stalls'] => {
    const now = e.stalls();
    return now === undefined || before === undefined ? undefined : { count: now.count - before.count, ms: now.ms - before.ms };
  };

  const r1 = rng(1);
  let before = e.stalls();
  const fill = await withLoopDelay(() => phase('fillrandom', num, (c) => awaited(num, () => e.put(key(r1() % num), value()), c)));
  record('fillrandom', fill.result, { eventLoop: fill.delay, stalls: stallsSince(before) });
  if (want('overwrite')) {
    const r2 = rng(2);
    before = e.stalls();
    const ow = await withLoopDelay(() => phase('overwrite', num, (c) => awaited(num, () => e.put(key(r2() % num), value()), c)));
    record('overwrite', ow.result, { eventLoop: ow.delay, stalls: stallsSince(before) });
  }
  if (want('readrandom')) {
    const r3 = rng(3);
    record('readrandom', await phase('readrandom', reads, (c) => awaited(reads, () => e.get(key(r3() % num)), c)));
  }
  if (want('readrandom64')) {
    const r4 = rng(4);
    const t = await phase('readrandom64', reads, async (c) => {
      const start = performance.now();
      for (let i = 0; i < reads; i += READ_IN_FLIGHT) {
        const keys: Buffer[] = [];
        for (let j = i; j < Math.min(reads, i + READ_IN_FLIGHT); j++) keys.push(key(r4() % num));
        await e.getMany(keys);
        c.done += keys.length;
      }
      return { ops: reads, seconds: (performance.now() - start) / 1000 };
    });
    record('readrandom64', t);
  }
  if (want('readseq')) {
    const t = await phase('readseq', num, async (c) => {
      const start = performance.now();
      const n = await e.scan(c);
      return { ops: n, seconds: (performance.now() - start) / 1000 };
    });
    record('readseq', t);
  }
  if (want('mixed')) {
    const r5 = rng(5);
    const t = await phase('mixed', reads, (c) =>
      inFlight(reads, MIXED_IN_FLIGHT, (i) => (i % 2 === 0 ? e.get(key(r5() % num)) : e.put(key(r5() % num), value())), c),
    );
    record('mixed', t);
  }
  if (want('compact') || want('readcompacted')) {
    const start = performance.now();
    const { timed } = await e.compactAll();
    if (timed) record('compact', { ops: num, seconds: (performance.now() - start) / 1000 });
    result.dbBytes = dirBytes(dir);
    process.stderr.write(`  ${'size'.padEnd(13)} ${result.variant.padEnd(14)} ${(result.dbBytes / 1048576).toFixed(1).padStart(10)} MiB on disk after a full compaction\n`);
    if (want('readcompacted')) {
      const r6 = rng(6);
      record('readcompacted', await phase('readcompacted', reads, (c) => awaited(reads, () => e.get(key(r6() % num)), c)));
    }
  }
}
