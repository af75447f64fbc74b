/**
 * `mydatastore cluster start|stop`: a local cluster of n nodes on 127.0.0.1 for development, like the
 * original project's developer script. Node K is `nodeK`, listens on basePort+K-1 (RPC) and
 * httpBasePort+K-1 (the HTTP gateway), keeps its data in
 * DATA/nodeK and its log in DATA/nodeK/node.log; DATA/cluster.json (cluster-file.ts) records the pids so
 * `cluster stop` (from any terminal) can stop them, and `cluster status|add|kill|restart`
 * (cluster-status.ts, cluster-add.ts, cluster-kill.ts, cluster-restart.ts) can watch, grow and break it.
 */
import type { ChildProcess } from 'node:child_process';
import { spawn } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { clusterFilePath, readClusterFile, writeClusterFile } from './cluster-file.js';
import type { NodeInfo } from './cluster-file.js';
import { humanizeLogLine } from '../log-format.js';
import { CLI, isAlive, portFree, serverArgs, spawnDetached, stopPids, tail, waitUntilReady, waitUntilSeenAlive } from './cluster-processes.js';

export { isNodeProcess } from './cluster-processes.js';

export interface ClusterStartOptions {
  nodes: number;
  basePort: number;
  /** Port of node1's HTTP gateway; nodeK's is httpBasePort+K-1 (default 8001). */
  httpBasePort?: number;
  data: string;
  detach: boolean;
  clusterId: string;
  logLevel: string;
  probeIntervalMs?: number;
  /** Detached mode: how long to wait for the nodes to see each other and serve data (/ready). */
  readyTimeout: number;
}

export interface ClusterStopOptions {
  data: string;
  timeout: number;
}

/** node1's HTTP port when the command line gives none. */
export const DEFAULT_HTTP_BASE_PORT = 8001;

function plan(opts: ClusterStartOptions, data: string): NodeInfo[] {
  return Array.from({ length: opts.nodes }, (_, i) => {
    const id = `node${i + 1}`;
    const dir = join(data, id);
    const http = `127.0.0.1:${(opts.httpBasePort ?? DEFAULT_HTTP_BASE_PORT) + i}`;
    return { id, address: `127.0.0.1:${opts.basePort + i}`, http, dir, log: join(dir, 'node.log') };
  });
}

/** The arguments of node K of a cluster being started: seeded with all the others; node1 bootstraps. */
function startArgs(node: NodeInfo, all: NodeInfo[], opts: ClusterStartOptions): string[] {
  return serverArgs(node, all.filter((n) => n !== node), node === all[0], opts);
}

/** Checks that nothing runs from `data` and every port is free; returns an error message or undefined. */
async function preflight(opts: ClusterStartOptions, data: string, nodes: NodeInfo[]): Promise<string | undefined> {
  const last = opts.basePort + opts.nodes - 1;
  if (last > 65535) return `--base-port ${opts.basePort} with ${opts.nodes} nodes needs ports up to ${last}, beyond 65535`;
  const httpBase = opts.httpBasePort ?? DEFAULT_HTTP_BASE_PORT;
  const lastHttp = httpBase + opts.nodes - 1;
  if (lastHttp > 65535) return `--http-base-port ${httpBase} with ${opts.nodes} nodes needs ports up to ${lastHttp}, beyond 65535`;
  const overlap = nodes.find((n) => nodes.some((m) => m.address === n.http));
  if (overlap !== undefined) return `${overlap.http} would serve both RPC and HTTP: pick --base-port and --http-base-port further apart`;
  const running = readClusterFile(data)?.nodes.filter(isAlive) ?? [];
  if (running.length > 0) {
    return `a cluster started from ${data} is still running (pids ${running.map((n) => n.pid).join(', ')}): run "mydatastore cluster stop --data ${data}" first`;
  }
  const busy: string[] = [];
  for (const a of nodes.flatMap((n) => [n.address, n.http])) if (!(await portFree(Number(a.split(':')[1])))) busy.push(a);
  if (busy.length > 0) {
    return `${busy.join(', ')} ${busy.length === 1 ? 'is' : 'are'} already in use (another cluster or program?): stop it, or pick other ports with --base-port / --http-base-port`;
  }
  return undefined;
}

export async function clusterStart(opts: ClusterStartOptions): Promise<number> {
  const data = resolve(opts.data);
  const nodes = plan(opts, data);
  const problem = await preflight(opts, data, nodes);
  if (problem !== undefined) {
    console.error(`cannot start the cluster: ${problem}`);
    return 1;
  }
  for (const n of nodes) mkdirSync(n.dir, { recursive: true });
  return opts.detach ? startDetached(opts, data, nodes) : runForeground(opts, data, nodes);
}

function recordCluster(data: string, opts: ClusterStartOptions, nodes: NodeInfo[]): void {
  const { clusterId, logLevel, probeIntervalMs } = opts;
  writeClusterFile(data, { clusterId, logLevel, probeIntervalMs, startedAt: new Date().toISOString(), mode: opts.detach ? 'detached' : 'foreground', nodes });
}

