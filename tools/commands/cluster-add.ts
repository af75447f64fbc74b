/**
 * `mydatastore cluster add`: grows a detached local cluster by one node — nodeK+1 after the highest
 * nodeK, on the port after the highest RPC port and the one after the highest HTTP port, with the same
 * settings, seeded with the running nodes. It is recorded in DATA/cluster.json (so `cluster stop` stops it
 * too) and the command returns once it answers and every running node sees it alive.
 */
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { ClusterCommandError, requireDetachedCluster, writeClusterFile } from './cluster-file.js';
import type { ClusterFile, NodeInfo } from './cluster-file.js';
import { portFree, serverArgs, spawnDetached, stopPids, tail, waitUntilSeenAlive } from './cluster-processes.js';
import { runningNodes, seedsFor } from './cluster-seeds.js';

export interface ClusterAddOptions {
  data: string;
  /** How long to wait for the running nodes to see the new one alive. */
  readyTimeout: number;
}

const portOf = (address: string) => Number(address.slice(address.lastIndexOf(':') + 1));

/** The next node: the next free nodeK number, and the ports after the highest ones in use. */
function nextNode(file: ClusterFile, data: string): NodeInfo {
  const numbers = file.nodes.map((n) => /^node(\d+)$/.exec(n.id)?.[1]).map((k) => (k === undefined ? 0 : Number(k)));
  const id = `node${Math.max(0, ...numbers) + 1}`;
  const rpcPort = Math.max(...file.nodes.map((n) => portOf(n.address))) + 1;
  const httpPort = Math.max(...file.nodes.map((n) => portOf(n.http))) + 1;
  const dir = join(data, id);
  return { id, address: `127.0.0.1:${rpcPort}`, http: `127.0.0.1:${httpPort}`, dir, log: join(dir, 'node.log') };
}

async function checkPorts(node: NodeInfo, file: ClusterFile): Promise<void> {
  for (const address of [node.address, node.http]) {
    const port = portOf(address);
    if (port > 65535) throw new ClusterCommandError(`the next port, ${port}, is beyond 65535`);
    if (file.nodes.some((n) => n.address === address || n.http === address)) {
      throw new ClusterCommandError(`${address} is the port of another node of the cluster: pick --base-port and --http-base-port further apart when starting it`);
    }
    if (!(await portFree(port))) throw new ClusterCommandError(`${address} is already in use (another cluster or program?)`);
  }
}

export async function clusterAdd(opts: ClusterAddOptions): Promise<number> {
  const data = resolve(opts.data);
  try {
    const file = requireDetachedCluster(data, 'grow');
    if (file.nodes.length === 0) throw new ClusterCommandError(`the cluster in ${data} has no node`);
    const node = nextNode(file, data);
    await checkPorts(node, file);
    mkdirSync(node.dir, { recursive: true });
    const peers = runningNodes(file.nodes, node);
    spawnDetached(node, serverArgs(node, seedsFor(node, file.nodes), false, file));
    // Recorded before waiting, so "cluster stop" finds it even if this command is interrupted.
    writeClusterFile(data, { ...file, nodes: [...file.nodes, node] });
    const ready = await waitUntilSeenAlive([node], [node, ...peers], opts.readyTimeout);
    if (ready.outcome === 'exited') {
      console.error(`${node.id} exited during startup; its log (${node.log}):\n${tail(node.log)}`);
      await stopPids([node], 10_000);
      writeClusterFile(data, file);
      return 1;
    }
    console.log(`added ${node.id}  ${node.address}  http://${node.http}  pid ${node.pid}  log ${node.log}`);
    if (ready.outcome === 'timeout') {
      console.log(`warning: after ${opts.readyTimeout} ms, ${ready.pending.map((n) => n.id).join(', ')} did not yet see ${node.id} alive`);
    } else {
      console.log(`the cluster has ${file.nodes.length + 1} nodes; every running node sees ${node.id} alive`);
    }
    return 0;
  } catch (err) {
    if (!(err instanceof ClusterCommandError)) throw err;
    console.error(`cannot add a node: ${err.message}`);
    return 1;
  }
}
