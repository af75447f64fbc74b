/**
 * db_bench-style benchmark of the LSM engine against classic-level (native LevelDB) in the same run,
 * through two APIs: the shared abstract-level API (LsmLevel vs ClassicLevel) and each engine's fastest
 * (our DB vs classic-level's own calls; see lib/lsm-engines.ts for exactly which).
 *
 *   npm run bench:lsm [-- --num 200000 --reads 50000 --syncs 2000 --only fillrandom,readrandom
 *                        --engines ours,classic --in-process --no-save]
 *
 * Each variant runs in its own child process (its peak RSS is its own), one after another. The disk's
 * own fdatasync rate is measured in slices interleaved with each variant's fillsync (the host's disk is
 * shared and its rate drifts), and that fillsync is reported as a percentage of it. Workloads: lib/lsm-workloads.ts. `--in-process` runs the
 * variants in this process instead (for profilers; RSS figures are then shared). Prints a table and
 * writes JSON to bench/results/ (not with `--no-save`, as the profiling scripts run it).
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { printTable, writeResults } from './lib/report.js';
import { API_USED, KEY_SIZE, VALUE_SIZE, type Variant, VARIANTS } from './lib/lsm-engines.js';
import { type Row, runVariant, type Settings, type VariantResult, WORKLOADS } from './lib/lsm-workloads.js';

function arg(name: string, dflt: number): number {
  const i = process.argv.indexOf(`--${name}`);
  if (i < 0) return dflt;
  const v = Number(process.argv[i + 1]);
  if (!Number.isFinite(v) || v <= 0) throw new Error(`--${name} needs a positive number`);
  return v;
}
function listArg(name: string): string[] | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i < 0 ? undefined : (process.argv[i + 1] ?? '').split(',').filter((s) => s !== '');
}
function strArg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i < 0 ? undefined : process.argv[i + 1];
}

const NUM = arg('num', 200_000);
const READS = arg('reads', Math.min(NUM, 50_000));
const SYNCS = arg('syncs', 2_000);
const only = listArg('only');
const settings: Settings = { num: NUM, reads: READS, syncs: SYNCS, want: (w) => only === undefined || only.includes(w) };

function variantsArg(): Variant[] {
  const l = listArg('engines');
  if (l === undefined) return [...VARIANTS];
  for (const v of l) if (!(VARIANTS as readonly string[]).includes(v)) throw new Error(`--engines: unknown ${v} (one of ${VARIANTS.join(', ')})`);
  return l as Variant[];
}

/** Child mode: run one variant, write its VariantResult as JSON to --out. */
async function child(variant: Variant): Promise<void> {
  const root = strArg('root')!;
  const out = strArg('out')!;
  const result = await runVariant(variant, root, settings);
  fs.writeFileSync(out, JSON.stringify(result));
}

function runInChild(variant: Variant, root: string): VariantResult {
  const out = path.join(root, `${variant}.result.json`);
  const argv = [...process.execArgv, fileURLToPath(import.meta.url), ...process.argv.slice(2), '--child', variant, '--root', root, '--out', out];
  const r = spawnSync(process.execPath, argv, { stdio: ['ignore', 'inherit', 'inherit'] });
  if (r.status !== 0) throw new Error(`variant ${variant} failed (exit ${r.status ?? r.signal})`);
  return JSON.parse(fs.readFileSync(out, 'utf8')) as VariantResult;
}

const kops = (r: Row | undefined): string | number => (r === undefined ? '-' : r.opsPerSec);
const ratio = (a: Row | undefined, b: Row | undefined): string => (a === undefined || b === undefined ? '-' : `${(a.opsPerSec / b.opsPerSec).toFixed(2)}x`);

