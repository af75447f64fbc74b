/**
 * `mydatastore cluster status`: one line per node of a local cluster (DATA/cluster.json) — its addresses,
 * pid, whether its process runs, and what the cluster says of it: its gossip state and committed status
 * as seen by one answering node, and its own Raft role. Nodes that are down or paused are shown as such,
 * never waited for.
 */
import { resolve } from 'node:path';
import { ClusterCommandError, requireClusterFile } from './cluster-file.js';
import type { NodeInfo } from './cluster-file.js';
import { processState } from './cluster-processes.js';
import type { ProcessState } from './cluster-processes.js';
import { fetchMembers } from './members.js';
import { fetchStatus } from './status.js';
import type { NodeStatus } from './status.js';

export interface ClusterStatusOptions {
  data: string;
  timeout: number;
  json?: boolean;
}

/** One row of `cluster status` (and one element of its --json output). */
export interface ClusterNodeStatus {
  id: string;
  address: string;
  http: string;
  pid: number | null;
  process: ProcessState;
  /** Its gossip state (alive, suspect, dead, left) in the observer's view; null when no node answered or it is unknown there. */
  state: string | null;
  /** Its committed status (joining, active, leaving) in the observer's Raft state; null when not a committed member. */
  committed: string | null;
  /** Its own Raft role (leader, follower, candidate, learner...); null when it did not answer. */
  role: string | null;
  log: string;
}

interface Answer {
  node: NodeInfo;
  status?: NodeStatus;
  states?: Map<string, string>;
}

async function ask(node: NodeInfo, timeoutMs: number): Promise<Answer> {
  // A paused or exited node would only make us wait for the timeout.
  if (processState(node) !== 'running') return { node };
  const [status, view] = await Promise.allSettled([fetchStatus(node.address, timeoutMs), fetchMembers(node.address, timeoutMs)]);
  return {
    node,
    status: status.status === 'fulfilled' ? status.value : undefined,
    states: view.status === 'fulfilled' ? new Map(view.value.members.map((m) => [m.id, m.state])) : undefined,
  };
}

export async function collectClusterStatus(opts: ClusterStatusOptions): Promise<{ observer?: string; nodes: ClusterNodeStatus[] }> {
  const file = requireClusterFile(resolve(opts.data));
  const answers = await Promise.all(file.nodes.map((n) => ask(n, opts.timeout)));
  // What the cluster thinks of each node: the view of the first node that answered.
  const observer = answers.find((a) => a.states !== undefined && a.status !== undefined);
  const committed = new Map(observer?.status?.members.map((m) => [m.id, m.status]));
  const nodes = answers.map(({ node, status }) => ({
    id: node.id,
    address: node.address,
    http: node.http,
    pid: node.pid ?? null,
    process: processState(node),
    state: observer?.states?.get(node.id) ?? null,
    committed: committed.get(node.id) ?? null,
    role: status?.role ?? null,
    log: node.log,
  }));
  return { observer: observer?.node.id, nodes };
}

function formatRows(nodes: readonly ClusterNodeStatus[]): string {
  const rows = [['ID', 'RPC', 'HTTP', 'PID', 'PROCESS', 'STATE', 'COMMITTED', 'RAFT']];
  for (const n of nodes) rows.push([n.id, n.address, n.http, n.pid === null ? '-' : String(n.pid), n.process, n.state ?? '-', n.committed ?? '-', n.role ?? '-']);
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows.map((r) => r.map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i]!))).join('  ')).join('\n');
}

/** Prints the cluster's nodes; exit code 0, or 1 when there is no cluster in --data. */
export async function clusterStatus(opts: ClusterStatusOptions): Promise<number> {
  let result: Awaited<ReturnType<typeof collectClusterStatus>>;
  try {
    result = await collectClusterStatus(opts);
  } catch (err) {
    if (!(err instanceof ClusterCommandError)) throw err;
    console.error(err.message);
    return 1;
  }
  if (opts.json === true) {
    console.log(JSON.stringify(result, null, 2));
    return 0;
  }
  const running = result.nodes.filter((n) => n.process === 'running').length;
  const seen = result.observer === undefined ? 'no node answered' : `STATE and COMMITTED as seen by ${result.observer}`;
  console.log(`${result.nodes.length} nodes, ${running} running; ${seen}`);
  console.log(formatRows(result.nodes));
  return 0;
}
