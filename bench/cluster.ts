/**
 * YCSB-style benchmark of a 3-node MyDataStore cluster (issue 7, "Figures"):
 *
 *   npm run bench:cluster [-- --quick | --keys 100000 --value-size 1024 --concurrency 64 --duration 20
 *                           --nodes-from 127.0.0.1:7001,127.0.0.1:7002 --seed 1 --no-save --profile-dir DIR
 *                           --peers --results-file FILE]
 *
 * Starts its own cluster (bench/lib/local-cluster.ts: 3 server processes on 127.0.0.1, temp data dirs)
 * unless --nodes-from names a running one; loads every key with puts at W=2, then again with durable
 * puts at W=2 (each replica fdatasyncs before it acknowledges: a second `load` row); then W=2 puts of
 * zipfian keys, first as fast as they are answered (the `puts` row, the peak), then scheduled at half
 * that rate (open loop: the `half-peak` row, issue 13's latency at half of peak); then runs YCSB A, B
 * and C (bench/lib/ycsb.ts) at R=W=2 and at R=W=1 through the TypeScript client, `--concurrency`
 * requests in flight. Prints a table, writes bench/results/cluster-<date>-<commit>.json (or FILE) and a
 * .md beside it; each phase records its throughput per second (the bench suite's chart over time). The nodes are always stopped: at the end, on errors, and on Ctrl-C / SIGTERM.
 *
 * --peers: afterwards (our nodes stopped first), the same load and workloads against each installed peer
 * (bench/lib/peers/peers.ts: a 3-member etcd cluster, a Redis primary with 2 replicas), started and
 * stopped one after the other; their rows join the same table, grouped by workload. A peer whose
 * binary is missing is skipped with the package to install.
 */
import os from 'node:os';
import { join } from 'node:path';
import { Client } from '../client/index.js';
import { fetchStatus } from '../tools/commands/status.js';
import { numberFlag, parseFlags, refuse } from './lib/cli-flags.js';
import { errorLines, HEADERS, markdownReport, rowOf, writeMarkdown } from './lib/cluster-report.js';
import { clusterVerdicts, HALF_PEAK, PEAK_PUTS, verdictWord, type ClusterVerdict } from './lib/cluster-targets.js';
import { DURABLE_QUORUM, SETTINGS, mydatastoreTarget } from './lib/kv-target.js';
import { startLocalCluster, waitReady } from './lib/local-cluster.js';
import type { LocalCluster } from './lib/local-cluster.js';
import type { RunningPeer } from './lib/peers/peer-process.js';
import { locate, PEERS } from './lib/peers/peers.js';
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
  /** Also measure etcd and Redis (those installed) with the same load. */
  peers: boolean;
  /** Where to write the JSON (the bench suite's choice); default bench/results/cluster-<date>-<commit>.json. */
  resultsFile: string | undefined;
}

const USAGE = `usage: npm run bench:cluster [-- options]

YCSB-style workloads on a 3-node cluster it starts (or on running nodes), with issue 13's targets:
loads at W=2 (then durable), peak and half-peak puts, YCSB A, B and C at R=W=2 and R=W=1; a table on
stdout, results in bench/results/.

  --quick              small and short (10,000 keys, 3 s per workload)
  --keys N             keys loaded and used (default 100000)
  --value-size N       bytes per value (default 1024)
  --concurrency N      requests in flight (default 64)
  --duration S         seconds per workload (default 20)
  --deadline-ms N      per-request deadline (default 5000)
  --seed N             key-choice seed (default 1)
  --workloads A,B,C    only these YCSB workloads (default all)
  --nodes-from H:P,..  use a running cluster at these RPC addresses instead of starting one
  --peers              also measure etcd and Redis where installed (etcd-server etcd-client redis-server)
  --profile-dir DIR    each node writes V8 CPU profiles under DIR (npm run profile:cluster does this)
  --no-save            print only, write no results file
  --results-file F     write the JSON results to F (and F's .md)
  --help               this text`;

/** A bad value for a flag: refused with the usage (exit 2). */
const badFlag = (why: string): never => refuse('bench:cluster', USAGE, why);

function options(): Options {
  const { values } = parseFlags('bench:cluster', USAGE, {
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
    peers: { type: 'boolean', default: false },
    'results-file': { type: 'string' },
  });
  const num = (name: keyof typeof values, dflt: number, min = 1): number => numberFlag('bench:cluster', USAGE, name, values[name], dflt, { min });
  const quick = values.quick === true;
  const workloads = (values.workloads ?? WORKLOADS.map((w) => w.name).join(',')).split(',').map((w) => w.trim().toUpperCase());
  for (const w of workloads) if (!WORKLOADS.some((x) => x.name === w)) badFlag(`--workloads: unknown workload ${w} (A, B or C)`);
  const nodesFrom = values['nodes-from']?.split(',').map((a) => a.trim()).filter((a) => a !== '');
  if (nodesFrom?.length === 0) badFlag('--nodes-from needs host:port addresses, comma separated');
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
    peers: values.peers === true,
    resultsFile: values['results-file'],
  };
}

