/**
 * Soak test (issue 12): does a node's memory, open-file count and size on disk stay flat under a long
 * mixed workload with periodic crashes, once the data set is stable?
 *
 *   npm run soak [-- --minutes 10 | --seconds 120] [--fault-every 60 --down-seconds 5 --settle-seconds 30
 *                   --keys 20000 --value-size 1024 --concurrency 32 --sample-every 5 --seed 1 --no-save]
 *
 * 1. Starts a local 3-node cluster (bench/lib/local-cluster.ts: `mydatastore server` processes on
 *    127.0.0.1, a fresh temporary data directory) and puts every key once (W=2), so the data set has its
 *    final size before the clock starts: the key space is fixed, every later put overwrites.
 * 2. For --minutes (default 10; --seconds for short runs) runs YCSB A through the TypeScript client:
 *    50% gets, 50% puts of 1 KiB random values, keys by scrambled zipfian, R=W=2, --concurrency requests
 *    in flight (bench/lib/mixed-load.ts). A failed request is counted by error code, never fatal.
 * 3. Every --fault-every seconds (default 60) kills one node with SIGKILL, round-robin, leaves it down
 *    --down-seconds (its peers store hints meanwhile), and restarts it on the same port and data
 *    directory (bench/lib/node-restart.ts): hint replay, read repair and anti-entropy bring it back.
 * 4. Every --sample-every seconds (default 5) reads each node's RSS (/proc/<pid>/status VmRSS), open
 *    fds (/proc/<pid>/fd) and data directory size (every file, recursively), and the client's ops/s
 *    and errors over the interval.
 * 5. Verdict (bench/lib/soak-verdict.ts): the first 30% of the run (at least a minute, at most a third
 *    of it) is warm-up; of the rest, per node and metric, the median of the last quarter of the samples
 *    against the median of the first quarter, and the least-squares slope over the span, must stay
 *    within each metric's bound (printed with the reason for it). A node's samples while it is down and
 *    for --settle-seconds (default 30) after its restart are left out: a restarted process starts small
 *    and takes that long to grow back to its peers' RSS.
 *
 * Prints a table (node, metric, start and end of the steady part, growth, slope per minute, verdict) and
 * writes bench/results/soak-<date>-<commit>.json with every sample (unless --no-save). Exit code 0 when
 * every metric of every node is flat, 1 otherwise (a metric without enough steady samples is not flat).
 * The nodes are stopped at the end, on an error and on Ctrl-C / SIGTERM; if the bench is killed outright
 * they notice their stdin pipe closing and stop themselves.
 */
import os from 'node:os';
import { join } from 'node:path';
import { Client } from '../client/index.js';
import { numberFlag, parseFlags, refuse } from './lib/cli-flags.js';
import { SETTINGS, mydatastoreTarget } from './lib/kv-target.js';
import { startLocalCluster } from './lib/local-cluster.js';
import type { LocalCluster, LocalNode } from './lib/local-cluster.js';
import { MixedLoad } from './lib/mixed-load.js';
import type { IntervalCounts } from './lib/mixed-load.js';
import { holdPort, isRunning, killNode, portOf, restartNode } from './lib/node-restart.js';
import { dirBytes, fdKinds, openFds, rssBytes } from './lib/proc-usage.js';
import { Progress } from './lib/progress.js';
import { printTable, writeResults } from './lib/report.js';
import { seededRandom } from './lib/rng.js';
import { BOUNDS, describeBound, formatAmount, judge, steadyPoints, warmupSeconds } from './lib/soak-verdict.js';
import type { MetricName, MetricVerdict, Point, Window } from './lib/soak-verdict.js';
import { keyOf } from './lib/ycsb.js';

interface Options {
  runSeconds: number;
  faultEverySeconds: number;
  downSeconds: number;
  settleSeconds: number;
  keys: number;
  valueSize: number;
  concurrency: number;
  sampleEverySeconds: number;
  deadlineMs: number;
  seed: number;
  save: boolean;
}

