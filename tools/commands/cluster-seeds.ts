/**
 * Which nodes of a local cluster a node joining later (`cluster add`, `cluster restart`) is seeded with,
 * and which ones must see it alive before the command returns: the others whose process runs (a paused
 * node answers nothing, an exited one cannot be reached).
 */
import type { NodeInfo } from './cluster-file.js';
import { processState } from './cluster-processes.js';

/** The nodes other than `except` whose process runs (not paused). */
export function runningNodes(nodes: readonly NodeInfo[], except: NodeInfo): NodeInfo[] {
  return nodes.filter((n) => n !== except && processState(n) === 'running');
}

/** The running others; all the others if none runs (the node then waits for one of them to come back). */
export function seedsFor(node: NodeInfo, nodes: readonly NodeInfo[]): NodeInfo[] {
  const running = runningNodes(nodes, node);
  return running.length > 0 ? running : nodes.filter((n) => n !== node);
}