let cluster: LocalCluster | undefined;
/** The peer being measured (--peers), stopped like the cluster. */
let peer: RunningPeer | undefined;
/** Set by a signal: start no further peer while the running one stops. */
let signalled = false;

/** Ctrl-C, SIGTERM, SIGHUP: stop the nodes we started, then exit. */
function onSignal(signal: NodeJS.Signals): void {
  signalled = true;
  process.stderr.write(`\n${signal}: stopping the bench cluster\n`);
  void Promise.allSettled([cluster?.stop(), peer?.stop()]).finally(() => process.exit(130));
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
    // Warm-up, not reported: fresh processes run their first seconds unoptimised (JIT) and with empty
    // caches, which would bias whichever row came first against the others.
    await runPhase({ ...common, keys: keys.slice(0, Math.min(keys.length, 5000)), workload: 'load', target: quorum! });
    const load = await runPhase({ ...common, workload: 'load', target: quorum! });
    report(load);
    // Issue 13 judges durable puts apart (vs etcd): the same keys again, overwritten, each put fdatasynced.
    report(await runPhase({ ...common, workload: 'load', target: mydatastoreTarget(client, DURABLE_QUORUM, opts.deadlineMs) }));
    // Latency at half of peak (issue 13): first the peak, W=2 puts of zipfian keys as fast as they are
    // answered (closed loop: the 'puts' row), then the same puts scheduled at half that rate.
    const peak = await runPhase({ ...common, workload: PEAK_PUTS, target: quorum!, durationMs: opts.durationS * 1000, readFraction: 0 });
    report(peak);
    report(await runPhase({ ...common, workload: HALF_PEAK, target: quorum!, durationMs: opts.durationS * 1000, ratePerSec: peak.opsPerSec / 2 }));
    for (const target of [quorum!, one!]) {
      for (const w of WORKLOADS.filter((x) => opts.workloads.includes(x.name))) {
        report(await runPhase({ ...common, workload: w.name, target, durationMs: opts.durationS * 1000, readFraction: w.readFraction }));
      }
    }
  } finally {
    await client.close();
  }
  const peerNotes = opts.peers ? await benchPeers(opts, common, report) : [];

  const peersTitle = opts.peers ? ', beside etcd (3 members) and Redis (primary + 2 replicas)' : '';
  const title = `MyDataStore cluster bench: YCSB A/B/C, ${addresses.length} nodes (N=${cfg.replicas}, default R=${cfg.readQuorum}, W=${cfg.writeQuorum}, ${cfg.partitions} partitions)${peersTitle}`;
  console.log(`\n${title}`);
  console.log(`${opts.keys.toLocaleString('en-US')} keys of 16 B, values of ${opts.valueSize} B, ${opts.concurrency} requests in flight, ${opts.durationS} s per workload, scrambled zipfian (0.99)`);
  console.log(`load: one put per key at W=2 (QUORUM), then one durable put per key at W=2 (${DURABLE_QUORUM.name}: each replica fdatasyncs before it acknowledges)\n`);
  printTable(HEADERS, (opts.peers ? byWorkload(results) : results).map(rowOf));
  if (peerNotes.length > 0) console.log(`\npeers:\n${peerNotes.map((n) => `  ${n}`).join('\n')}`);
  const verdicts = clusterVerdicts(results);
  if (opts.peers) {
    console.log("\nissue 13's targets (a MISS says by how much; n/a: the run lacks the rows)");
    printTable(VERDICT_HEADERS, verdicts.map(verdictRow));
  }
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
    duration: `${opts.durationS} s per workload; load = one put at W=2 (QUORUM) per key, then (${DURABLE_QUORUM.name}) one durable put at W=2 per key, overwriting (each replica fdatasyncs before it acknowledges)`,
    ...(opts.peers ? { peers: peerNotes.join('; ') } : {}),
    'machine load': `1-minute load average ${loadBefore.toFixed(1)} at the start, ${os.loadavg()[0]!.toFixed(1)} at the end (other work on the machine skews ops/s and latency; CPU µs/op less so)`,
  };
  const date = new Date().toISOString();
  const json = writeResults('cluster', { commandLine, options: opts, clusterStatus: status, settings, results, ...(opts.peers ? { verdicts } : {}) }, opts.resultsFile);
  const notes = [
    'Workloads (YCSB core): A = 50% read / 50% update, B = 95% read / 5% update, C = 100% read; an update is a put of the whole value.',
    `${PEAK_PUTS}: W=2 puts of zipfian keys, closed loop (the peak); ${HALF_PEAK}: the same puts scheduled evenly at half of that row's ops/s (open loop: latency counts from each put's scheduled time).`,
    'ops/s counts successful operations; failed ones are in "errors" (by code above) and not in the latency figures.',
    'CPU µs/op: CPU time of every server process (from /proc) and of the client process during the phase, divided by its successful operations.',
  ];
  if (opts.peers) notes.push(`Peers: etcd puts are Raft commits fsynced on a majority (compare with our durable W=2 puts, the load row ${DURABLE_QUORUM.name}); its linearizable gets with our R=2 gets. Redis SET+WAIT 1 waits for one replica (compare with our default W=2 puts, the load row ${SETTINGS[0]!.name}); its GETs on the primary with our R=1 gets; its async SETs with our W=1 puts. A peer's load row writes every key with its first setting's put (etcd put; Redis SET+WAIT 1).`);
  if (opts.peers) {
    notes.push('', "Issue 13's targets:", '', `| ${VERDICT_HEADERS.join(' | ')} |`, `|${VERDICT_HEADERS.map(() => '---').join('|')}|`);
    for (const v of verdicts) notes.push(`| ${verdictRow(v).join(' | ')} |`);
  }
  const md = writeMarkdown(json, markdownReport({ title, commandLine, date, settings, results: opts.peers ? byWorkload(results) : results, notes }));
  console.log(`\nresults: ${json}\n         ${md}`);
}

