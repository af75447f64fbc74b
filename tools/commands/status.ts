/**
 * `mydatastore status`: what one node knows of the Raft-committed cluster state (Status RPC, method 71) —
 * its Raft role, the leader, term, commit and applied index, the epoch, the config, the committed members
 * and the ring's members.
 */
import Long from 'long';
import { RpcClient } from '../../rpc/client.js';
import { errorText } from '../../rpc/errors.js';
import { Methods } from '../../rpc/methods.js';
import type { ClientCredentials } from '../client-credentials.js';
import type { mydatastore } from '../../proto/gen/messages.js';

export interface StatusOptions {
  address: string;
  timeout: number;
  json?: boolean;
  credentials?: ClientCredentials;
}

/** The Status response with plain numbers instead of Longs: what `--json` prints and tests read. */
export interface NodeStatus {
  nodeId: string;
  address: string;
  clusterId: string;
  role: string;
  leaderId: string;
  term: number;
  commitIndex: number;
  appliedIndex: number;
  lastIndex: number;
  snapshotIndex: number;
  snapshotsInstalled: number;
  epoch: number;
  created: boolean;
  config: { partitions: number; replicas: number; readQuorum: number; writeQuorum: number };
  members: { id: string; address: string; zone: string; status: string; joinedEpoch: number }[];
  voters: string[];
  learners: string[];
  ringMembers: string[];
}

const num = (v: Long | number | null | undefined): number => (v === null || v === undefined ? 0 : Long.isLong(v) ? v.toNumber() : Number(v));

export function statusFromPb(res: mydatastore.cluster.StatusResponse): NodeStatus {
  const c = res.config;
  return {
    nodeId: res.nodeId,
    address: res.address,
    clusterId: res.clusterId,
    role: res.role,
    leaderId: res.leaderId,
    term: num(res.term),
    commitIndex: num(res.commitIndex),
    appliedIndex: num(res.appliedIndex),
    lastIndex: num(res.lastIndex),
    snapshotIndex: num(res.snapshotIndex),
    snapshotsInstalled: num(res.snapshotsInstalled),
    epoch: num(res.epoch),
    created: res.created,
    config: { partitions: c?.partitions ?? 0, replicas: c?.replicas ?? 0, readQuorum: c?.readQuorum ?? 0, writeQuorum: c?.writeQuorum ?? 0 },
    members: res.members.map((m) => ({ id: m.nodeId ?? '', address: m.address ?? '', zone: m.zone ?? '', status: m.status ?? '', joinedEpoch: num(m.joinedEpoch) })),
    voters: [...res.voters],
    learners: [...res.learners],
    ringMembers: [...res.ringMembers],
  };
}

/** Asks one node for its status. */
export async function fetchStatus(address: string, timeoutMs: number, credentials: ClientCredentials = {}): Promise<NodeStatus> {
  const client = new RpcClient({ connectTimeoutMs: timeoutMs, defaultTimeoutMs: timeoutMs, ...credentials });
  try {
    return statusFromPb(await client.call(address, Methods.Status, {}));
  } finally {
    client.destroy();
  }
}

/** The status as readable text: a summary, then one line per committed member. */
export function formatStatus(s: NodeStatus): string {
  const c = s.config;
  const lines = [
    `node ${s.nodeId} (${s.address}) of cluster "${s.clusterId}": raft ${s.role}, leader ${s.leaderId === '' ? '(none known)' : s.leaderId}, term ${s.term}`,
    `log: commit ${s.commitIndex}, applied ${s.appliedIndex}, last ${s.lastIndex}, snapshot ${s.snapshotIndex}`,
    s.created
      ? `epoch ${s.epoch}; config P=${c.partitions} N=${c.replicas} R=${c.readQuorum} W=${c.writeQuorum}`
      : `epoch ${s.epoch}; the cluster is not created yet (no committed config: waiting for a leader to add this node)`,
    `raft voters: ${s.voters.join(', ') || '-'}; learners: ${s.learners.join(', ') || '-'}`,
    `ring: ${s.ringMembers.length} members (${s.ringMembers.join(', ') || '-'})`,
    '',
  ];
  const rows = [['ID', 'ADDRESS', 'STATUS', 'ZONE', 'JOINED EPOCH', 'RAFT']];
  const voters = new Set(s.voters);
  const learners = new Set(s.learners);
  for (const m of s.members) {
    const raft = voters.has(m.id) ? 'voter' : learners.has(m.id) ? 'learner' : '-';
    rows.push([m.id, m.address, m.status, m.zone === '' ? '-' : m.zone, String(m.joinedEpoch), raft]);
  }
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  lines.push(`committed members: ${s.members.length}`);
  for (const r of rows) lines.push(r.map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i]!))).join('  '));
  return lines.join('\n');
}

/** Prints a node's status; exit code 0, or 1 when the node did not answer. */
export async function status(opts: StatusOptions): Promise<number> {
  try {
    const s = await fetchStatus(opts.address, opts.timeout, opts.credentials);
    console.log(opts.json === true ? JSON.stringify(s, null, 2) : formatStatus(s));
    return 0;
  } catch (err) {
    const what = errorText(err);
    console.error(`cannot get the status of ${opts.address}: ${what} (is a node running there? start one with "mydatastore server" or "mydatastore cluster start")`);
    return 1;
  }
}
