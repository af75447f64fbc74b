/**
 * `mydatastore cluster restart <id>`: starts a stopped (or crashed, or killed) node of a detached local
 * cluster again, as the same node — same id, ports, data directory and settings — seeded with the
 * nodes that run, and returns once it answers and the running nodes see it alive again.
 */
import { resolve } from 'node:path';
import { ClusterCommandError, findNode, requireDetachedCluster, writeClusterFile } from './cluster-file.js';
import { processState, serverArgs, spawnDetached, tail, waitUntilSeenAlive } from './cluster-processes.js';
import { seedsFor, runningNodes } from './cluster-seeds.js';

export interface ClusterRestartOptions {
  data: string;
  /** How long to wait for the node to be seen alive. */
  readyTimeout: number;
}

export async function clusterRestart(id: string, opts: ClusterRestartOptions): Promise<number> {
  const data = resolve(opts.data);
  try {
    const file = requireDetachedCluster(data, 'restart its nodes');
    const node = findNode(file, id);
    const state = processState(node);
    if (state === 'running' || state === 'paused') {
      throw new ClusterCommandError(`${id} is already ${state} (pid ${node.pid}): stop it first with "mydatastore cluster kill ${id}"`);
    }
    // The first node keeps --bootstrap: with its Raft state on disk it resumes the cluster, never makes a new one.
    spawnDetached(node, serverArgs(node, seedsFor(node, file.nodes), node === file.nodes[0], file));
    writeClusterFile(data, file);
    const ready = await waitUntilSeenAlive([node], [node, ...runningNodes(file.nodes, node)], opts.readyTimeout);
    if (ready.outcome === 'exited') {
      console.error(`${id} exited while starting; its log (${node.log}):\n${tail(node.log)}`);
      return 1;
    }
    console.log(`restarted ${id}  ${node.address}  http://${node.http}  pid ${node.pid}  log ${node.log}`);
    if (ready.outcome === 'timeout') {
      console.log(`warning: after ${opts.readyTimeout} ms, ${ready.pending.map((n) => n.id).join(', ')} did not yet see ${id} alive`);
    } else {
      console.log(`every running node sees ${id} alive`);
    }
    return 0;
  } catch (err) {
    if (!(err instanceof ClusterCommandError)) throw err;
    console.error(`cannot restart ${id}: ${err.message}`);
    return 1;
  }
}
