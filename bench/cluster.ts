/**
 * YCSB-style benchmark of a 3-node MyDataStore cluster (issue 7, "Figures"):
 *
 *   npm run bench:cluster [-- --quick | --keys 100000 --value-size 1024 --concurrency 64 --duration 20
 *                           --nodes-from 127.0.0.1:7001,127.0.0.1:7002 --seed 1 --no-save --profile-dir DIR]
 *
 * Starts its own cluster (bench/lib/local-cluster.ts: 3 server processes on 127.0.0.1, temp data dirs)
 * unless --nodes-from names a running one; loads every key with puts at W=2; then runs YCSB A, B and C
 * (bench/lib/ycsb.ts) at R=W=2 and at R=W=1 through the TypeScript client, `--concurrency` requests in
 * flight. Prints a table, writes bench/results/cluster-<date>-<commit>.json and a .md beside it. The
 * nodes are always stopped: at the end, on errors, and on Ctrl-C / SIGTERM.
 */
import os from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Client } from '../client/index.js';
import { fetchStatus } from '../tools/commands/status.js';
import { errorLines, HEADERS, markdownReport, rowOf, writeMarkdown } from './lib/cluster-report.js';
import { SETTINGS, mydatastoreTarget } from './lib/kv-target.js';
import { startLocalCluster, waitReady } from './lib/local-cluster.js';
import type { LocalCluster } from './lib/local-cluster.js';
import { Progress } from './lib/progress.js';
import { printTable, writeResults } from './lib/report.js';
import { seededRandom } from './lib/rng.js';
import { keyOf, runPhase, WORKLOADS } from './lib/ycsb.js';
import type { PhaseResult } from './lib/ycsb.js';

interface Options {
  keys: number;
  valueSize: number;
  concurrency: number;
  durationS: number;
  deadlineMs: number;
  seed: number;
  nodesFrom: string[] | undefined;
  workloads: string[];
  save: boolean;
  /** Each node writes V8 CPU profiles (main thread and worker) to DIR/<node id>/ (profile:cluster). */
  profileDir: string | undefined;
}

function options(): Options {
  const { values } = parseArgs({
    options: {
      quick: { type: 'boolean', default: false },
      keys: { type: 'string' },
      'value-size': { type: 'string' },
      concurrency: { type: 'string' },
      duration: { type: 'string' },
      'deadline-ms': { type: 'string' },
      seed: { type: 'string' },
      'nodes-from': { type: 'string' },
      workloads: { type: 'string' },
      'no-save': { type: 'boolean', default: false },
      'profile-dir': { type: 'string' },
    },
  });
  const num = (name: keyof typeof values, dflt: number, min = 1): number => {
    const raw = values[name];
    if (raw === undefined || typeof raw === 'boolean') return dflt;
    const v = Number(raw);
    if (!Number.isFinite(v) || v < min) throw new Error(`--${name} needs a number >= ${min}, got ${JSON.stringify(raw)}`);
    return v;
  };
  const quick = values.quick === true;
  const workloads = (values.workloads ?? WORKLOADS.map((w) => w.name).join(',')).split(',').map((w) => w.trim().toUpperCase());
  for (const w of workloads) if (!WORKLOADS.some((x) => x.name === w)) throw new Error(`--workloads: unknown workload ${w} (A, B or C)`);
  const nodesFrom = values['nodes-from']?.split(',').map((a) => a.trim()).filter((a) => a !== '');
  if (nodesFrom?.length === 0) throw new Error('--nodes-from needs host:port addresses, comma separated');
  return {
    keys: Math.floor(num('keys', quick ? 10_000 : 100_000)),
    valueSize: Math.floor(num('value-size', 1024, 0)),
    concurrency: Math.floor(num('concurrency', 64)),
    durationS: num('duration', quick ? 3 : 20, 0.1),
    deadlineMs: num('deadline-ms', 5000),
    seed: Math.floor(num('seed', 1, 0)),
    nodesFrom,
    workloads,
    save: values['no-save'] !== true,
    profileDir: values['profile-dir'],
  };
}

let cluster: LocalCluster | undefined;

/** Ctrl-C, SIGTERM, SIGHUP: stop the nodes we started, then exit. */
function onSignal(signal: NodeJS.Signals): void {
  process.stderr.write(`\n${signal}: stopping the bench cluster\n`);
  void (cluster?.stop() ?? Promise.resolve()).finally(() => process.exit(130));
}

