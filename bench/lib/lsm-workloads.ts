/**
 * The db_bench-style workloads of bench/lsm.ts, run against one engine variant (in its own process, so
 * that its peak RSS is its own). Workloads (N = --num, R = --reads, S = --syncs):
 *   fillseq        N puts in key order, one awaited at a time, fresh database
 *   fillbatch      N puts in key order, 1,000 per batch, fresh database
 *   fillsync       S puts with sync, one awaited at a time, fresh database
 *   fillrandom     N puts in random order, one awaited at a time, fresh database
 *   overwrite      N puts of random existing keys on the fillrandom database
 *   readrandom     R gets of random existing keys, one awaited at a time (fillrandom+overwrite db)
 *   readrandom64   the same with 64 gets in flight (or one getMany of 64 keys, where that is faster)
 *   readseq        forward iteration over everything
 *   mixed          R operations alternating a get and an overwrite of random keys, one awaited at a time,
 *                  with compaction running in the background
 *   compact        a full compaction (ops = N; only where the API has one: not through abstract-level)
 *   readcompacted  R gets of random existing keys after that full compaction
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import { percentile } from './report.js';
import { type Engine, KEY_SIZE, key, opener, rng, value, VALUE_SIZE, type Variant } from './lsm-engines.js';

export const WORKLOADS = [
  'fillseq', 'fillrandom', 'overwrite', 'fillbatch', 'fillsync',
  'readrandom', 'readrandom64', 'readseq', 'mixed', 'compact', 'readcompacted',
] as const;

export interface Row {
  workload: string;
  variant: Variant;
  ops: number;
  seconds: number;
  opsPerSec: number;
  mbPerSec: number;
  p50us?: number;
  p99us?: number;
}

export interface VariantResult {
  variant: Variant;
  rows: Row[];
  stats: Record<string, unknown>;
  /** fdatasync ops/s of the bare disk, measured interleaved with this variant's fillsync. */
  diskSyncRate?: number;
  /** process.resourceUsage().maxRSS of the process that ran this variant, in KiB. */
  maxRssKiB: number;
}