const USAGE = `usage: npm run soak [-- options]

A long mixed workload (YCSB A) on a local 3-node cluster with a node killed and restarted every
--fault-every seconds; checks that each node's RSS, open files and size on disk stay flat. Exit code 0
when every metric of every node is flat, 1 otherwise.

  --minutes N          length of the run (default 10)
  --seconds N          length of the run in seconds, for short runs (at least 10)
  --fault-every S      seconds between node kills (default 60)
  --down-seconds S     how long a killed node stays down (default 5)
  --settle-seconds S   samples left out after a restart (default 30)
  --keys N             keys (default 20000)
  --value-size N       bytes per value (default 1024)
  --concurrency N      requests in flight (default 32)
  --sample-every S     seconds between samples (default 5)
  --deadline-ms N      per-request deadline (default 5000)
  --seed N             key-choice seed (default 1)
  --no-save            print only, write no results file
  --help               this text`;

/** A bad value for a flag: refused with the usage (exit 2). */
const badFlag = (why: string): never => refuse('soak', USAGE, why);

function options(): Options {
  const { values } = parseFlags('soak', USAGE, {
    minutes: { type: 'string' },
    seconds: { type: 'string' },
    'fault-every': { type: 'string' },
    'down-seconds': { type: 'string' },
    'settle-seconds': { type: 'string' },
    keys: { type: 'string' },
    'value-size': { type: 'string' },
    concurrency: { type: 'string' },
    'sample-every': { type: 'string' },
    'deadline-ms': { type: 'string' },
    seed: { type: 'string' },
    'no-save': { type: 'boolean', default: false },
  });
  const num = (name: keyof typeof values, dflt: number, min: number): number => numberFlag('soak', USAGE, name, values[name], dflt, { min });
  if (values.minutes !== undefined && values.seconds !== undefined) badFlag('give --minutes or --seconds, not both');
  const runSeconds = values.seconds !== undefined ? num('seconds', 0, 10) : num('minutes', 10, 0.5) * 60;
  return {
    runSeconds,
    faultEverySeconds: num('fault-every', 60, 5),
    downSeconds: num('down-seconds', 5, 0),
    // Measured here: a restarted node's RSS takes 30-40 s under load to grow back to its peers' (caches,
    // the V8 heap), so with less its regrowth reads as a leak.
    settleSeconds: num('settle-seconds', 30, 0),
    keys: Math.floor(num('keys', 20_000, 1)),
    valueSize: Math.floor(num('value-size', 1024, 1)),
    concurrency: Math.floor(num('concurrency', 32, 1)),
    sampleEverySeconds: num('sample-every', 5, 1),
    deadlineMs: num('deadline-ms', 5000, 1),
    seed: Math.floor(num('seed', 1, 0)),
    save: values['no-save'] !== true,
  };
}

/** One reading of one node; undefined figures: the node was down. */
interface NodeSample {
  id: string;
  pid: number;
  up: boolean;
  rssBytes?: number;
  fds?: number;
  /** The open fds by kind (socket, file, pipe, anon). */
  fdKinds?: Record<string, number>;
  diskBytes: number;
}

interface Sample {
  /** Seconds since the run started. */
  t: number;
  nodes: NodeSample[];
  /** The client over the interval since the previous sample. */
  opsPerSec: number;
  client: IntervalCounts;
}

interface Fault {
  node: string;
  /** Seconds since the run started: SIGKILL sent, restart spawned, listening again. */
  killedAt: number;
  restartedAt?: number;
  listeningAt?: number;
  /** Restart attempts that failed before one listened (or all of them). */
  failedRestarts: string[];
}

interface Row {
  node: string;
  metric: MetricName;
  verdict: MetricVerdict;
}

let cluster: LocalCluster | undefined;
const progress = new Progress();
/** Set at the end of the run or by a signal: no further fault, no restart spawned. */
let finishing = false;

