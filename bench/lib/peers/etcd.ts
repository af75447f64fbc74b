/**
 * etcd as a peer in the cluster bench: a 3-member cluster on 127.0.0.1 (each member its own client and
 * peer port, data and log under one temporary directory), driven through the `etcd3` Node client over all
 * three members' client URLs.
 *
 * Targets (both put the same way: a Raft-committed, fsynced write):
 *   linearizable  puts, and gets as etcd serves them by default (through the leader's read index)
 *   serializable  puts, and member-local gets (may be stale; no round to the leader)
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Etcd3 } from 'etcd3';
import type { KvTarget } from '../kv-target.js';
import { freePorts } from './free-port.js';
import { exitedEarly, killOnExit, logTails, sleep, spawnLogged, stopProcesses } from './peer-process.js';
import type { PeerProcess, RunningPeer } from './peer-process.js';

/** The setting whose gets are linearizable (etcd's default): the one issue 13's targets compare with. */
export const ETCD_LINEARIZABLE = 'put, linearizable get';

/** How long the members get to exit on SIGTERM before SIGKILL. */
const STOP_GRACE_MS = 2000;

export interface EtcdMember {
  name: string;
  clientPort: number;
  peerPort: number;
}

export interface EtcdOptions {
  /** The etcd binary. */
  command: string;
  members?: number;
  /** Per-request deadline of the client. */
  deadlineMs: number;
  readyTimeoutMs?: number;
}

/** The `--initial-cluster` value: every member's name and peer URL, comma separated. */
export function initialCluster(members: readonly EtcdMember[]): string {
  return members.map((m) => `${m.name}=http://127.0.0.1:${m.peerPort}`).join(',');
}

/** One member's command line; `dataDir` is its own directory. */
export function memberArgs(member: EtcdMember, members: readonly EtcdMember[], dataDir: string, token: string): string[] {
  const client = `http://127.0.0.1:${member.clientPort}`;
  const peer = `http://127.0.0.1:${member.peerPort}`;
  return [
    '--name', member.name,
    '--data-dir', dataDir,
    '--listen-client-urls', client,
    '--advertise-client-urls', client,
    '--listen-peer-urls', peer,
    '--initial-advertise-peer-urls', peer,
    '--initial-cluster', initialCluster(members),
    '--initial-cluster-state', 'new',
    '--initial-cluster-token', token,
  ];
}

export async function startEtcd(opts: EtcdOptions): Promise<RunningPeer> {
  const n = opts.members ?? 3;
  const dir = mkdtempSync(join(tmpdir(), 'mydatastore-bench-etcd-'));
  const ports = await freePorts(2 * n);
  const members: EtcdMember[] = Array.from({ length: n }, (_, i) => ({ name: `etcd${i + 1}`, clientPort: ports[2 * i]!, peerPort: ports[2 * i + 1]! }));
  const processes: PeerProcess[] = [];
  const unhook = killOnExit(processes, dir);
  const client = new Etcd3({
    hosts: members.map((m) => `http://127.0.0.1:${m.clientPort}`),
    defaultCallOptions: (context) => (context.isStream ? {} : { deadline: Date.now() + opts.deadlineMs }),
  });
  let stopping: Promise<void> | undefined;
  const stop = () =>
    (stopping ??= (async () => {
      client.close();
      // Stopped all at once, the last member standing (as leader, trying to hand leadership to members
      // that are gone) does not exit on SIGTERM for several seconds; its data is thrown away, so kill it.
      await stopProcesses(processes, STOP_GRACE_MS, false);
      unhook();
      rmSync(dir, { recursive: true, force: true });
    })());
  const tails = (lines = 15) => logTails(processes, lines);
  try {
    const token = `bench-${process.pid}-${Date.now()}`;
    for (const m of members) {
      const dataDir = join(dir, m.name);
      mkdirSync(dataDir);
      processes.push(await spawnLogged(m.name, opts.command, memberArgs(m, members, dataDir, token), join(dir, `${m.name}.log`)));
    }
    await waitServesPut(client, processes, opts.readyTimeoutMs ?? 60_000);
  } catch (err) {
    const logs = tails();
    await stop();
    throw new Error(`etcd did not start: ${err instanceof Error ? err.message : String(err)}\n${logs}`, { cause: err });
  }
  const put = async (key: Buffer, value: Buffer) => {
    await client.put(key).value(value);
  };
  const targets: KvTarget[] = [
    { system: 'etcd', setting: ETCD_LINEARIZABLE, put, get: async (key) => (await client.get(key).buffer()) !== null },
    { system: 'etcd', setting: 'put, serializable get', put, get: async (key) => (await client.get(key).serializable(true).buffer()) !== null },
  ];
  return {
    system: 'etcd',
    description: `etcd ${n} members on 127.0.0.1 (client ports ${members.map((m) => m.clientPort).join(', ')}), default flags (fsync on commit), etcd3 Node client over all members`,
    targets,
    pids: processes.map((p) => p.pid),
    stop,
    logTails: tails,
  };
}

/** Until a put goes through (a leader is elected and a quorum commits), or a member exits. */
async function waitServesPut(client: Etcd3, processes: readonly PeerProcess[], timeoutMs: number): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const gone = exitedEarly(processes);
    if (gone !== undefined) throw gone;
    try {
      await client.put('bench-ready').value('yes');
      return;
    } catch (err) {
      if (Date.now() >= until) throw new Error(`a put still fails after ${timeoutMs} ms: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
      await sleep(200);
    }
  }
}
