/**
 * The node processes of a local cluster (`mydatastore cluster ...`): the server flags a node is started
 * with, starting one detached, telling whether it runs, waiting until the cluster sees it alive, and
 * stopping some. Shared by start, stop, add, kill and restart so every node is started the same way.
 */
import { spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import net from 'node:net';
import { fileURLToPath } from 'node:url';
import type { NodeInfo, NodeSettings } from './cluster-file.js';
import { fetchMembers } from './members.js';

export const CLI = fileURLToPath(new URL('../mydatastore.js', import.meta.url));

export const wait = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** running; paused (SIGSTOP, so it answers nothing); exited; or never started (no pid recorded). */
export type ProcessState = 'running' | 'paused' | 'exited' | 'not started';

/** Whether pid is a live (not zombie) process that is a mydatastore node (best effort off Linux). */
export function isNodeProcess(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    if (/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'))) return false;
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('mydatastore');
  } catch {
    return true; // no /proc: trust the pid file
  }
}

export function processState(node: NodeInfo): ProcessState {
  if (node.pid === undefined) return 'not started';
  if (!isNodeProcess(node.pid)) return 'exited';
  try {
    // State T (stopped) or t (traced); without /proc a stopped node cannot be told apart.
    return /^\d+ \(.*\) [Tt]/.test(readFileSync(`/proc/${node.pid}/stat`, 'utf8')) ? 'paused' : 'running';
  } catch {
    return 'running';
  }
}

/** Whether the node's process is alive, paused or not. */
export const isAlive = (node: NodeInfo) => node.pid !== undefined && isNodeProcess(node.pid);

export function portFree(port: number): Promise<boolean> {
  return new Promise((done) => {
    const srv = net.createServer();
    srv.once('error', () => done(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => done(true)));
  });
}

/**
 * The `mydatastore server` arguments of `node`. The bootstrap node creates the cluster if its Raft state
 * is empty (and resumes it otherwise); the Raft leader then adds the others, which find it via `seeds`.
 */
export function serverArgs(node: NodeInfo, seeds: readonly NodeInfo[], bootstrap: boolean, settings: NodeSettings): string[] {
  const args = ['server', '--node-id', node.id, '--listen', node.address, '--http', node.http, '--cluster-id', settings.clusterId, '--data', node.dir, '--log-level', settings.logLevel];
  if (seeds.length > 0) args.push('--seeds', seeds.map((n) => n.address).join(','));
  if (bootstrap) args.push('--bootstrap');
  if (settings.probeIntervalMs !== undefined) args.push('--probe-interval-ms', String(settings.probeIntervalMs));
  return args;
}

/** Starts a node in the background, in its own process group, its output appended to its node.log; records its pid. */
export function spawnDetached(node: NodeInfo, args: readonly string[]): void {
  const fd = openSync(node.log, 'a');
  const child = spawn(process.execPath, [CLI, ...args], { detached: true, stdio: ['ignore', fd, fd] });
  closeSync(fd);
  child.unref();
  node.pid = child.pid;
}

/** The last lines of a node's log, for an error message. */
export function tail(file: string, lines = 20): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

export type AliveWait = { outcome: 'ready' } | { outcome: 'exited'; node: NodeInfo } | { outcome: 'timeout'; pending: NodeInfo[] };

/**
 * Waits until every observer answers and sees every one of `watched` alive in its membership view.
 * Stops early when a watched node's process exits (it failed to start).
 */
export async function waitUntilSeenAlive(watched: readonly NodeInfo[], observers: readonly NodeInfo[], timeoutMs: number): Promise<AliveWait> {
  return untilEach(watched, observers, timeoutMs, async (n) => {
    const view = await fetchMembers(n.address, 1000);
    return watched.every((w) => view.members.some((m) => m.id === w.id && m.state === 'alive'));
  });
}

/**
 * Waits until every node answers 200 on its HTTP /ready: a member of the committed ring that knows the
 * Raft leader, so a put sent to it right away is served (seeing each other alive comes first, and a
 * request before this point fails with "no committed ring yet").
 */
export async function waitUntilReady(nodes: readonly NodeInfo[], timeoutMs: number): Promise<AliveWait> {
  return untilEach(nodes, nodes, timeoutMs, async (n) => {
    const res = await fetch(`http://${n.http}/ready`, { signal: AbortSignal.timeout(1000) });
    await res.arrayBuffer();
    return res.status === 200;
  });
}

/** Polls `check` on each of `nodes` until it holds for all; stops early when a watched process exits. */
async function untilEach(watched: readonly NodeInfo[], nodes: readonly NodeInfo[], timeoutMs: number, check: (n: NodeInfo) => Promise<boolean>): Promise<AliveWait> {
  const until = Date.now() + timeoutMs;
  const pending = new Set(nodes);
  while (pending.size > 0 && Date.now() < until) {
    const exited = watched.find((n) => !isAlive(n));
    if (exited !== undefined) return { outcome: 'exited', node: exited };
    for (const n of [...pending]) {
      try {
        if (await check(n)) pending.delete(n);
      } catch {
        // not answering yet
      }
    }
    if (pending.size > 0) await wait(100);
  }
  return pending.size === 0 ? { outcome: 'ready' } : { outcome: 'timeout', pending: [...pending] };
}

/** Waits until the node's process is gone; false if it still runs after timeoutMs. */
export async function waitUntilExited(node: NodeInfo, timeoutMs: number): Promise<boolean> {
  const until = Date.now() + timeoutMs;
  while (isAlive(node) && Date.now() < until) await wait(50);
  return !isAlive(node);
}

/** Sends a signal to the node's process; one that has just exited is not an error. */
function signal(node: NodeInfo, sig: NodeJS.Signals): void {
  try {
    if (node.pid !== undefined) process.kill(node.pid, sig);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err;
  }
}

/** SIGTERMs the nodes and waits for them to exit; SIGKILLs what is left after timeoutMs. True if all stopped by SIGTERM. */
export async function stopPids(nodes: readonly NodeInfo[], timeoutMs: number): Promise<boolean> {
  const alive = nodes.filter(isAlive);
  for (const n of alive) {
    signal(n, 'SIGTERM');
    signal(n, 'SIGCONT'); // a paused node acts on the SIGTERM only once resumed
  }
  const until = Date.now() + timeoutMs;
  while (alive.some(isAlive) && Date.now() < until) await wait(50);
  const stuck = alive.filter(isAlive);
  for (const n of stuck) {
    console.error(`${n.id} (pid ${n.pid}) did not stop within ${timeoutMs} ms: killing it`);
    signal(n, 'SIGKILL');
  }
  return stuck.length === 0;
}
