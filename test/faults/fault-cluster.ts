/**
 * The fault harness's cluster: real `mydatastore server` processes on 127.0.0.1 whose traffic to each
 * peer goes through a LinkProxy of the harness (one per ordered pair, set up through
 * MYDATASTORE_TEST_DIAL_MAP, tools/dial-map.ts). Clients reach the nodes directly. The harness can
 * kill -9 and restart a node (same port and data), pause it (SIGSTOP) and resume it, cut any set of
 * directed links (partitions of any shape, one-way ones included), and skew a node's clock
 * (MYDATASTORE_TEST_CLOCK_OFFSET_FILE, tools/test-clock.ts). Every process and proxy is stopped at
 * teardown; on a failure each node's output is printed.
 */
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { createServer, type Server } from 'node:net';
import type { Test } from 'tap';
import { Methods } from '../../rpc/methods.js';
import { RpcClient } from '../../rpc/client.js';
import { statusFromPb } from '../../tools/commands/status.js';
import { DIAL_MAP_VARIABLE } from '../../tools/dial-map.js';
import { CLOCK_OFFSET_VARIABLE } from '../../tools/test-clock.js';
import { FAST_FLAGS, cli } from '../cluster/real-cluster.js';
import { killAndWait, startNode, type Started } from '../support/processes.js';
import { logText } from '../support/log-lines.js';
import { waitFor } from '../support/wait.js';
import { LinkProxy } from './link-proxy.js';

export interface FaultNode {
  readonly id: string;
  readonly address: string;
  readonly port: number;
  readonly data: string;
  process: Started | undefined;
  paused: boolean;
  /** Started at least once (a node of `nodes` beyond `initial` is not until join()). */
  launched: boolean;
  /** Decommissioned and stopped for good. */
  retired: boolean;
}

export interface FaultClusterOptions {
  nodes: number;
  /** Nodes started at once (default all); the others wait for join(). */
  initial?: number;
  clusterId: string;
  /** Flags added to every node's command line (after the fast defaults). */
  extraArgs?: string[];
}

export class FaultCluster {
  /** For Status and ReplicaRead (direct, not through the proxies). */
  readonly rpc = new RpcClient({ connectTimeoutMs: 1000, defaultTimeoutMs: 5000, backoffMaxMs: 100 });
  readonly nodes: FaultNode[] = [];
  private readonly links = new Map<string, LinkProxy>();
  private readonly outputs: { id: string; output: () => string }[] = [];
  /** Listeners holding the ports of nodes not started yet. */
  private readonly held = new Map<string, Server>();

  private constructor(
    private readonly t: Test,
    private readonly opts: FaultClusterOptions,
    readonly dir: string,
  ) {}

  /** Starts the proxies and the nodes (the first bootstraps), and waits for a committed ring of all. */
  static async start(t: Test, opts: FaultClusterOptions): Promise<FaultCluster> {
    const dir = mkdtempSync(join(tmpdir(), `mydatastore-faults-${opts.clusterId}-`));
    const c = new FaultCluster(t, opts, dir);
    t.teardown(() => c.stopAll());
    // A stopped (SIGSTOP) node cannot notice its parent dying (tools/exit-with-parent.ts): kill them
    // if this process exits without its teardown (tap's timeout).
    const killPaused = (): void => {
      for (const n of c.nodes) if (n.paused) n.process?.child.kill('SIGKILL');
    };
    process.once('exit', killPaused);
    t.teardown(() => void process.removeListener('exit', killPaused));
    t.teardown(() => {
      if (t.passing()) return;
      for (const o of c.outputs) process.stderr.write(`---- ${o.id} ----\n${o.output()}\n`);
    });
    // Each node's port stays held by a listener of ours until the node starts, so that nothing else —
    // the proxies opened next on port 0 included — can be given it meanwhile.
    for (let i = 0; i < opts.nodes; i++) {
      const id = `n${i + 1}`;
      const hold = await holdPort();
      c.held.set(id, hold.server);
      t.teardown(() => closeServer(hold.server));
      c.nodes.push({ id, port: hold.port, address: `127.0.0.1:${hold.port}`, data: join(dir, id), process: undefined, paused: false, launched: false, retired: false });
    }
    for (const from of c.nodes) {
      for (const to of c.nodes) {
        if (from !== to) c.links.set(`${from.id}>${to.id}`, await LinkProxy.start(from.id, to.id, { host: '127.0.0.1', port: to.port }));
      }
    }
    const initial = opts.initial ?? opts.nodes;
    const t0 = Date.now();
    // The first creates the cluster; the others start together, so that the leader adds them all in
    // one transition rather than one transition each (joins wait while one is in flight).
    await c.launch(c.nodes[0]!);
    await Promise.all(c.nodes.slice(1, initial).map((n) => c.launch(n)));
    await c.waitRing(initial);
    t.comment(`${initial} nodes with a committed ring after ${Date.now() - t0} ms`);
    return c;
  }

