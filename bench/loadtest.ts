/**
 * End-to-end load test of the HTTP API (issue 11; the original project's k6 test), with a k6-style
 * schedule, checks, thresholds and summary:
 *
 *   npm run loadtest [-- --url http://127.0.0.1:8001,http://127.0.0.1:8002 | --nodes 3]
 *                       [--ramp-up 10s --steady 30s --ramp-down 10s --vus 16 | --stages 10s:16,30s:16,10s:0]
 *                       [--p95-ms 300 --p99-ms 600 --max-error-rate 0]
 *                       [--value-size 64 --keys-per-vu 100 --delete-every 5 --consistency QUORUM]
 *                       [--timeout-ms 10000 --graceful-stop 30s --no-save]
 *
 * Without --url it starts a local cluster (bench/lib/local-cluster.ts: --nodes server processes on
 * 127.0.0.1, any free ports, a temporary data directory) and stops it at the end, on an error and on
 * Ctrl-C. With --url it drives the running cluster behind those HTTP gateways (once each answers
 * /ready) and leaves it running; requests go to those URLs only.
 *
 * Virtual users (bench/lib/loadtest-runner.ts) ramp as the stages say; each repeats the scenario of
 * bench/lib/loadtest-scenario.ts (/set, /get, GET/PUT/DELETE /kv/{key} on its own keys, every answer
 * checked). The summary (bench/lib/loadtest-summary.ts) prints on stdout; the thresholds
 * (bench/lib/loadtest-thresholds.ts) decide the exit code: 0 when all hold, 1 otherwise (or on an
 * error). Results go to bench/results/loadtest-<date>-<commit>.json unless --no-save.
 */
import os from 'node:os';
import { randomBytes } from 'node:crypto';
import { startLocalCluster } from './lib/local-cluster.js';
import type { LocalCluster } from './lib/local-cluster.js';
import { runLoadtest } from './lib/loadtest-runner.js';
import { DEFAULT_P95_MS, DEFAULT_P99_MS, parseLoadtestArgs } from './lib/loadtest-options.js';
import { LoadtestOptionError, describeStages, totalMs } from './lib/loadtest-stages.js';
import { formatSummary } from './lib/loadtest-summary.js';
import { allPass, evaluateThresholds } from './lib/loadtest-thresholds.js';
import { Progress } from './lib/progress.js';
import { writeResults } from './lib/report.js';

/** Each URL answers GET /ready with 200 within timeoutMs. */
async function waitReady(urls: string[], timeoutMs: number): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (const url of urls) {
    for (let why = await notReady(url); why !== undefined; why = await notReady(url)) {
      if (Date.now() >= until) throw new Error(`${url} is not ready after ${timeoutMs} ms (${why})`);
      await new Promise((r) => setTimeout(r, 250));
    }
  }
}

/** Why the node behind url is not ready (its /ready answer, or the connection's error); undefined when it is. */
async function notReady(url: string): Promise<string | undefined> {
  try {
    const res = await fetch(new URL('/ready', url), { signal: AbortSignal.timeout(2000) });
    const text = (await res.text()).trim();
    return res.status === 200 ? undefined : `${res.status} ${text}`;
  } catch (err) {
    return err instanceof Error ? ((err.cause as NodeJS.ErrnoException | undefined)?.code ?? err.message) : String(err);
  }
}

let cluster: LocalCluster | undefined;

function onSignal(signal: NodeJS.Signals): void {
  process.stderr.write(`\n${signal}: stopping the load test's cluster\n`);
  void Promise.allSettled([cluster?.stop()]).finally(() => process.exit(130));
}

const USAGE = `usage: npm run loadtest [-- options]

A k6-style load test of the HTTP API: virtual users ramp up, hold and ramp down, each repeating /set,
/get and GET/PUT/DELETE /kv/{key} on its own keys with every answer checked. Exit code 0 when every
threshold holds, 1 otherwise; results in bench/results/.

  --url U1,U2          drive a running cluster's HTTP gateways (default: start --nodes local nodes)
  --nodes N            nodes to start (default 3)
  --ramp-up 10s        time to ramp up to --vus users (then --steady, --ramp-down; defaults 10s, 30s, 10s)
  --steady 30s
  --ramp-down 10s
  --vus N              virtual users (default 16)
  --stages D:N,...     explicit stages instead (e.g. 10s:16,30s:16,10s:0)
  --p95-ms N           threshold on p95 latency (default ${DEFAULT_P95_MS})
  --p99-ms N           threshold on p99 latency (default ${DEFAULT_P99_MS})
  --max-error-rate F   threshold on failed checks, 0 to 1 (default 0)
  --value-size N       bytes per value (default 64)
  --keys-per-vu N      keys each user cycles through (default 100)
  --delete-every N     every Nth iteration also deletes its key (default 5; 0: never)
  --consistency C      ONE, QUORUM, ALL, DEFAULT or a replica count (default QUORUM)
  --timeout-ms N       per-request timeout (default 10000)
  --graceful-stop 30s  time iterations get to finish at the end
  --no-save            print only, write no results file
  --help               this text`;