async function main(): Promise<void> {
  const variants = variantsArg();
  const inProcess = process.argv.includes('--in-process');
  process.stderr.write(`lsm bench: num ${NUM}, reads ${READS}, fillsync ${SYNCS}; variants ${variants.join(', ')}${inProcess ? ' (in process)' : ''}\n`);
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-lsm-'));
  const results: VariantResult[] = [];
  try {
    for (const v of variants) {
      process.stderr.write(`${v}: ${API_USED[v]}\n`);
      results.push(inProcess ? await runVariant(v, root, settings) : runInChild(v, root));
      process.stderr.write(`  ${v} peak RSS ${(results.at(-1)!.maxRssKiB / 1024).toFixed(0)} MiB\n`);
    }
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
  const syncRates = results.flatMap((r) => (r.diskSyncRate === undefined ? [] : [r.diskSyncRate]));

  const find = (w: string, v: Variant): Row | undefined => results.find((r) => r.variant === v)?.rows.find((r) => r.workload === w);
  const table: (string | number)[][] = [];
  const summary: Record<string, unknown>[] = [];
  for (const w of WORKLOADS) {
    const [ol, cl, o, c] = [find(w, 'ours-level'), find(w, 'classic-level'), find(w, 'ours'), find(w, 'classic')];
    if ([ol, cl, o, c].every((r) => r === undefined)) continue;
    const p99 = (r: Row | undefined): string => (r?.p99us === undefined ? '-' : r.p99us.toFixed(0));
    table.push([w, kops(ol), kops(cl), ratio(ol, cl), kops(o), kops(c), ratio(o, c), `${p99(o)}/${p99(c)}`]);
    summary.push({
      workload: w,
      abstractLevel: { ours: ol, classicLevel: cl, ratio: ol && cl ? ol.opsPerSec / cl.opsPerSec : undefined },
      fastest: { ours: o, classicLevel: c, ratio: o && c ? o.opsPerSec / c.opsPerSec : undefined },
    });
  }
  printTable(['workload', 'LsmLevel ops/s', 'ClassicLevel ops/s', 'ratio', 'DB ops/s', 'classic fastest ops/s', 'ratio', 'fastest p99 us ours/classic'], table);

  const fillsyncPct: Record<string, number> = {};
  const diskSync: Record<string, number> = {};
  for (const r of results) {
    const row = find('fillsync', r.variant);
    if (row === undefined || r.diskSyncRate === undefined) continue;
    diskSync[r.variant] = r.diskSyncRate;
    fillsyncPct[r.variant] = (100 * row.opsPerSec) / r.diskSyncRate;
  }
  if (syncRates.length > 0) {
    const each = Object.keys(fillsyncPct).map((v) => `${v} ${fillsyncPct[v]!.toFixed(0)}% of ${diskSync[v]!.toLocaleString('en-US')}`);
    console.log(`\nfillsync as % of the disk's own fdatasync ops/s, measured interleaved with it: ${each.join(', ')}`);
  }
  const rss = Object.fromEntries(results.map((r) => [r.variant, Math.round(r.maxRssKiB / 1024)]));
  console.log(`peak RSS MiB${inProcess ? ' (one process for all: not per engine)' : ''}: ${Object.entries(rss).map(([v, m]) => `${v} ${m}`).join(', ')}`);
  const engineStats = Object.fromEntries(results.filter((r) => Object.keys(r.stats).length > 0).map((r) => [r.variant, r.stats]));
  if (Object.keys(engineStats).length > 0) console.log(`engine stats: ${JSON.stringify(engineStats)}`);

  if (process.argv.includes('--no-save')) return;
  const file = writeResults('lsm', {
    num: NUM,
    reads: READS,
    syncs: SYNCS,
    keySize: KEY_SIZE,
    valueSize: VALUE_SIZE,
    inProcess,
    apis: Object.fromEntries(variants.map((v) => [v, API_USED[v]])),
    diskFdatasyncOpsPerSec: diskSync,
    fillsyncPercentOfDisk: fillsyncPct,
    peakRssMiB: rss,
    rows: summary,
    engineStats,
  });
  console.log(`results: ${file}`);
}

const childVariant = strArg('child');
(childVariant !== undefined ? child(childVariant as Variant) : main()).catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