  node(id: string): FaultNode {
    const n = this.nodes.find((x) => x.id === id);
    if (n === undefined) throw new Error(`no node ${id}`);
    return n;
  }

  /** The nodes that are members: started, not retired (running or not). */
  get members(): FaultNode[] {
    return this.nodes.filter((n) => n.launched && !n.retired);
  }

  get addresses(): string[] {
    return this.members.map((n) => n.address);
  }

  /** Starts a node held back at start: it joins through its peers (Raft adds it, it streams in). */
  async join(id: string): Promise<void> {
    const n = this.node(id);
    if (n.launched) throw new Error(`${id} has already been started`);
    await this.launch(n);
  }

  /** Stops a decommissioned node for good: it is no longer counted among the members. */
  async retire(id: string): Promise<void> {
    await this.kill(id);
    this.node(id).retired = true;
  }

  /** kill -9. */
  async kill(id: string): Promise<void> {
    const n = this.node(id);
    if (n.process === undefined) return;
    await killAndWait(n.process.child);
    n.process = undefined;
    n.paused = false;
  }

  /** Starts a killed node again on its port and data. */
  async restart(id: string): Promise<void> {
    const n = this.node(id);
    if (n.process !== undefined) return;
    await this.launch(n);
  }

  pause(id: string): void {
    const n = this.node(id);
    if (n.process === undefined || n.paused) return;
    n.process.child.kill('SIGSTOP');
    n.paused = true;
  }

  resume(id: string): void {
    const n = this.node(id);
    if (n.process === undefined || !n.paused) return;
    n.process.child.kill('SIGCONT');
    n.process.child.kill('SIGUSR2'); // a skew set while it was stopped takes effect now
    n.paused = false;
  }

