/**
 * The bench suite (issue 11): runs the LSM, RPC and cluster benches one after another, each in its own
 * child process with a progress bar, collects the JSON each writes, and writes one result for the run:
 *
 *   npm run bench [-- lsm rpc cluster] [--quick] [--peers | --no-peers]
 *
 *   bench/results/<date>-<commit>.json   every bench's saved results, the machine, the load average
 *   bench/results/<date>-<commit>.md     the report: comparison with the previous run, charts, tables
 *   bench/results/<date>-<commit>/*.svg  the report's charts
 *
 * Names pick benches (default all three). `--quick` runs each with small sizes (about a minute in all, a
 * smoke run); the full run is each bench's defaults, the cluster bench with `--peers` (etcd and Redis,
 * those installed). The report compares every figure with the newest earlier suite result of the same
 * mode that ran one of these benches, and flags each move of more than 10% (on the console too).
 * Each bench's own output (its tables) is printed when it finishes; the exit code is 1 if any failed.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseFlags, refuse } from './lib/cli-flags.js';
import { Progress } from './lib/progress.js';
import { gitCommit, machineFacts, RESULTS_DIR } from './lib/report.js';
import { suiteCharts } from './lib/suite-charts.js';
import { compareFigures, moveLines, summaryLine } from './lib/suite-compare.js';
import { suiteFigures } from './lib/suite-figures.js';
import { suiteMarkdown } from './lib/suite-report.js';
import { BENCHES, type BenchName, type BenchRun, BenchSuiteError, findPrevious, type SuiteResult, suiteFileName } from './lib/suite-results.js';

/** Each bench's flags in a quick run: a smoke run of the whole path, about a minute in all. */
const QUICK_ARGS: Record<BenchName, string[]> = {
  lsm: ['--num', '20000', '--reads', '5000', '--syncs', '200', '--engines', 'ours,classic'],
  rpc: ['--seconds', '1', '--rounds', '1'],
  cluster: ['--quick', '--keys', '5000', '--duration', '2'],
};
const FULL_ARGS: Record<BenchName, string[]> = { lsm: [], rpc: [], cluster: [] };

/** Seconds each bench takes here when no earlier run says (the progress bar's estimate). */
const GUESS_SECONDS: Record<'quick' | 'full', Record<BenchName, number>> = {
  quick: { lsm: 25, rpc: 15, cluster: 45 },
  full: { lsm: 660, rpc: 80, cluster: 600 },
};

interface Options {
  benches: BenchName[];
  quick: boolean;
  peers: boolean;
}

const USAGE = `usage: npm run bench [-- ${BENCHES.join(' ')}] [--quick] [--peers | --no-peers]

Runs the LSM, RPC and cluster benches one after another (names pick some; default all three), each in
its own process, and writes one report for the run to bench/results/<date>-<commit>.md (JSON and charts
beside it), compared with the previous run of the same mode.

  --quick              small sizes: a smoke run of about a minute
  --peers              the cluster bench also measures etcd and Redis (default in a full run)
  --no-peers           it does not
  --help               this text`;

/** A bad command line: refused with the usage (exit 2). */
const badArgs = (why: string): never => refuse('bench', USAGE, why);

function options(): Options {
  const parsed = parseFlags('bench', USAGE, { quick: { type: 'boolean', default: false }, peers: { type: 'boolean' }, 'no-peers': { type: 'boolean' } }, { allowPositionals: true });
  const { values, positionals } = parsed;
  for (const p of positionals) {
    if (!(BENCHES as readonly string[]).includes(p)) badArgs(`unknown bench "${p}" (one of ${BENCHES.join(', ')})`);
  }
  const quick = values.quick === true;
  if (values.peers === true && values['no-peers'] === true) badArgs('--peers and --no-peers together');
  return {
    benches: BENCHES.filter((b) => positionals.length === 0 || positionals.includes(b)),
    quick,
    // Peers cost a cluster's start and a whole set of phases each: in the full run only, unless asked.
    peers: values.peers === true || (!quick && values['no-peers'] !== true),
  };
}

