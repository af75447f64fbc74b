/**
 * Redis as a peer in the cluster bench: a primary and 2 replicas (`--replicaof`) on 127.0.0.1, each with
 * its own working directory under one temporary directory, no snapshots and no AOF (in memory only), and
 * a pool of ioredis connections to the primary, one per request in flight.
 *
 * Targets (gets are GETs on the primary in both):
 *   WAIT 1   SET, then `WAIT 1 100` on the same connection: the put returns once one replica has
 *            acknowledged it, like a W=2 put. A WAIT that answers 0 (no replica within 100 ms) fails the
 *            put with the error code WAIT_NO_REPLICA: it did not get the guarantee it asked for.
 *   async    SET alone: acknowledged by the primary, replicated afterwards, like a W=1 put.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import type { KvTarget } from '../kv-target.js';
import { freePorts } from './free-port.js';
import { exitedEarly, killOnExit, logTails, sleep, spawnLogged, stopProcesses } from './peer-process.js';
import type { PeerProcess, RunningPeer } from './peer-process.js';

export interface RedisOptions {
  /** The redis-server binary. */
  command: string;
  replicas?: number;
  /** Connections to the primary: the bench's requests in flight. */
  connections: number;
  /** Per-command timeout of the client. */
  deadlineMs: number;
  readyTimeoutMs?: number;
}

/** WAIT's timeout in ms, and how many replicas a put waits for. */
export const WAIT_TIMEOUT_MS = 100;
export const WAIT_REPLICAS = 1;
/** The setting whose SET waits for one replica (WAIT 1): the one issue 13's targets compare with. */
export const REDIS_WAIT = `SET+WAIT ${WAIT_REPLICAS} ${WAIT_TIMEOUT_MS}, GET`;

/** A put whose WAIT saw no replica acknowledge it in time. */
export class WaitNoReplicaError extends Error {
  readonly code = 'WAIT_NO_REPLICA';
  constructor(acked: number) {
    super(`WAIT ${WAIT_REPLICAS} ${WAIT_TIMEOUT_MS} answered ${acked}: no replica acknowledged the SET in time`);
    this.name = 'WaitNoReplicaError';
  }
}

/** `INFO` output ("# Section" headers, "field:value" lines, CRLF) as a map of field to value. */
export function parseInfo(text: string): Map<string, string> {
  const fields = new Map<string, string>();
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const colon = line.indexOf(':');
    if (colon > 0) fields.set(line.slice(0, colon), line.slice(colon + 1));
  }
  return fields;
}

/**
 * Replicas the primary lists as online in `INFO replication` ("slave0:ip=...,port=...,state=online,...");
 * a replica still in its initial sync shows another state and is not counted.
 */
export function onlineReplicas(info: Map<string, string>): number {
  let online = 0;
  for (const [field, value] of info) {
    if (!/^slave\d+$/.test(field)) continue;
    const state = value.split(',').find((kv) => kv.startsWith('state='));
    if (state === 'state=online') online++;
  }
  return online;
}

/** One server's command line: the primary when primaryPort is undefined, else a replica of it. */
export function serverArgs(port: number, dir: string, primaryPort?: number): string[] {
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--appendonly', 'no', '--daemonize', 'no'];
  // A replica starts its full sync at once instead of waiting 5 s for others to join it (diskless sync's default).
  args.push('--repl-diskless-sync-delay', '0');
  if (primaryPort !== undefined) args.push('--replicaof', '127.0.0.1', String(primaryPort));
  return args;
}

/**
 * Connections handed out one per request: a request takes an idle connection and gives it back, so a
 * connection carries one request at a time and a WAIT covers only its own SET. With more requests in
 * flight than connections, the extra ones share a connection picked round-robin.
 */
class ConnectionPool {
  private readonly idle: Redis[];
  private next = 0;
  constructor(private readonly all: readonly Redis[]) {
    this.idle = [...all];
  }
  async with<T>(fn: (c: Redis) => Promise<T>): Promise<T> {
    const taken = this.idle.pop();
    const c = taken ?? this.all[this.next++ % this.all.length]!;
    try {
      return await fn(c);
    } finally {
      if (taken !== undefined) this.idle.push(taken);
    }
  }
}