  /**
   * Sets node id's clock offset (ms, either sign; 0 = real time) through the test clock hook
   * (tools/test-clock.ts). A running node re-reads it at once and logs it; a stopped or paused one
   * when it runs again.
   */
  async skew(id: string, offsetMs: number): Promise<void> {
    const n = this.node(id);
    writeFileSync(this.clockFile(n), String(Math.round(offsetMs)));
    const p = n.process;
    if (p === undefined || n.paused) return;
    const seen = (): number => (logText(p.output()).match(/test clock offset -?\d+ ms \(#\d+\)/g) ?? []).length;
    const before = seen();
    p.child.kill('SIGUSR2');
    await waitFor(() => seen() > before, 10_000, `${id} to take its new clock offset`);
  }

  /** Cuts every link between nodes of different groups, both ways (nodes in no group are isolated). */
  partition(groups: readonly (readonly string[])[]): void {
    const groupOf = new Map<string, number>();
    groups.forEach((g, i) => g.forEach((id) => groupOf.set(id, i)));
    for (const link of this.links.values()) {
      const a = groupOf.get(link.from);
      const b = groupOf.get(link.to);
      if (a === undefined || b === undefined || a !== b) link.cut();
    }
  }

  /** Cuts only the link from → to (one way: `to` still reaches `from`). */
  cutLink(from: string, to: string): void {
    this.link(from, to).cut();
  }

  /** Cuts every link that is not between neighbours in `order`, each node then sees only its two. */
  ring(order: readonly string[]): void {
    const index = new Map(order.map((id, i) => [id, i]));
    for (const link of this.links.values()) {
      const d = Math.abs(index.get(link.from)! - index.get(link.to)!);
      if (d !== 1 && d !== order.length - 1) link.cut();
    }
  }

  /** Every link works again. */
  heal(): void {
    for (const link of this.links.values()) link.heal();
  }

  /** Heals, resumes paused nodes and restarts killed ones. */
  async recoverAll(): Promise<void> {
    this.heal();
    for (const n of this.members) this.resume(n.id);
    for (const n of this.members) if (n.process === undefined) await this.launch(n);
  }

  /** Links that never carried a connection (none, once the nodes have talked: the dial maps work). */
  unusedLinks(): string[] {
    return [...this.links.values()].filter((l) => l.accepted === 0).map((l) => `${l.from}>${l.to}`);
  }

  /** Waits until every running member has committed a ring of `members` nodes (or exactly these ids). */
  async waitRing(members: number | readonly string[], timeoutMs = 60_000): Promise<void> {
    const want = typeof members === 'number' ? undefined : [...members].sort().join(',');
    const size = typeof members === 'number' ? members : members.length;
    await waitFor(
      async () => {
        try {
          const running = this.members.filter((n) => n.process !== undefined);
          const ss = await Promise.all(running.map(async (n) => statusFromPb(await this.rpc.call(n.address, Methods.Status, {}))));
          return ss.every((s) => s.ringMembers.length === size && (want === undefined || [...s.ringMembers].sort().join(',') === want));
        } catch {
          return false;
        }
      },
      timeoutMs,
      `every member to commit a ring of ${typeof members === 'number' ? members : members.join(',')}`,
    );
  }

  private link(from: string, to: string): LinkProxy {
    const l = this.links.get(`${from}>${to}`);
    if (l === undefined) throw new Error(`no link ${from} → ${to}`);
    return l;
  }

  private clockFile(n: FaultNode): string {
    return join(this.dir, `${n.id}.clock-offset`);
  }

  private async launch(n: FaultNode): Promise<void> {
    n.launched = true;
    const hold = this.held.get(n.id);
    if (hold !== undefined) {
      this.held.delete(n.id);
      await closeServer(hold);
    }
    if (!existsSync(this.clockFile(n))) writeFileSync(this.clockFile(n), '0');
    const dial: Record<string, string> = {};
    for (const peer of this.nodes) if (peer !== n) dial[peer.address] = `127.0.0.1:${this.link(n.id, peer.id).port}`;
    const first = this.nodes[0]!;
    const args = ['server', '--node-id', n.id, '--listen', n.address, '--data', n.data, '--cluster-id', this.opts.clusterId, ...FAST_FLAGS, ...(this.opts.extraArgs ?? [])];
    // Only the very first start creates the cluster; a restart rejoins through its peers.
    if (n === first && this.outputs.length === 0) args.push('--bootstrap');
    else args.push('--seeds', this.nodes.filter((p) => p !== n).map((p) => p.address).join(','));
    n.process = await startNode(this.t, cli, args, /listening on 127\.0\.0\.1:(\d+)/, 30_000, {
      [DIAL_MAP_VARIABLE]: JSON.stringify(dial),
      [CLOCK_OFFSET_VARIABLE]: this.clockFile(n),
    });
    const started = n.process;
    this.outputs.push({ id: `${n.id} (started ${new Date().toISOString()})`, output: () => started.output() });
  }

  private async stopAll(): Promise<void> {
    for (const n of this.nodes) {
      const child: ChildProcess | undefined = n.process?.child;
      if (child === undefined) continue;
      if (n.paused) child.kill('SIGCONT');
      await killAndWait(child);
    }
    for (const l of this.links.values()) await l.stop();
    this.rpc.destroy();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/**
 * A listener on 127.0.0.1, any free port: the port is ours while it listens. Peers dialling the node
 * before it starts are reset at once (as by a closed port), and no connection keeps close() waiting.
 */
async function holdPort(): Promise<{ server: Server; port: number }> {
  const server = createServer((socket) => socket.destroy());
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const a = server.address();
  if (a === null || typeof a === 'string') throw new Error('no TCP port from a listener on 127.0.0.1');
  return { server, port: a.port };
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => (server.listening ? server.close(() => resolve()) : resolve()));
}
