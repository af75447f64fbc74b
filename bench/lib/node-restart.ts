/**
 * Crash and restart for a node of a bench's local cluster (bench/lib/local-cluster.ts): kill -9, then a
 * new `mydatastore server` process with the same node id, RPC port and data directory, joining through
 * the other nodes (no --bootstrap: its data directory already holds the cluster's state). The new
 * process appends to the same log file and is watched by the same exit-with-parent preload.
 *
 * While the node is down its port is held by a listener of ours: any process could otherwise be given
 * it meanwhile (an outgoing connection's ephemeral port included), and the restart would fail with
 * EADDRINUSE.
 */
import { spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { LocalNode } from './local-cluster.js';

const CLI = fileURLToPath(new URL('../../tools/mydatastore.js', import.meta.url));
const PRELOAD = pathToFileURL(fileURLToPath(new URL('../../tools/exit-with-parent.js', import.meta.url))).href;
/** The cluster id local-cluster.ts starts its nodes with. */
const CLUSTER_ID = 'bench';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export const isRunning = (node: LocalNode): boolean => node.child.exitCode === null && node.child.signalCode === null;

/** The port of a node's "127.0.0.1:port" address. */
export function portOf(node: LocalNode): number {
  const port = Number(node.address.slice(node.address.lastIndexOf(':') + 1));
  if (!Number.isInteger(port) || port <= 0) throw new Error(`${node.id}: no port in address ${node.address}`);
  return port;
}

/** SIGKILLs the node's process and resolves once it has exited. */
export function killNode(node: LocalNode): Promise<void> {
  if (!isRunning(node)) return Promise.resolve();
  return new Promise((resolve) => {
    node.child.once('exit', () => resolve());
    node.child.kill('SIGKILL');
  });
}

/**
 * Listens on 127.0.0.1:port until the returned release() (which resolves once the port is free). A port
 * still busy (the killed process's socket not yet gone) is tried again for up to timeoutMs.
 */
export async function holdPort(port: number, timeoutMs = 5000): Promise<() => Promise<void>> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const server = createServer((socket) => socket.destroy());
    try {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, '127.0.0.1', () => resolve());
      });
      return () => closeServer(server);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EADDRINUSE' || Date.now() >= until) throw err;
      await sleep(100);
    }
  }
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()));
}

export interface Restarted {
  /** The new process, at once (its pid is known when spawned), to be put in the cluster's node list. */
  node: LocalNode;
  /** Resolves when the process listens on its port; rejects when it exits first or takes over timeoutMs. */
  listening: Promise<void>;
}

/**
 * Starts node (stopped) again on its address and its data directory under clusterDir, joining through
 * seeds. The HTTP gateway takes any free port: its default (RPC port + 1000) may be taken.
 */
export function restartNode(node: LocalNode, clusterDir: string, seeds: readonly string[], timeoutMs = 30_000): Restarted {
  if (isRunning(node)) throw new Error(`${node.id} (pid ${node.pid}) is still running`);
  const args = ['--import', PRELOAD, CLI, 'server', '--node-id', node.id, '--listen', node.address, '--data', join(clusterDir, node.id), '--cluster-id', CLUSTER_ID, '--http', '127.0.0.1:0', '--seeds', seeds.join(',')];
  const child = spawn(process.execPath, args, { stdio: ['pipe', 'pipe', 'pipe'] });
  const file = createWriteStream(node.log, { flags: 'a' });
  file.write(`\n---- restarted by the soak bench at ${new Date().toISOString()} ----\n`);
  child.stdout.on('data', (d: Buffer) => file.write(d));
  child.stderr.on('data', (d: Buffer) => file.write(d));
  child.once('exit', () => file.end());
  const listening = new Promise<void>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`${node.id} did not listen within ${timeoutMs} ms of its restart`)), timeoutMs);
    const onData = (d: Buffer) => {
      out += d.toString();
      if (!out.includes(`listening on ${node.address}`)) return;
      clearTimeout(timer);
      child.stdout.off('data', onData);
      child.stderr.off('data', onData);
      resolve();
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`${node.id} exited (${code ?? signal}) before it listened after its restart; output:\n${out}`));
    });
    child.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
  });
  // A rejection nobody awaits yet (the caller awaits soon) must not crash the process.
  listening.catch(() => undefined);
  return { node: { id: node.id, address: node.address, pid: child.pid ?? -1, log: node.log, child }, listening };
}