const VERDICT_HEADERS = ['target', 'compared', 'measured', 'result'];
const verdictRow = (v: ClusterVerdict): string[] => [v.target, v.what, v.detail, verdictWord(v)];

type PhaseCommon = Omit<Parameters<typeof runPhase>[0], 'workload' | 'target'>;

/**
 * --peers: stops our cluster (so the peers get the cores), then for each peer in turn: start it, load
 * every key through its first target, run the selected workloads against each of its targets, stop it.
 * Returns one line per peer: what ran, or why it was skipped or failed (a failure does not stop the bench).
 */
async function benchPeers(opts: Options, common: PhaseCommon, report: (r: PhaseResult) => void): Promise<string[]> {
  await cluster?.stop();
  const notes: string[] = [];
  for (const spec of PEERS) {
    if (signalled) break;
    const found = locate(spec);
    if ('missing' in found) {
      process.stderr.write(`${found.missing}\n`);
      notes.push(found.missing);
      continue;
    }
    process.stderr.write(`starting ${spec.system} ...\n`);
    try {
      const t0 = Date.now();
      peer = await spec.start(found.path, { concurrency: opts.concurrency, deadlineMs: opts.deadlineMs });
      process.stderr.write(`${spec.system} ready in ${Date.now() - t0} ms: ${peer.description}\n`);
      const peerCommon = { ...common, serverPids: peer.pids };
      report(await runPhase({ ...peerCommon, workload: 'load', target: peer.targets[0]! }));
      for (const target of peer.targets) {
        for (const w of WORKLOADS.filter((x) => opts.workloads.includes(x.name))) {
          report(await runPhase({ ...peerCommon, workload: w.name, target, durationMs: opts.durationS * 1000, readFraction: w.readFraction }));
        }
      }
      notes.push(`${spec.system}: ${peer.description}`);
    } catch (err) {
      process.exitCode = 1;
      const message = err instanceof Error ? err.message : String(err);
      console.error(`${spec.system} failed: ${err instanceof Error ? (err.stack ?? message) : message}`);
      if (peer !== undefined) console.error(`${spec.system} logs:\n${peer.logTails()}`);
      notes.push(`${spec.system}: failed (${message.split('\n')[0]})`);
    } finally {
      await peer?.stop();
      peer = undefined;
    }
  }
  return notes;
}

/**
 * Rows grouped by workload (load, A, B, C), keeping the order they ran in within a group (the sort is
 * stable): side by side, our two load rows (default, then durable) ahead of the peers' load rows.
 */
function byWorkload(results: readonly PhaseResult[]): PhaseResult[] {
  const order = ['load', PEAK_PUTS, HALF_PEAK, ...WORKLOADS.map((w) => w.name)];
  return [...results].sort((a, b) => order.indexOf(a.workload) - order.indexOf(b.workload));
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
    await peer?.stop();
    for (const s of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.off(s, onSignal);
  }
}

void run();
