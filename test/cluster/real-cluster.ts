/**
 * Real `mydatastore server` processes on 127.0.0.1 for the data-path tests: start (port 0, a temp data
 * directory per test), restart on the same port and data, wait for the committed ring of 3, read one
 * replica's stored version with ReplicaRead (no quorum, no read repair), and wait for gossip to see a
 * node alive. Every process is killed at teardown; on a failure every node's output is printed.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Long from 'long';
import type { Test } from 'tap';
import { compareTimestamps, type Timestamp } from '../../cluster/hlc.js';
import { RpcClient } from '../../rpc/client.js';
import { Methods } from '../../rpc/methods.js';
import { mydatastore } from '../../proto/gen/messages.js';
import { statusFromPb } from '../../tools/commands/status.js';
import { startNode, type Started } from '../support/processes.js';
import { logText } from '../support/log-lines.js';
import { waitFor } from '../support/wait.js';

export const cli = fileURLToPath(new URL('../../tools/mydatastore.js', import.meta.url));

/**
 * Fast failure detection and Raft, so a test waits seconds, not minutes; the HTTP gateway on any free port
 * (its default, RPC port + 1000, may be taken when a node restarts on a fixed RPC port).
 */
export const FAST_FLAGS = [
  '--probe-interval-ms', '200',
  '--push-pull-interval-ms', '1000',
  '--leave-timeout-ms', '500',
  '--raft-tick', '50',
  '--epoch-interval', '500',
  '--http', '127.0.0.1:0',
];

export interface RunningNode extends Started {
  id: string;
  address: string;
  data: string;
  /** The HTTP gateway's base URL (it serves /metrics). */
  http: string | undefined;
}

/** A replica's stored version of a key, with its full HLC timestamp. */
export interface StoredVersion {
  value: string;
  tombstone: boolean;
  timestamp: Timestamp;
}

export const enc = (s: string): Buffer => Buffer.from(s);
export const dec = (b: Uint8Array): string => Buffer.from(b).toString();

/** Same value, tombstone flag and full timestamp (physical ms, logical, node). */
export function sameVersion(a: StoredVersion | undefined, b: StoredVersion | undefined): boolean {
  if (a === undefined || b === undefined) return a === b;
  return a.value === b.value && a.tombstone === b.tombstone && compareTimestamps(a.timestamp, b.timestamp) === 0;
}

export function formatVersion(v: StoredVersion | undefined): string {
  if (v === undefined) return '(none)';
  const ts = `${v.timestamp.physicalMs}.${v.timestamp.logical}@${v.timestamp.node}`;
  return v.tombstone ? `tombstone ${ts}` : `"${v.value}" ${ts}`;
}

export interface RealClusterOptions {
  clusterId: string;
  /** Flags added to every node's command line (after the fast defaults). */
  extraArgs?: string[];
}

export class RealCluster {
  /** For Status, Members and ReplicaRead; client API calls may use it too. */
  readonly rpc = new RpcClient({ connectTimeoutMs: 500, defaultTimeoutMs: 5000, backoffMaxMs: 50 });
  readonly dir: string;
  private readonly everStarted: RunningNode[] = [];

  constructor(
    private readonly t: Test,
    private readonly opts: RealClusterOptions,
  ) {
    this.dir = mkdtempSync(join(tmpdir(), `mydatastore-${opts.clusterId}-`));
    t.teardown(() => rmSync(this.dir, { recursive: true, force: true }));
    t.teardown(() => this.rpc.destroy());
    t.teardown(() => {
      if (t.passing()) return;
      for (const n of this.everStarted) process.stderr.write(`---- ${n.id} (${n.address}) ----\n${n.output()}\n`);
    });
  }

  /** Starts a node (no seeds: it bootstraps the cluster); `listen` may name a previous node's address. */
  async start(id: string, listen: string, seeds: string[]): Promise<RunningNode> {
    const data = join(this.dir, id);
    const args = ['server', '--node-id', id, '--listen', listen, '--data', data, '--cluster-id', this.opts.clusterId, ...FAST_FLAGS, ...(this.opts.extraArgs ?? [])];
    if (seeds.length > 0) args.push('--seeds', seeds.join(','));
    else args.push('--bootstrap');
    const s = await startNode(this.t, cli, args, /listening on 127\.0\.0\.1:(\d+)/);
    const http = /http gateway on (\S+)/.exec(logText(s.output()))?.[1];
    const node = { ...s, id, address: `127.0.0.1:${s.match}`, data, http };
    this.everStarted.push(node);
    return node;
  }