async function startDetached(opts: ClusterStartOptions, data: string, nodes: NodeInfo[]): Promise<number> {
  for (const n of nodes) spawnDetached(n, startArgs(n, nodes, opts));
  recordCluster(data, opts, nodes);
  // Ready when every node answers, sees all n alive and serves data (/ready), within one timeout.
  const until = Date.now() + opts.readyTimeout;
  let ready = await waitUntilSeenAlive(nodes, nodes, opts.readyTimeout);
  let waitingFor = `did not yet see all ${nodes.length} nodes alive`;
  if (ready.outcome === 'ready') {
    ready = await waitUntilReady(nodes, Math.max(0, until - Date.now()));
    waitingFor = `did not yet serve data (curl http://${nodes[0]?.http ?? ''}/ready says why)`;
  }
  if (ready.outcome === 'exited') {
    console.error(`${ready.node.id} exited during startup; its log (${ready.node.log}):\n${tail(ready.node.log)}`);
    await stopPids(nodes, 10_000);
    rmSync(clusterFilePath(data), { force: true });
    return 1;
  }
  for (const n of nodes) console.log(`${n.id}  ${n.address}  http://${n.http}  pid ${n.pid}  log ${n.log}`);
  if (ready.outcome === 'timeout') {
    console.log(`warning: after ${opts.readyTimeout} ms, ${ready.pending.map((n) => n.id).join(', ')} ${waitingFor}`);
  } else {
    console.log(`cluster "${opts.clusterId}" of ${nodes.length} nodes is up; every node sees all ${nodes.length} alive and serves data`);
  }
  console.log(howToTalk(nodes));
  console.log(`stop it with: mydatastore cluster stop --data ${opts.data}`);
  return 0;
}

/** The lines that show a developer how to use the cluster just started (the CLI, curl, status). */
export function howToTalk(nodes: ReadonlyArray<{ address: string; http: string }>): string {
  const first = nodes[0];
  if (first === undefined) return '';
  const other = nodes[nodes.length - 1] ?? first;
  return [
    'talk to it:',
    `  mydatastore put greeting hello --node ${first.address}`,
    `  mydatastore get greeting --node ${other.address}`,
    `  curl -X PUT --data-binary hello http://${first.http}/kv/greeting`,
    `  curl http://${other.http}/kv/greeting`,
    `  curl http://${first.http}/ready; curl http://${first.http}/metrics`,
    `  mydatastore status ${first.address}`,
  ].join('\n');
}

/** Foreground: children share our process group (Ctrl-C reaches them too); their output is prefixed and logged. */
async function runForeground(opts: ClusterStartOptions, data: string, nodes: NodeInfo[]): Promise<number> {
  const width = Math.max(...nodes.map((n) => n.id.length));
  // The nodes write JSON lines (kept as they are in node.log); a person at a terminal reads them rendered.
  const terminal = process.stdout.isTTY === true;
  const color = terminal && process.env.NO_COLOR === undefined;
  const children = new Map<NodeInfo, ChildProcess>();
  const exits: Promise<number | string>[] = [];
  let stopping = false;
  let failed = false;
  let stopAll: () => void = () => {};
  const stopped = new Promise<void>((r) => (stopAll = r));

  for (const n of nodes) {
    const child = spawn(process.execPath, [CLI, ...startArgs(n, nodes, opts)], { stdio: ['ignore', 'pipe', 'pipe'] });
    children.set(n, child);
    n.pid = child.pid;
    const logFile = createWriteStream(n.log, { flags: 'a' });
    const prefix = `${n.id.padEnd(width)} | `;
    let open = 2;
    for (const stream of [child.stdout, child.stderr]) {
      const rl = createInterface({ input: stream, crlfDelay: Infinity });
      rl.on('line', (line) => {
        logFile.write(line + '\n');
        process.stdout.write(prefix + (terminal ? humanizeLogLine(line, color) : line) + '\n');
      });
      rl.once('close', () => {
        if (--open === 0) logFile.end();
      });
    }
    exits.push(
      new Promise((done) => {
        child.once('exit', (code, signal) => {
          const result = code ?? signal ?? -1;
          if (!stopping && result !== 0) {
            console.log(`${n.id} exited unexpectedly (${result}); stopping the cluster`);
            failed = true;
            stopAll();
          } else if (!stopping && [...children.values()].every((c) => c.exitCode !== null || c.signalCode !== null)) {
            stopAll(); // every node was stopped from outside (mydatastore cluster stop)
          }
          done(result);
        });
      }),
    );
  }
  recordCluster(data, opts, nodes);
  console.log(`started ${nodes.length} nodes: ${nodes.map((n) => `${n.id} ${n.address} (http ${n.http})`).join(', ')}; logs in ${data}/nodeK/node.log; Ctrl-C stops them`);
  console.log(howToTalk(nodes));

  const onSignal = (signal: NodeJS.Signals) => {
    if (!stopping) console.log(`${signal} received: stopping ${nodes.length} nodes gracefully`);
    stopAll();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  await stopped;
  stopping = true;
  for (const child of children.values()) if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
  const killer = setTimeout(() => {
    console.log('nodes did not stop within 20 s: killing them');
    failed = true;
    for (const child of children.values()) child.kill('SIGKILL');
  }, 20_000);
  const results = await Promise.all(exits);
  clearTimeout(killer);
  process.off('SIGINT', onSignal);
  process.off('SIGTERM', onSignal);
  rmSync(clusterFilePath(data), { force: true });
  const ok = !failed && results.every((r) => r === 0);
  console.log(ok ? `all ${nodes.length} nodes stopped` : `cluster stopped with errors: exit statuses ${results.join(', ')}`);
  return ok ? 0 : 1;
}

export async function clusterStop(opts: ClusterStopOptions): Promise<number> {
  const data = resolve(opts.data);
  const file = readClusterFile(data);
  if (file === undefined) {
    console.log(existsSync(data) ? `no cluster is running from ${data} (no cluster.json)` : `no cluster is running from ${data}`);
    return 0;
  }
  const running = file.nodes.filter(isAlive);
  const clean = await stopPids(file.nodes, opts.timeout);
  rmSync(clusterFilePath(data), { force: true });
  for (const n of running) console.log(`stopped ${n.id} (pid ${n.pid})`);
  console.log(running.length === 0 ? 'no node was running' : `stopped ${running.length} nodes`);
  return clean ? 0 : 1;
}
