/**
 * DATA/cluster.json: what `mydatastore cluster start` records about a local cluster so that the other
 * `cluster` subcommands (stop, status, add, kill, restart), run later from any terminal, find its nodes:
 * each node's id, addresses, directory, log and pid, plus the settings every node was started with
 * (so `add` and `restart` start a node the same way).
 */
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface NodeInfo {
  id: string;
  /** host:port of its RPC listener. */
  address: string;
  /** host:port of its HTTP gateway. */
  http: string;
  dir: string;
  log: string;
  /** The pid of its latest process (which may have exited since). */
  pid?: number;
}

/** The server flags shared by every node of the cluster. */
export interface NodeSettings {
  clusterId: string;
  logLevel: string;
  probeIntervalMs?: number;
}

export interface ClusterFile extends NodeSettings {
  startedAt: string;
  /** Foreground clusters are watched by the `cluster start` process; only detached ones may be changed by hand. */
  mode?: 'detached' | 'foreground';
  nodes: NodeInfo[];
}

/** Bad input to a `cluster` subcommand: no cluster.json, an unknown node id, a node in the wrong state. */
export class ClusterCommandError extends Error {
  override readonly name = 'ClusterCommandError';
}

export const clusterFilePath = (data: string) => join(data, 'cluster.json');

/** The cluster file of `data`, or undefined when there is none (or it cannot be read). */
export function readClusterFile(data: string): ClusterFile | undefined {
  try {
    const file = JSON.parse(readFileSync(clusterFilePath(data), 'utf8')) as ClusterFile;
    // Files written before the log level was recorded: the nodes ran with the default.
    return { ...file, logLevel: file.logLevel ?? 'info' };
  } catch {
    return undefined;
  }
}

/** Written to a temporary file and renamed, so a reader never sees half a file. */
export function writeClusterFile(data: string, file: ClusterFile): void {
  const tmp = `${clusterFilePath(data)}.tmp`;
  writeFileSync(tmp, JSON.stringify(file, null, 2) + '\n');
  renameSync(tmp, clusterFilePath(data));
}

/** The cluster file of `data`; throws a ClusterCommandError saying how to start one when there is none. */
export function requireClusterFile(data: string): ClusterFile {
  const file = readClusterFile(data);
  if (file === undefined) {
    throw new ClusterCommandError(`no cluster was started from ${data} (no cluster.json): start one with "mydatastore cluster start --detach --data ${data}"`);
  }
  return file;
}

/** Like requireClusterFile, but refuses a cluster run in the foreground (its `cluster start` stops all nodes when one dies). */
export function requireDetachedCluster(data: string, action: string): ClusterFile {
  const file = requireClusterFile(data);
  if (file.mode === 'foreground') {
    throw new ClusterCommandError(`the cluster in ${data} runs in the foreground, so it cannot ${action}: start it with "mydatastore cluster start --detach"`);
  }
  return file;
}

/** The node called `id`; throws a ClusterCommandError listing the known ids otherwise. */
export function findNode(file: ClusterFile, id: string): NodeInfo {
  const node = file.nodes.find((n) => n.id === id);
  if (node === undefined) throw new ClusterCommandError(`no node "${id}" in this cluster (its nodes: ${file.nodes.map((n) => n.id).join(', ')})`);
  return node;
}