async function main(): Promise<void> {
  const opts = parseLoadtestArgs(process.argv.slice(2));
  if (opts.help) {
    console.log(USAGE);
    return;
  }
  const loadBefore = os.loadavg()[0]!;
  for (const s of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(s, onSignal);
  let urls: string[];
  if (opts.urls === undefined) {
    process.stderr.write(`starting a local ${opts.nodes}-node cluster ...\n`);
    const t0 = Date.now();
    cluster = await startLocalCluster(opts.nodes);
    urls = cluster.nodes.map((n) => {
      if (n.http === undefined) throw new Error(`${n.id} logged no HTTP gateway address`);
      return n.http;
    });
    process.stderr.write(`cluster ready in ${Date.now() - t0} ms: ${urls.join(', ')} (data in ${cluster.dir})\n`);
  } else {
    urls = opts.urls;
    process.stderr.write(`waiting for ${urls.join(', ')} to be ready ...\n`);
    await waitReady(urls, 60_000);
  }
  const runId = randomBytes(4).toString('hex');
  process.stderr.write(`load test ${runId}: stages ${describeStages(opts.stages)} (${totalMs(opts.stages) / 1000} s) against ${urls.length} node(s)\n`);
  const cpuBefore = process.cpuUsage();
  const summary = await runLoadtest({ ...opts, urls, runId, progress: new Progress() });
  const cpu = process.cpuUsage(cpuBefore);
  // The generator's own cost, so a reader can tell a saturated load generator from a slow cluster.
  const generatorCpuS = (cpu.user + cpu.system) / 1e6;
  await cluster?.stop();
  const thresholds = evaluateThresholds(summary, opts.thresholds);
  const pass = allPass(thresholds);
  console.log(`\n${formatSummary(summary, thresholds)}`);
  console.log(`  machine load (1-minute average): ${loadBefore.toFixed(1)} at the start, ${os.loadavg()[0]!.toFixed(1)} at the end, on ${os.cpus().length} cores`);
  const perRequest = summary.requests === 0 ? '' : ` (${Math.round((generatorCpuS * 1e6) / summary.requests)} µs per request)`;
  console.log(`  load generator CPU: ${generatorCpuS.toFixed(1)} s over ${(summary.durationMs / 1000).toFixed(1)} s${perRequest}`);
  if (!pass) process.exitCode = 1;
  if (!opts.save) return;
  const commandLine = ['npm run loadtest', ...(process.argv.length > 2 ? ['--', ...process.argv.slice(2)] : [])].join(' ');
  const settings = {
    cluster: opts.urls === undefined ? `started by the load test: ${opts.nodes} local processes on 127.0.0.1, load generator in the same machine` : `running cluster at ${urls.join(',')}`,
    consistency: opts.consistency ?? "the cluster's default R and W",
    machineLoad: { start: loadBefore, end: os.loadavg()[0]! },
    generatorCpuSeconds: generatorCpuS,
  };
  const path = writeResults('loadtest', { commandLine, runId, options: { ...opts, urls }, settings, pass, thresholds, summary });
  console.log(`\nresults: ${path}`);
}

async function run(): Promise<void> {
  try {
    await main();
  } catch (err) {
    process.exitCode = 1;
    if (err instanceof LoadtestOptionError) {
      console.error(`loadtest: ${err.message}\n\n${USAGE}`);
      process.exitCode = 2;
    } else console.error(err instanceof Error ? (err.stack ?? err.message) : err);
    if (cluster !== undefined) console.error(`node logs:\n${cluster.logTails()}`);
  } finally {
    await cluster?.stop();
    for (const s of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.off(s, onSignal);
  }
}

void run();