function argsOf(bench: BenchName, o: Options): string[] {
  const args = [...(o.quick ? QUICK_ARGS : FULL_ARGS)[bench]];
  if (bench === 'cluster' && o.peers) args.push('--peers');
  return args;
}

/** The running bench, so that a signal can be passed on to it (the cluster bench stops its nodes). */
let child: ReturnType<typeof spawn> | undefined;
let interrupted = false;

/**
 * Runs one bench in a child process, its results to `file`. Its output is kept, not shown: the last
 * line is the progress bar's text, stdout is printed when it ends, and stderr's tail on a failure.
 */
async function runBench(bench: BenchName, args: string[], file: string, label: string, estimateS: number): Promise<{ exitCode: number; seconds: number }> {
  const script = join(fileURLToPath(new URL('.', import.meta.url)), `${bench}.js`);
  const started = Date.now();
  let last = '';
  let stdout = '';
  const stderrTail: string[] = [];
  const lastLine = (chunk: string) => {
    const lines = chunk.split(/[\r\n]+/).map((l) => l.trim()).filter((l) => l !== '');
    if (lines.length > 0) last = lines.at(-1)!;
    return lines;
  };
  const progress = new Progress();
  progress.start(label, () => ({ fraction: Math.min(0.99, (Date.now() - started) / 1000 / estimateS), text: last }));
  const exitCode = await new Promise<number>((resolve) => {
    child = spawn(process.execPath, ['--enable-source-maps', script, ...args, '--results-file', file], { stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout!.setEncoding('utf8').on('data', (d: string) => {
      stdout += d;
      lastLine(d);
    });
    child.stderr!.setEncoding('utf8').on('data', (d: string) => {
      stderrTail.push(...lastLine(d));
      stderrTail.splice(0, Math.max(0, stderrTail.length - 40));
    });
    child.on('error', (err) => {
      stderrTail.push(err.message);
      resolve(1);
    });
    child.on('close', (code, signal) => resolve(code ?? (signal === null ? 1 : 128 + (os.constants.signals[signal] ?? 0))));
  });
  child = undefined;
  progress.stop();
  const seconds = Math.round((Date.now() - started) / 1000);
  process.stderr.write(`${label}: ${exitCode === 0 ? 'done' : `FAILED (exit ${exitCode})`} in ${seconds} s\n`);
  // The bench's own "results: <file>" lines name a temporary file the suite folds into its own result.
  const shown = stdout.split('\n').filter((l) => !l.includes(file.replace(/\.json$/, ''))).join('\n');
  process.stdout.write(shown.endsWith('\n') || shown === '' ? shown : `${shown}\n`);
  if (exitCode !== 0) process.stderr.write(`${bench}'s last output:\n${stderrTail.map((l) => `  ${l}`).join('\n')}\n`);
  return { exitCode, seconds };
}

async function main(): Promise<number> {
  const o = options();
  const started = new Date();
  const commit = gitCommit();
  const name = suiteFileName(started, commit);
  const loadStart = os.loadavg();
  // The run to compare with: the newest earlier one of the same mode that ran one of these benches.
  const previous = findPrevious(RESULTS_DIR, name, (r) => r.quick === o.quick && r.benches.some((b) => b.saved !== undefined && o.benches.includes(b.name)));
  process.stderr.write(
    `bench suite: ${o.benches.join(', ')}${o.quick ? ' (--quick)' : ''}${o.benches.includes('cluster') ? (o.peers ? ', cluster with peers' : ', cluster without peers') : ''}; ` +
      `${previous === undefined ? 'no earlier run to compare with' : `comparing with ${previous.file}`}; load average ${loadStart.map((n) => n.toFixed(2)).join(' ')}\n`,
  );

  const tmp = mkdtempSync(join(os.tmpdir(), 'bench-suite-'));
  const benches: BenchRun[] = [];
  const markdown: Partial<Record<BenchName, string>> = {};
  try {
    for (const [i, bench] of o.benches.entries()) {
      if (interrupted) break;
      const args = argsOf(bench, o);
      const file = join(tmp, `${bench}.json`);
      const estimate = previous?.result.benches.find((b) => b.name === bench)?.seconds ?? GUESS_SECONDS[o.quick ? 'quick' : 'full'][bench];
      const r = await runBench(bench, args, file, `[${i + 1}/${o.benches.length}] ${bench}`, Math.max(1, estimate));
      const run: BenchRun = { name: bench, args, exitCode: r.exitCode, seconds: r.seconds };
      try {
        if (existsSync(file)) run.saved = JSON.parse(readFileSync(file, 'utf8')) as unknown;
      } catch (err) {
        // A bench that died while writing its results: the run counts as failed, the suite goes on.
        console.error(`${bench}: unreadable results file (${String(err)})`);
        if (run.exitCode === 0) run.exitCode = 1;
      }
      const md = file.replace(/\.json$/, '.md');
      if (existsSync(md)) markdown[bench] = readFileSync(md, 'utf8');
      benches.push(run);
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  if (interrupted) return 130;

  const result: SuiteResult = {
    kind: 'bench-suite',
    format: 1,
    date: started.toISOString(),
    commit,
    quick: o.quick,
    commandLine: ['npm run bench', ...(process.argv.length > 2 ? ['--', ...process.argv.slice(2)] : [])].join(' '),
    machine: { ...machineFacts(), os: `${os.type()} ${os.release()}` },
    loadAvg: { start: loadStart, end: os.loadavg() },
    seconds: Math.round((Date.now() - started.getTime()) / 1000),
    benches,
  };
  // Only the benches this run ran: a bench left out is not a figure gone.
  const comparable = (runs: readonly BenchRun[]) => runs.filter((b) => o.benches.includes(b.name));
  const comparison = previous === undefined ? undefined : compareFigures(suiteFigures(comparable(previous.result.benches)), suiteFigures(benches));
  const charts = suiteCharts(benches);
  const base = join(RESULTS_DIR, name.replace(/\.json$/, ''));
  mkdirSync(base, { recursive: true });
  for (const c of charts.flatMap((x) => x.charts)) writeFileSync(join(base, c.file), c.svg);
  writeFileSync(`${base}.json`, JSON.stringify(result, null, 2) + '\n');
  const chartDir = name.replace(/\.json$/, '');
  writeFileSync(`${base}.md`, suiteMarkdown({ run: result, markdown, charts, chartDir, previous: previous === undefined || comparison === undefined ? undefined : { ...previous, comparison } }));

  console.log('');
  if (previous !== undefined && comparison !== undefined) {
    console.log(`compared with ${previous.file}: ${summaryLine(comparison)}`);
    for (const l of moveLines(comparison)) console.log(`  ${l}`);
  } else {
    console.log('no earlier suite result of this mode in bench/results/: nothing to compare with');
  }
  console.log(`load average (1/5/15 min): ${loadStart.map((n) => n.toFixed(2)).join(' ')} at the start, ${result.loadAvg.end.map((n) => n.toFixed(2)).join(' ')} at the end; ${result.seconds} s`);
  console.log(`results: ${base}.json\n         ${base}.md\n         ${base}/ (${charts.reduce((n, x) => n + x.charts.length, 0)} charts)`);
  return benches.every((b) => b.exitCode === 0) ? 0 : 1;
}

for (const s of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.on(s, () => {
    interrupted = true;
    process.stderr.write(`\n${s}: stopping the running bench\n`);
    child?.kill(s);
  });
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    console.error(err instanceof BenchSuiteError ? `bench suite: ${err.message}` : err);
    process.exitCode = 1;
  },
);
