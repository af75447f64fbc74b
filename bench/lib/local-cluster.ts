/**
 * A throwaway local cluster for the cluster bench: n `mydatastore server` processes on 127.0.0.1 (port 0,
 * so any free port), data in a fresh temporary directory, each node's output in DIR/<id>.log.
 *
 * Ready means: every node's committed ring holds all n members, and a put at ALL succeeds. stop() sends
 * SIGTERM (graceful: nodes drain and leave), SIGKILLs what is left after a grace period, and removes the
 * directory. If the bench itself dies, the nodes notice their stdin pipe closing (tools/exit-with-parent.ts).
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { createWriteStream, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Client } from '../../client/index.js';
import { fetchStatus } from '../../tools/commands/status.js';
import type { NodeStatus } from '../../tools/commands/status.js';

const CLI = fileURLToPath(new URL('../../tools/mydatastore.js', import.meta.url));
const PRELOAD = pathToFileURL(fileURLToPath(new URL('../../tools/exit-with-parent.js', import.meta.url))).href;

export interface LocalNode {
  id: string;
  address: string;
  /** The node's HTTP gateway as its first start logged it, e.g. `http://127.0.0.1:41234` (any free port). */
  http?: string;
  pid: number;
  log: string;
  child: ChildProcess;
}

export interface LocalCluster {
  nodes: LocalNode[];
  dir: string;
  /** Stops every node (SIGTERM, then SIGKILL after graceMs) and removes the directory. Idempotent. */
  stop(graceMs?: number): Promise<void>;
  /** The last lines of every node's log (for error reports). */
  logTails(lines?: number): string;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * @param extraArgs more `mydatastore server` flags for every node
 * @param nodeFlags flags for node itself, before the script (profile:cluster's --cpu-prof); `{id}` in a flag
 *   becomes the node's id
 */
export async function startLocalCluster(n: number, readyTimeoutMs = 60_000, extraArgs: string[] = [], nodeFlags: string[] = []): Promise<LocalCluster> {
  const dir = mkdtempSync(join(tmpdir(), 'mydatastore-bench-cluster-'));
  const nodes: LocalNode[] = [];
  let stopping: Promise<void> | undefined;
  const cluster: LocalCluster = {
    nodes,
    dir,
    stop: (graceMs = 15_000) => (stopping ??= stopAll(nodes, dir, graceMs)),
    logTails: (lines = 15) => nodes.map((node) => `---- ${node.id} (${node.address}) ${node.log} ----\n${tail(node.log, lines)}`).join('\n'),
  };
  try {
    const first = await startNode('node1', [], dir, extraArgs, nodeFlags);
    nodes.push(first);
    const rest = Array.from({ length: n - 1 }, (_, i) => startNode(`node${i + 2}`, [first.address], dir, extraArgs, nodeFlags));
    const started = await Promise.allSettled(rest);
    // Every node that did start first, so that stop() stops it too; then the first failure.
    for (const p of started) if (p.status === 'fulfilled') nodes.push(p.value);
    for (const p of started) if (p.status === 'rejected') throw p.reason;
    await waitReady(nodes.map((x) => x.address), n, readyTimeoutMs);
    return cluster;
  } catch (err) {
    const tails = cluster.logTails();
    await cluster.stop();
    throw new Error(`the local cluster did not start: ${err instanceof Error ? err.message : String(err)}\n${tails}`, { cause: err });
  }
}

function startNode(id: string, seeds: string[], dir: string, extraArgs: string[], nodeFlags: string[]): Promise<LocalNode> {
  const log = join(dir, `${id}.log`);
  const args = [...nodeFlags.map((f) => f.replaceAll('{id}', id)), '--import', PRELOAD, CLI, 'server', '--node-id', id, '--listen', '127.0.0.1:0', '--data', join(dir, id), '--cluster-id', 'bench', ...extraArgs];
  if (seeds.length > 0) args.push('--seeds', seeds.join(','));
  else args.push('--bootstrap');
  const child = spawn(process.execPath, args, { stdio: ['pipe', 'pipe', 'pipe'] });
  const file = createWriteStream(log);
  let out = '';
  return new Promise((resolve, reject) => {
    const onData = (d: Buffer) => {
      file.write(d);
      out += d.toString();
      const m = /listening on 127\.0\.0\.1:(\d+)/.exec(out);
      if (m !== null) {
        const http = /http gateway on (https?:\/\/[^\s"]+)/.exec(out)?.[1]; // the log line is JSON: the URL ends at its quote
        out = '';
        child.stdout.off('data', onData);
        child.stderr.off('data', onData);
        child.stdout.on('data', (x: Buffer) => file.write(x));
        child.stderr.on('data', (x: Buffer) => file.write(x));
        resolve({ id, address: `127.0.0.1:${m[1]}`, http, pid: child.pid!, log, child });
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.once('exit', (code, signal) => {
      file.end();
      reject(new Error(`${id} exited (${code ?? signal}) before it listened; output:\n${out}`));
    });
    child.once('error', reject);
  });
}

/** Every node's committed ring has at least n members, and then a put at ALL goes through. */
export async function waitReady(addresses: string[], n: number, timeoutMs: number): Promise<void> {
  const until = Date.now() + timeoutMs;
  let last = 'no answer yet';
  let ring = false;
  while (Date.now() < until) {
    try {
      const all: NodeStatus[] = await Promise.all(addresses.map((a) => fetchStatus(a, 1000)));
      const short = all.find((s) => s.ringMembers.length < n);
      if (short === undefined) {
        ring = true;
        break;
      }
      last = `${short.nodeId} has ${short.ringMembers.length} ring members`;
    } catch (err) {
      last = err instanceof Error ? err.message : String(err);
    }
    await sleep(100);
  }
  if (!ring) throw new Error(`no ring of ${n} after ${timeoutMs} ms (${last})`);
  const client = new Client({ seeds: addresses, defaultDeadlineMs: 2000 });
  try {
    while (true) {
      try {
        await client.put('bench-ready', 'yes', { consistency: 'ALL' });
        return;
      } catch (err) {
        if (Date.now() >= until) throw new Error(`a put at ALL still fails after ${timeoutMs} ms: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
        await sleep(200);
      }
    }
  } finally {
    await client.close();
  }
}

async function stopAll(nodes: LocalNode[], dir: string, graceMs: number): Promise<void> {
  const running = nodes.filter((x) => x.child.exitCode === null && x.child.signalCode === null);
  const exits = running.map((x) => new Promise<void>((r) => x.child.once('exit', () => r())));
  for (const x of running) x.child.kill('SIGTERM');
  const killer = setTimeout(() => {
    for (const x of running) {
      if (x.child.exitCode !== null || x.child.signalCode !== null) continue;
      process.stderr.write(`${x.id} (pid ${x.pid}) did not stop within ${graceMs} ms of SIGTERM: killing it\n`);
      x.child.kill('SIGKILL');
    }
  }, graceMs);
  await Promise.all(exits);
  clearTimeout(killer);
  rmSync(dir, { recursive: true, force: true });
}

function tail(file: string, lines: number): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}