function onSignal(signal: NodeJS.Signals): void {
  finishing = true;
  progress.stop();
  process.stderr.write(`\n${signal}: stopping the soak cluster\n`);
  void Promise.allSettled([cluster?.stop()]).finally(() => process.exit(130));
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const MiB = 1024 * 1024;

async function main(): Promise<void> {
  const opts = options();
  const loadBefore = os.loadavg()[0]!;
  for (const s of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(s, onSignal);

  process.stderr.write('starting a local 3-node cluster ...\n');
  cluster = await startLocalCluster(3);
  const c = cluster;
  process.stderr.write(`cluster ready: ${c.nodes.map((n) => `${n.id} ${n.address}`).join(', ')} (data in ${c.dir})\n`);

  const client = new Client({ seeds: c.nodes.map((n) => n.address), defaultDeadlineMs: opts.deadlineMs });
  const keys = Array.from({ length: opts.keys }, (_, i) => keyOf(i));
  const load = new MixedLoad({ target: mydatastoreTarget(client, SETTINGS[0]!, opts.deadlineMs), keys, valueSize: opts.valueSize, concurrency: opts.concurrency, readFraction: 0.5, random: seededRandom(opts.seed) });
  const samples: Sample[] = [];
  const faults: Fault[] = [];
  /** Keys the load could not write (retries included). */
  const loadOutcome = { failed: 0 };
  let t0 = 0;
  try {
    let loaded = 0;
    progress.start('load', () => ({ fraction: loaded / keys.length, text: `${loaded.toLocaleString('en-US')} of ${keys.length.toLocaleString('en-US')} keys` }));
    loadOutcome.failed = await load.loadAll((n) => (loaded = n));
    progress.stop();
    process.stderr.write(`loaded ${keys.length.toLocaleString('en-US')} keys${loadOutcome.failed === 0 ? '' : ` (${loadOutcome.failed} could not be written)`}\n`);

    t0 = Date.now();
    const now = () => (Date.now() - t0) / 1000;
    load.start();
    let errorsSoFar = 0;
    progress.start('soak', () => {
      const last = samples.at(-1);
      const rss = last?.nodes.map((n) => (n.rssBytes === undefined ? `${n.id} down` : `${n.id} ${Math.round(n.rssBytes / MiB)} MiB`)).join(', ') ?? '';
      return { fraction: now() / opts.runSeconds, text: `${Math.round(last?.opsPerSec ?? 0).toLocaleString('en-US')} ops/s, ${errorsSoFar} errors, ${faults.length} faults; RSS ${rss}` };
    });
    const sampler = (async () => {
      let lastAt = Date.now();
      for (let k = 0; ; k++) {
        const due = t0 + k * opts.sampleEverySeconds * 1000;
        if (due > t0 + opts.runSeconds * 1000) return;
        await sleep(Math.max(0, due - Date.now()));
        const at = Date.now();
        const counts = load.take();
        errorsSoFar += counts.errors;
        const opsPerSec = k === 0 ? 0 : counts.ok / Math.max((at - lastAt) / 1000, 1e-3);
        lastAt = at;
        samples.push({ t: (at - t0) / 1000, nodes: await Promise.all(c.nodes.map((n) => sampleNode(n, c.dir))), opsPerSec, client: counts });
      }
    })();
    const faulter = runFaults(c, opts, now, faults);
    await sampler;
    finishing = true;
    await load.stop();
    await faulter;
  } finally {
    progress.stop();
    finishing = true;
    await client.close();
  }

  const warmup = warmupSeconds(opts.runSeconds);
  const rows = verdicts(samples, faults, warmup, opts);
  const allFlat = rows.every((r) => r.verdict.flat === true);
  const totals = clientTotals(samples);

  console.log(`\nMyDataStore soak: 3 nodes, ${fmtSeconds(opts.runSeconds)} of YCSB A (50% get, 50% put at R=W=2), ${opts.keys.toLocaleString('en-US')} keys of 16 B with ${opts.valueSize} B values, ${opts.concurrency} requests in flight`);
  console.log(`faults: SIGKILL one node every ${opts.faultEverySeconds} s (round-robin), down ${opts.downSeconds} s, restarted on its port and data: ${faultLine(faults)}`);
  console.log(`warm-up: the first ${warmup.toFixed(0)} s; steady part ${warmup.toFixed(0)}-${opts.runSeconds.toFixed(0)} s, sampled every ${opts.sampleEverySeconds} s; a node's samples while down and ${opts.settleSeconds} s after its restart left out`);
  console.log('bounds (start and end: medians of the first and last quarter of the steady samples; growth = end - start; trend = least-squares slope x span; both must be within):');
  for (const b of BOUNDS) console.log(`  ${b.label}: ${describeBound(b)} (${b.why})`);
  console.log('');
  printTable(['node', 'metric', 'samples', 'start', 'end', 'growth', 'slope/min', 'trend', 'verdict'], rows.map(tableRow));
  console.log(`\nopen fds by kind, first and last steady sample: ${fdKindLine(samples, warmup)}`);
  console.log(`client: ${totals.ok.toLocaleString('en-US')} operations, ${Math.round(totals.ok / opts.runSeconds).toLocaleString('en-US')} ops/s on average (5 s intervals: min ${Math.round(totals.minOps).toLocaleString('en-US')}, median ${Math.round(totals.medianOps).toLocaleString('en-US')}); ${errorSummary(totals.errorsByCode)}`);
  for (const [code, example] of Object.entries(load.errorExamples)) console.log(`  ${code}: ${example.split('\n')[0]}`);
  if (loadOutcome.failed > 0) console.log(`load: ${loadOutcome.failed} keys could not be written before the run`);
  console.log(`machine load (1-minute average): ${loadBefore.toFixed(1)} at the start, ${os.loadavg()[0]!.toFixed(1)} at the end, on ${os.cpus().length} cores`);
  console.log(allFlat ? '\nverdict: every metric of every node is flat' : '\nverdict: NOT FLAT (see the rows above)');
  process.exitCode = allFlat ? 0 : 1;
  if (!opts.save) return;

  const commandLine = ['npm run soak', ...(process.argv.length > 2 ? ['--', ...process.argv.slice(2)] : [])].join(' ');
  const json = writeResults('soak', {
    commandLine,
    options: opts,
    warmupSeconds: warmup,
    bounds: BOUNDS,
    verdicts: rows,
    allFlat,
    faults,
    client: { ...totals, errorExamples: load.errorExamples, failedLoads: loadOutcome.failed },
    machineLoad: { start: loadBefore, end: os.loadavg()[0]! },
    samples,
  });
  console.log(`results: ${json}`);
}

async function sampleNode(node: LocalNode, dir: string): Promise<NodeSample> {
  const diskBytes = await dirBytes(join(dir, node.id));
  const up = isRunning(node);
  const rss = up ? rssBytes(node.pid) : undefined;
  const fds = up ? openFds(node.pid) : undefined;
  const kinds = up ? fdKinds(node.pid) : undefined;
  return { id: node.id, pid: node.pid, up: up && rss !== undefined, ...(rss === undefined ? {} : { rssBytes: rss }), ...(fds === undefined ? {} : { fds }), ...(kinds === undefined ? {} : { fdKinds: kinds }), diskBytes };
}

/**
 * Kills node k mod 3 at k x faultEvery seconds (k = 1, 2, ...), for as long as it would be back before
 * the run ends; restarts it after downSeconds (up to 3 attempts). Replaces the node in the cluster's
 * list as soon as the new process is spawned, so that cluster.stop() stops it.
 */
async function runFaults(c: LocalCluster, opts: Options, now: () => number, faults: Fault[]): Promise<void> {
  for (let k = 1; ; k++) {
    const at = k * opts.faultEverySeconds;
    if (at + opts.downSeconds >= opts.runSeconds) return;
    while (!finishing && now() < at) await sleep(Math.min(500, (at - now()) * 1000));
    if (finishing) return;
    const i = (k - 1) % c.nodes.length;
    const victim = c.nodes[i]!;
    const fault: Fault = { node: victim.id, killedAt: now(), failedRestarts: [] };
    faults.push(fault);
    await killNode(victim);
    const release = await holdPort(portOf(victim));
    await sleep(opts.downSeconds * 1000);
    await release();
    for (let attempt = 1; attempt <= 3 && !finishing; attempt++) {
      const seeds = c.nodes.filter((n) => n.id !== victim.id).map((n) => n.address);
      const restarted = restartNode(victim, c.dir, seeds);
      c.nodes[i] = restarted.node;
      fault.restartedAt = now();
      try {
        await restarted.listening;
        fault.listeningAt = now();
        break;
      } catch (err) {
        fault.failedRestarts.push(err instanceof Error ? err.message.split('\n')[0]! : String(err));
        process.stderr.write(`\n${victim.id}: restart ${attempt} failed: ${err instanceof Error ? err.message : String(err)}\n`);
        await killNode(restarted.node);
        await sleep(1000);
      }
    }
  }
}

/** Each node's windows to leave out: from its kill to settleSeconds after it listened again (or to the end). */
function excludedWindows(faults: readonly Fault[], node: string, settleSeconds: number): Window[] {
  return faults.filter((f) => f.node === node).map((f) => [f.killedAt, f.listeningAt === undefined ? Infinity : f.listeningAt + settleSeconds] as const);
}

function verdicts(samples: readonly Sample[], faults: readonly Fault[], warmup: number, opts: Options): Row[] {
  const ids = samples[0]?.nodes.map((n) => n.id) ?? [];
  const rows: Row[] = [];
  for (const id of ids) {
    const excluded = excludedWindows(faults, id, opts.settleSeconds);
    for (const bound of BOUNDS) {
      const points: Point[] = [];
      for (const s of samples) {
        const n = s.nodes.find((x) => x.id === id);
        if (n === undefined || !n.up) continue;
        const v = bound.metric === 'rss' ? n.rssBytes : bound.metric === 'fds' ? n.fds : n.diskBytes;
        if (v !== undefined) points.push({ t: s.t, v });
      }
      rows.push({ node: id, metric: bound.metric, verdict: judge(steadyPoints(points, warmup, excluded), bound) });
    }
  }
  return rows;
}

function tableRow(r: Row): string[] {
  const bound = BOUNDS.find((b) => b.metric === r.metric)!;
  const v = r.verdict;
  const amount = (x: number, signed = false) => formatAmount(x, bound.unit, signed);
  const verdict = v.flat === undefined ? `n/a (${v.reason})` : v.flat ? 'flat' : `GROWING (${v.reason})`;
  return [r.node, bound.label, String(v.samples), amount(v.start), amount(v.end), amount(v.growth, true), amount(v.slopePerMin, true), amount(v.trend, true), verdict];
}

function clientTotals(samples: readonly Sample[]): { ok: number; errors: number; errorsByCode: Record<string, number>; minOps: number; medianOps: number } {
  const errorsByCode: Record<string, number> = {};
  let ok = 0;
  let errors = 0;
  for (const s of samples) {
    ok += s.client.ok;
    errors += s.client.errors;
    for (const [code, n] of Object.entries(s.client.errorsByCode)) errorsByCode[code] = (errorsByCode[code] ?? 0) + n;
  }
  const rates = samples.slice(1).map((s) => s.opsPerSec).sort((a, b) => a - b);
  return { ok, errors, errorsByCode, minOps: rates[0] ?? 0, medianOps: rates[Math.floor(rates.length / 2)] ?? 0 };
}

/** Per node: its fds by kind in the first steady sample where it was up, and in the last. */
function fdKindLine(samples: readonly Sample[], warmup: number): string {
  const ids = samples[0]?.nodes.map((n) => n.id) ?? [];
  const kinds = (k: Record<string, number> | undefined) =>
    k === undefined ? '-' : Object.entries(k).sort(([a], [b]) => a.localeCompare(b)).map(([kind, n]) => `${kind} ${n}`).join(', ');
  return ids
    .map((id) => {
      const up = samples.filter((s) => s.t >= warmup).map((s) => s.nodes.find((n) => n.id === id)).filter((n) => n?.up === true);
      return `${id} ${kinds(up[0]?.fdKinds)} -> ${kinds(up.at(-1)?.fdKinds)}`;
    })
    .join('; ');
}

function errorSummary(byCode: Record<string, number>): string {
  const entries = Object.entries(byCode);
  if (entries.length === 0) return 'no errors';
  return `errors: ${entries.map(([code, n]) => `${n.toLocaleString('en-US')} ${code}`).join(', ')}`;
}

function faultLine(faults: readonly Fault[]): string {
  if (faults.length === 0) return 'none (the run is shorter than one fault period)';
  return faults
    .map((f) => {
      const back = f.listeningAt === undefined ? 'never back' : `back at ${f.listeningAt.toFixed(0)} s`;
      const failed = f.failedRestarts.length === 0 ? '' : `, ${f.failedRestarts.length} failed restarts`;
      return `${f.node} killed at ${f.killedAt.toFixed(0)} s, ${back}${failed}`;
    })
    .join('; ');
}

function fmtSeconds(s: number): string {
  return s >= 120 && s % 60 === 0 ? `${s / 60} minutes` : `${s} s`;
}

async function run(): Promise<void> {
  try {
    await main();
  } catch (err) {
    process.exitCode = 1;
    console.error(err instanceof Error ? (err.stack ?? err.message) : err);
    if (cluster !== undefined) console.error(`node logs:\n${cluster.logTails()}`);
  } finally {
    finishing = true;
    await cluster?.stop();
    for (const s of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.off(s, onSignal);
  }
}

void run();
