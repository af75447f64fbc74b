/**
 * For tests of `mydatastore cluster ...` (real processes on fixed ports): free port ranges, temporary
 * data directories, and killing whatever node a failed test left running.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Test } from 'tap';
import { isNodeProcess } from '../../tools/commands/cluster-processes.js';

export function listen(port: number): Promise<net.Server | undefined> {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.once('error', () => resolve(undefined));
    srv.listen(port, '127.0.0.1', () => resolve(srv));
  });
}

/**
 * The lowest port the kernel hands out to outgoing connections (Linux's default is 32768). Fixed test
 * ports stay below it: a port in that range, left free while a test restarts its node, can meanwhile be
 * taken as the local end of any connection on the machine — even the other nodes' own reconnects to it —
 * and the restarted node then fails with EADDRINUSE.
 */
function ephemeralLow(): number {
  try {
    const low = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);
    if (Number.isSafeInteger(low) && low > 0) return low;
  } catch {
    // no /proc: assume Linux's default
  }
  return 32_768;
}

/** A base port with `n` consecutive free ports (checked by listening on them, then closing). */
export async function freePorts(n: number): Promise<number> {
  const low = 10_000;
  const span = Math.max(1_000, ephemeralLow() - low - n);
  for (let attempt = 0; attempt < 50; attempt++) {
    const base = low + Math.floor(Math.random() * span);
    const servers = await Promise.all(Array.from({ length: n }, (_, i) => listen(base + i)));
    await Promise.all(servers.map((s) => new Promise((r) => (s === undefined ? r(undefined) : s.close(r)))));
    if (servers.every((s) => s !== undefined)) return base;
  }
  throw new Error('no free port range found');
}

export function tempData(t: Test): string {
  const dir = mkdtempSync(join(tmpdir(), 'mydatastore-cluster-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

export interface ClusterJson {
  nodes: { id: string; address: string; pid: number }[];
}

export function readClusterJson(data: string): ClusterJson {
  return JSON.parse(readFileSync(join(data, 'cluster.json'), 'utf8')) as ClusterJson;
}

/** Kills the latest pid cluster.json listed for each node, if it still runs (only if a test failed half-way). */
export function killLeftovers(t: Test, data: string): void {
  const pids = new Map<string, number>();
  t.teardown(() => {
    for (const pid of pids.values()) {
      if (!isNodeProcess(pid)) continue;
      process.kill(pid, 'SIGKILL'); // also ends a paused one
    }
  });
  const read = () => {
    try {
      for (const n of readClusterJson(data).nodes) pids.set(n.id, n.pid);
    } catch {
      // not written yet, or removed by cluster stop
    }
  };
  const timer = setInterval(read, 50);
  t.teardown(() => clearInterval(timer));
}