export interface Settings {
  num: number;
  reads: number;
  syncs: number;
  want: (workload: string) => boolean;
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

/** Runs every wanted workload against `variant` in fresh databases under `root`. */
export async function runVariant(variant: Variant, root: string, s: Settings): Promise<VariantResult> {
  const open = opener(variant);
  const rows: Row[] = [];
  let stats: Record<string, unknown> = {};
  const record = (workload: string, ops: number, seconds: number, lat?: Float64Array): void => {
    const row: Row = { workload, variant, ops, seconds, opsPerSec: ops / seconds, mbPerSec: (ops * (KEY_SIZE + VALUE_SIZE)) / seconds / 1048576 };
    if (lat !== undefined) {
      row.p50us = percentile(lat, 50) * 1000;
      row.p99us = percentile(lat, 99) * 1000;
    }
    rows.push(row);
    process.stderr.write(`  ${workload.padEnd(13)} ${variant.padEnd(14)} ${Math.round(row.opsPerSec).toLocaleString('en-US').padStart(10)} ops/s  ${seconds.toFixed(2)} s\n`);
  };
  const fresh = (name: string): Promise<Engine> => open(path.join(root, `${variant}-${name}`));
  const { num, reads, syncs, want } = s;

  if (want('fillseq')) {
    const e = await fresh('fillseq');
    const r = await awaited(num, (i) => e.put(key(i), value()));
    record('fillseq', num, r.seconds, r.lat);
    await e.close();
  }
  if (want('fillbatch')) {
    const e = await fresh('fillbatch');
    const start = performance.now();
    for (let i = 0; i < num; i += 1000) await e.fillBatch(i, Math.min(num, i + 1000));
    record('fillbatch', num, (performance.now() - start) / 1000);
    await e.close();
  }
  let diskSyncRate: number | undefined;
  if (want('fillsync')) {
    // Slices of the engine's sync puts alternate with slices of bare fdatasyncs on a file next to it:
    // the shared disk's rate drifts a lot, and this way both see the same disk.
    const e = await fresh('fillsync');
    const probe = new FdatasyncProbe(root);
    const r1 = rng(7);
    const lat = new Float64Array(syncs);
    let engineMs = 0;
    let probeMs = 0;
    for (let done = 0; done < syncs; ) {
      const n = Math.min(SYNC_SLICE, syncs - done);
      probeMs += probe.run(n);
      const t = performance.now();
      for (let i = done; i < done + n; i++) {
        const t0 = performance.now();
        await e.put(key(r1() % num), value(), true);
        lat[i] = performance.now() - t0;
      }
      engineMs += performance.now() - t;
      done += n;
    }
    probe.close();
    record('fillsync', syncs, engineMs / 1000, lat);
    diskSyncRate = Math.round(syncs / (probeMs / 1000));
    process.stderr.write(`  disk fdatasync ${diskSyncRate.toLocaleString('en-US')} ops/s, interleaved with ${variant}'s fillsync\n`);
    await e.close();
  }
  const later = ['overwrite', 'readrandom', 'readrandom64', 'readseq', 'mixed', 'compact', 'readcompacted'];
  if (want('fillrandom') || later.some(want)) {
    const e = await fresh('random');
    const r1 = rng(1);
    let r = await awaited(num, () => e.put(key(r1() % num), value()));
    record('fillrandom', num, r.seconds, r.lat);
    if (want('overwrite')) {
      const r2 = rng(2);
      r = await awaited(num, () => e.put(key(r2() % num), value()));
      record('overwrite', num, r.seconds, r.lat);
    }
    if (want('readrandom')) {
      const r3 = rng(3);
      r = await awaited(reads, () => e.get(key(r3() % num)));
      record('readrandom', reads, r.seconds, r.lat);
    }
    if (want('readrandom64')) {
      const r4 = rng(4);
      const start = performance.now();
      for (let i = 0; i < reads; i += 64) {
        const keys: Buffer[] = [];
        for (let j = i; j < Math.min(reads, i + 64); j++) keys.push(key(r4() % num));
        await e.getMany(keys);
      }
      record('readrandom64', reads, (performance.now() - start) / 1000);
    }
    if (want('readseq')) {
      const start = performance.now();
      const n = await e.scan();
      record('readseq', n, (performance.now() - start) / 1000);
    }
    if (want('mixed')) {
      const r5 = rng(5);
      r = await awaited(reads, (i) => (i % 2 === 0 ? e.get(key(r5() % num)) : e.put(key(r5() % num), value())));
      record('mixed', reads, r.seconds, r.lat);
    }
    if (want('compact') || want('readcompacted')) {
      const start = performance.now();
      const { timed } = await e.compactAll();
      if (timed) record('compact', num, (performance.now() - start) / 1000);
      const r6 = rng(6);
      r = await awaited(reads, () => e.get(key(r6() % num)));
      record('readcompacted', reads, r.seconds, r.lat);
    }
    stats = e.stats();
    await e.close();
  }
  return { variant, rows, stats, diskSyncRate, maxRssKiB: process.resourceUsage().maxRSS };
}

/** Sync puts per slice of the interleaved fillsync / fdatasync-probe measurement. */
const SYNC_SLICE = 100;

/** The disk's own fdatasync rate: appends small records (a put's WAL record) to a file, fdatasync each. */
class FdatasyncProbe {
  private readonly file: string;
  private readonly fd: number;
  private readonly rec = Buffer.alloc(KEY_SIZE + VALUE_SIZE + 27, 0x61); // WAL header + batch header + key + value

  constructor(dir: string) {
    this.file = path.join(dir, 'fdatasync-probe');
    this.fd = fs.openSync(this.file, 'w');
  }

  /** Milliseconds for n appends, each followed by fdatasync. */
  run(n: number): number {
    const start = performance.now();
    for (let i = 0; i < n; i++) {
      fs.writeSync(this.fd, this.rec);
      fs.fdatasyncSync(this.fd);
    }
    return performance.now() - start;
  }

  close(): void {
    fs.closeSync(this.fd);
    fs.rmSync(this.file, { force: true });
  }
}