  /** n1 (bootstrap), n2 and n3, once all three have committed a ring of 3 with N=3, R=2, W=2. */
  async startThree(): Promise<[RunningNode, RunningNode, RunningNode]> {
    const n1 = await this.start('n1', '127.0.0.1:0', []);
    // Together, so that the leader adds both in one transition (joins wait while one is in flight).
    const [n2, n3] = await Promise.all([this.start('n2', '127.0.0.1:0', [n1.address]), this.start('n3', '127.0.0.1:0', [n1.address])]);
    await this.waitRingOf3([n1, n2, n3]);
    return [n1, n2, n3];
  }

  /** Waits until every given node has committed a ring of 3 members with N=3, R=2, W=2. */
  async waitRingOf3(nodes: RunningNode[], timeoutMs = 30_000): Promise<void> {
    const ringOf3 = async (): Promise<boolean> => {
      try {
        const ss = await Promise.all(nodes.map(async (n) => statusFromPb(await this.rpc.call(n.address, Methods.Status, {}))));
        return ss.every((s) => s.ringMembers.length === 3 && s.config.replicas === 3 && s.config.writeQuorum === 2 && s.config.readQuorum === 2);
      } catch {
        return false;
      }
    };
    await waitFor(ringOf3, timeoutMs, 'the nodes to commit a ring of 3 (N=3, R=2, W=2)');
  }

  /** Waits until gossip on every node of `observers` says `id` is alive (or, with alive false, not alive). */
  async waitGossip(observers: RunningNode[], id: string, alive: boolean, timeoutMs = 20_000): Promise<void> {
    const Alive = mydatastore.cluster.MemberState.ALIVE;
    await waitFor(
      async () => {
        try {
          const views = await Promise.all(observers.map((o) => this.rpc.call(o.address, Methods.Members, {})));
          return views.every((v) => v.members.some((m) => m.nodeId === id && ((m.state ?? Alive) === Alive) === alive));
        } catch {
          return false;
        }
      },
      timeoutMs,
      `gossip on ${observers.map((o) => o.id).join(',')} to see ${id} ${alive ? 'alive' : 'down'}`,
    );
  }

  /** The version in n's own replica store, tombstones included (ReplicaRead: no quorum, no repair). */
  async stored(n: RunningNode, key: string): Promise<StoredVersion | undefined> {
    const res = await this.rpc.call(n.address, Methods.ReplicaRead, { from: { clusterId: this.opts.clusterId, nodeId: 'test' }, key: enc(key) });
    if (!res.found || res.record === null || res.record === undefined) return undefined;
    const r = res.record;
    return {
      value: dec(r.value ?? new Uint8Array(0)),
      tombstone: r.tombstone === true,
      timestamp: { physicalMs: Long.fromValue(r.timestamp ?? 0).toNumber(), logical: r.logical ?? 0, node: r.node ?? '' },
    };
  }

  /** The stored value (undefined for none or a tombstone). */
  async storedValue(n: RunningNode, key: string): Promise<string | undefined> {
    const v = await this.stored(n, key);
    return v === undefined || v.tombstone ? undefined : v.value;
  }

  /** The sum of a metric's samples (all label sets) in n's Prometheus /metrics text. */
  async metric(n: RunningNode, name: string): Promise<number> {
    if (n.http === undefined) throw new Error(`${n.id} logged no HTTP gateway address`);
    const res = await fetch(`${n.http.replace(/\/$/, '')}/metrics`);
    if (!res.ok) throw new Error(`GET ${n.http}/metrics: HTTP ${res.status}`);
    let sum = 0;
    for (const line of (await res.text()).split('\n')) {
      const m = /^([a-z_:][a-z0-9_:]*)(?:\{[^}]*\})? (\S+)$/i.exec(line);
      if (m?.[1] === name) sum += Number(m[2]);
    }
    return sum;
  }
}
