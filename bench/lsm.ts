/**
 * db_bench-style benchmark of the LSM engine against classic-level (native LevelDB) in the same run,
 * with issue 10's targets, through two APIs: each engine's fastest (our DB vs classic-level's own calls;
 * see lib/lsm-engines.ts for exactly which) and the shared abstract-level API (LsmLevel vs ClassicLevel).
 *
 *   npm run bench:lsm [-- --num 1000000 --reads 200000 --syncs 2000 --only fillrandom,readrandom
 *                        --engines ours,classic --in-process --no-save --results-file FILE]
 *
 * Each variant runs in its own child process (its peak RSS is its own), one after another. The disk's
 * own fdatasync rate is measured in slices interleaved with each variant's fillsync (the host's disk is
 * shared and its rate drifts). Workloads: lib/lsm-workloads.ts; targets and their pass/miss:
 * lib/lsm-targets.ts; tables: lib/lsm-report.ts. `--in-process` runs the variants in this process
 * instead (for profilers; RSS figures are then shared). Prints the tables on stdout (progress on stderr)
 * and writes JSON and Markdown to bench/results/ (not with `--no-save`, as the profiling scripts run it;
 * to FILE and FILE's .md with `--results-file FILE`, as the bench suite runs it).
 * A missed target is printed as MISS; the exit code stays 0 (the figures are the output).
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { numberFlag, parseFlags } from './lib/cli-flags.js';
import { printTable, writeResults } from './lib/report.js';
import { API_USED, KEY_SIZE, ourMemoryBudget, VALUE_SIZE, type Variant, VARIANTS } from './lib/lsm-engines.js';
import { buildReport, figuresOf, markdownReport } from './lib/lsm-report.js';
import { evaluate, tally } from './lib/lsm-targets.js';
import { MIXED_IN_FLIGHT, READ_IN_FLIGHT, runVariant, type Settings, SYNC64_MIN_MS, SYNC_WRITERS, type VariantResult, WORKLOADS } from './lib/lsm-workloads.js';

const USAGE = `usage: npm run bench:lsm [-- options]

db_bench-style workloads on our LSM engine and on classic-level (native LevelDB), side by side, with
issue 10's targets; tables on stdout, results in bench/results/.

  --num N             entries written by the fill workloads (default 1000000)
  --reads N           gets in the read workloads (default min(num, 200000))
  --syncs N           sync puts in fillsync (default 2000)
  --only a,b          only these workloads (${WORKLOADS.join(', ')})
  --engines a,b       only these variants (${VARIANTS.join(', ')})
  --in-process        run the variants in this process (for profilers; RSS is then shared)
  --no-save           print only, write no results file
  --results-file F    write the JSON results to F (and F's .md)
  --help              this text`;

const str = { type: 'string' } as const;
const bool = { type: 'boolean', default: false } as const;
/** --child, --root and --out are passed by runInChild. */
const FLAGS = { num: str, reads: str, syncs: str, only: str, engines: str, 'results-file': str, child: str, root: str, out: str, 'in-process': bool, 'no-save': bool };
const flags = parseFlags('bench:lsm', USAGE, FLAGS).values;

function arg(name: 'num' | 'reads' | 'syncs', dflt: number): number {
  return numberFlag('bench:lsm', USAGE, name, flags[name], dflt, { whole: true });
}
function listArg(name: 'only' | 'engines'): string[] | undefined {
  return flags[name]?.split(',').filter((s) => s !== '');
}

const NUM = arg('num', 1_000_000);
const READS = arg('reads', Math.min(NUM, 200_000));
const SYNCS = arg('syncs', 2_000);
const only = listArg('only');
for (const w of only ?? []) {
  if (!(WORKLOADS as readonly string[]).includes(w)) throw new Error(`--only: unknown workload ${w} (one of ${WORKLOADS.join(', ')})`);
}
const settings: Settings = { num: NUM, reads: READS, syncs: SYNCS, want: (w) => only === undefined || only.includes(w) };

function variantsArg(): Variant[] {
  const l = listArg('engines');
  if (l === undefined) return [...VARIANTS];
  for (const v of l) if (!(VARIANTS as readonly string[]).includes(v)) throw new Error(`--engines: unknown ${v} (one of ${VARIANTS.join(', ')})`);
  return l as Variant[];
}