async function main(): Promise<void> {
  const opts = options();
  const loadBefore = os.loadavg()[0]!;
  for (const s of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(s, onSignal);
  let addresses: string[];
  if (opts.nodesFrom === undefined) {
    process.stderr.write('starting a local 3-node cluster ...\n');
    const t0 = Date.now();
    const nodeFlags = opts.profileDir === undefined ? [] : ['--cpu-prof', `--cpu-prof-dir=${join(opts.profileDir, '{id}')}`];
    cluster = await startLocalCluster(3, 60_000, [], nodeFlags);
    addresses = cluster.nodes.map((n) => n.address);
    process.stderr.write(`cluster ready in ${Date.now() - t0} ms: ${addresses.join(', ')} (data in ${cluster.dir})\n`);
  } else {
    addresses = opts.nodesFrom;
    process.stderr.write(`waiting for the cluster at ${addresses.join(', ')} to serve a put at ALL ...\n`);
    await waitReady(addresses, 1, 60_000);
  }
  const status = await fetchStatus(addresses[0]!, 5000);
  const cfg = status.config;
  const serverPids = cluster?.nodes.map((n) => n.pid);
  const client = new Client({ seeds: addresses, defaultDeadlineMs: opts.deadlineMs });
  const progress = new Progress();
  const random = seededRandom(opts.seed);
  const keys = Array.from({ length: opts.keys }, (_, i) => keyOf(i));
  const value = Buffer.alloc(opts.valueSize);
  for (let i = 0; i < value.length; i++) value[i] = Math.floor(random() * 256); // incompressible
  const common = { keys, value, concurrency: opts.concurrency, random, progress, ...(serverPids === undefined ? {} : { serverPids }) };
  const results: PhaseResult[] = [];
  const report = (r: PhaseResult) => {
    results.push(r);
    const errs = r.errors === 0 ? '' : `, ${r.errors} errors`;
    process.stderr.write(`  ${r.workload} ${r.setting}: ${Math.round(r.opsPerSec).toLocaleString('en-US')} ops/s, p99 ${r.latencyMs.p99.toFixed(2)} ms${errs}\n`);
  };
  try {
    const [quorum, one] = SETTINGS.map((s) => mydatastoreTarget(client, s, opts.deadlineMs));
    report(await runPhase({ ...common, workload: 'load', target: quorum! }));
    for (const target of [quorum!, one!]) {
      for (const w of WORKLOADS.filter((x) => opts.workloads.includes(x.name))) {
        report(await runPhase({ ...common, workload: w.name, target, durationMs: opts.durationS * 1000, readFraction: w.readFraction }));
      }
    }
  } finally {
    await client.close();
  }

  const title = `MyDataStore cluster bench: YCSB A/B/C, ${addresses.length} nodes (N=${cfg.replicas}, default R=${cfg.readQuorum}, W=${cfg.writeQuorum}, ${cfg.partitions} partitions)`;
  console.log(`\n${title}`);
  console.log(`${opts.keys.toLocaleString('en-US')} keys of 16 B, values of ${opts.valueSize} B, ${opts.concurrency} requests in flight, ${opts.durationS} s per workload, scrambled zipfian (0.99)\n`);
  printTable(HEADERS, results.map(rowOf));
  const errs = errorLines(results);
  console.log(errs.length === 0 ? '\nerrors: none' : `\nerrors:\n${errs.map((e) => `  ${e}`).join('\n')}`);
  console.log(`machine load (1-minute average): ${loadBefore.toFixed(1)} at the start, ${os.loadavg()[0]!.toFixed(1)} at the end, on ${os.cpus().length} cores`);
  if (!opts.save) return;

  const commandLine = ['npm run bench:cluster', ...(process.argv.length > 2 ? ['--', ...process.argv.slice(2)] : [])].join(' ');
  const settings = {
    cluster: opts.nodesFrom === undefined ? `started by the bench: ${addresses.length} local processes on 127.0.0.1, client in the bench process on the same machine` : `running cluster at ${addresses.join(',')}`,
    config: `N=${cfg.replicas}, R=${cfg.readQuorum}, W=${cfg.writeQuorum}, ${cfg.partitions} partitions`,
    keys: `${opts.keys} keys of 16 B, values ${opts.valueSize} B`,
    load: `${opts.concurrency} requests in flight, scrambled zipfian key choice (theta 0.99, YCSB's), seed ${opts.seed}`,
    duration: `${opts.durationS} s per workload; load = one put at W=2 (QUORUM) per key`,
    'machine load': `1-minute load average ${loadBefore.toFixed(1)} at the start, ${os.loadavg()[0]!.toFixed(1)} at the end (other work on the machine skews ops/s and latency; CPU µs/op less so)`,
  };
  const date = new Date().toISOString();
  const json = writeResults('cluster', { commandLine, options: opts, clusterStatus: status, settings, results });
  const notes = [
    'Workloads (YCSB core): A = 50% read / 50% update, B = 95% read / 5% update, C = 100% read; an update is a put of the whole value.',
    'ops/s counts successful operations; failed ones are in "errors" (by code above) and not in the latency figures.',
    'CPU µs/op: CPU time of every server process (from /proc) and of the client process during the phase, divided by its successful operations.',
  ];
  const md = writeMarkdown(json, markdownReport({ title, commandLine, date, settings, results, notes }));
  console.log(`\nresults: ${json}\n         ${md}`);
}

async function run(): Promise<void> {
  try {
    await main();
  } catch (err) {
    process.exitCode = 1;
    console.error(err instanceof Error ? (err.stack ?? err.message) : err);
    if (cluster !== undefined) console.error(`node logs:\n${cluster.logTails()}`);
  } finally {
    await cluster?.stop();
    for (const s of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.off(s, onSignal);
  }
}

void run();