export async function startRedis(opts: RedisOptions): Promise<RunningPeer> {
  const replicas = opts.replicas ?? 2;
  const dir = mkdtempSync(join(tmpdir(), 'mydatastore-bench-redis-'));
  const ports = await freePorts(1 + replicas);
  const primaryPort = ports[0]!;
  const processes: PeerProcess[] = [];
  const unhook = killOnExit(processes, dir);
  const connections: Redis[] = [];
  let stopping: Promise<void> | undefined;
  const stop = () =>
    (stopping ??= (async () => {
      for (const c of connections) c.disconnect();
      await stopProcesses(processes, 10_000);
      unhook();
      rmSync(dir, { recursive: true, force: true });
    })());
  const tails = (lines = 15) => logTails(processes, lines);
  try {
    for (const [i, port] of ports.entries()) {
      const name = i === 0 ? 'redis-primary' : `redis-replica${i}`;
      const workDir = join(dir, name);
      mkdirSync(workDir);
      processes.push(await spawnLogged(name, opts.command, serverArgs(port, workDir, i === 0 ? undefined : primaryPort), join(dir, `${name}.log`)));
    }
    for (let i = 0; i < opts.connections; i++) {
      const c = new Redis({ host: '127.0.0.1', port: primaryPort, commandTimeout: opts.deadlineMs, maxRetriesPerRequest: 1, lazyConnect: true });
      // Connection errors also fail the commands waiting on them, which is where the bench counts them;
      // without a listener ioredis prints each one as an unhandled error event.
      c.on('error', () => undefined);
      connections.push(c);
    }
    await waitReplicasOnline(connections[0]!, replicas, processes, opts.readyTimeoutMs ?? 60_000);
    await Promise.all(connections.slice(1).map((c) => c.connect()));
  } catch (err) {
    const logs = tails();
    await stop();
    throw new Error(`redis did not start: ${err instanceof Error ? err.message : String(err)}\n${logs}`, { cause: err });
  }
  const pool = new ConnectionPool(connections);
  const get = (key: Buffer) => pool.with(async (c) => (await c.getBuffer(key)) !== null);
  const targets: KvTarget[] = [
    {
      system: 'redis',
      setting: REDIS_WAIT,
      get,
      put: (key, value) =>
        pool.with(async (c) => {
          await c.set(key, value);
          const acked = await c.wait(WAIT_REPLICAS, WAIT_TIMEOUT_MS);
          if (acked < WAIT_REPLICAS) throw new WaitNoReplicaError(acked);
        }),
    },
    {
      system: 'redis',
      setting: 'SET (async), GET',
      get,
      put: (key, value) =>
        pool.with(async (c) => {
          await c.set(key, value);
        }),
    },
  ];
  return {
    system: 'redis',
    description: `redis-server primary + ${replicas} replicas on 127.0.0.1 (ports ${ports.join(', ')}), in memory (--save '' --appendonly no), ${opts.connections} ioredis connections to the primary`,
    targets,
    pids: processes.map((p) => p.pid),
    stop,
    logTails: tails,
  };
}

/** Until the primary lists `replicas` replicas online, or a server exits. */
async function waitReplicasOnline(primary: Redis, replicas: number, processes: readonly PeerProcess[], timeoutMs: number): Promise<void> {
  const until = Date.now() + timeoutMs;
  let last = 'no answer yet';
  while (Date.now() < until) {
    const gone = exitedEarly(processes);
    if (gone !== undefined) throw gone;
    try {
      if (primary.status === 'wait') await primary.connect();
      const online = onlineReplicas(parseInfo(await primary.info('replication')));
      if (online >= replicas) return;
      last = `${online} of ${replicas} replicas online`;
    } catch (err) {
      last = err instanceof Error ? err.message : String(err);
    }
    await sleep(100);
  }
  throw new Error(`replicas not online after ${timeoutMs} ms (${last})`);
}