/** Child mode: run one variant, write its VariantResult as JSON to --out. */
async function child(variant: Variant): Promise<void> {
  const root = flags.root!;
  const out = flags.out!;
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

async function main(): Promise<void> {
  const variants = variantsArg();
  const inProcess = flags['in-process'];
  const loadStart = os.loadavg();
  const started = Date.now();
  const settingsText =
    `num ${NUM.toLocaleString('en-US')}, reads ${READS.toLocaleString('en-US')}, syncs ${SYNCS.toLocaleString('en-US')} ` +
    `(fillsync64: ${SYNC_WRITERS} writers, at least that many puts and ${SYNC64_MIN_MS / 1000} s); ` +
    `keys ${KEY_SIZE} B, values ${VALUE_SIZE} B (half compressible); readrandom64 ${READ_IN_FLIGHT} in flight, mixed ${MIXED_IN_FLIGHT} in flight; default options`;
  process.stderr.write(`lsm bench: ${settingsText}; variants ${variants.join(', ')}${inProcess ? ' (in process)' : ''}; load average ${loadStart.map((n) => n.toFixed(2)).join(' ')}\n`);
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
  const loadEnd = os.loadavg();

  const budget = ourMemoryBudget();
  const figures = figuresOf(results, budget.budgetBytes / 1048576, inProcess);
  const verdicts = evaluate(figures);
  const counts = tally(verdicts);
  const report = buildReport(results, verdicts, figures, budget, inProcess);
  for (const t of report.tables) {
    console.log(`\n${t.title}`);
    printTable(t.headers, t.rows);
  }
  console.log('');
  for (const l of report.lines) console.log(l);
  console.log(`targets: ${counts.pass} pass, ${counts.miss} MISS, ${counts.notMeasured} not measured in this run`);
  console.log(`load average (1/5/15 min): ${loadStart.map((n) => n.toFixed(2)).join(' ')} at the start, ${loadEnd.map((n) => n.toFixed(2)).join(' ')} at the end; ${((Date.now() - started) / 1000).toFixed(0)} s`);
  const engineStats = Object.fromEntries(results.filter((r) => Object.keys(r.stats).length > 0).map((r) => [r.variant, r.stats]));
  if (Object.keys(engineStats).length > 0) console.log(`engine stats: ${JSON.stringify(engineStats)}`);

  if (flags['no-save']) return;
  const commandLine = `node dist/bench/lsm.js ${process.argv.slice(2).join(' ')}`.trim();
  const file = writeResults('lsm', {
    num: NUM,
    reads: READS,
    syncs: SYNCS,
    keySize: KEY_SIZE,
    valueSize: VALUE_SIZE,
    inProcess,
    commandLine,
    seconds: Math.round((Date.now() - started) / 1000),
    loadAvg: { start: loadStart, end: loadEnd },
    apis: Object.fromEntries(variants.map((v) => [v, API_USED[v]])),
    memoryBudget: budget,
    targets: verdicts,
    tally: counts,
    figures,
    variants: results,
    engineStats,
  }, flags['results-file']);
  const saved = JSON.parse(fs.readFileSync(file, 'utf8')) as { date: string; commit: string; machine: { cpu?: string; cpus: number; memGiB: number; node: string } };
  const md = file.replace(/\.json$/, '.md');
  fs.writeFileSync(
    md,
    markdownReport(report, {
      date: saved.date,
      commit: saved.commit,
      commandLine,
      machine: `${saved.machine.cpu ?? 'unknown CPU'}, ${saved.machine.cpus} cores, ${saved.machine.memGiB} GiB, ${os.type()} ${os.release()}; node ${saved.machine.node}`,
      settings: settingsText,
      loadAvg: { start: loadStart, end: loadEnd },
      apis: variants.map((v) => `${v}: ${API_USED[v]}`),
      tally: counts,
    }),
  );
  console.log(`results: ${file}\n         ${md}`);
}

const childVariant = flags.child;
(childVariant !== undefined ? child(childVariant as Variant) : main()).catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
