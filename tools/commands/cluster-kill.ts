/**
 * `mydatastore cluster kill <id> [--signal KILL|TERM|STOP|CONT]`: breaks one node of a detached local
 * cluster on purpose — KILL crashes it (the others must detect the failure), TERM stops it gracefully (it
 * tells the others it leaves), STOP pauses it (alive but silent, like a long GC pause or a hung host) and
 * CONT resumes a paused one. Returns once the process is in its new state, so `cluster status` shows it.
 */
import { resolve } from 'node:path';
import { ClusterCommandError, findNode, requireDetachedCluster } from './cluster-file.js';
import { processState, wait, waitUntilExited } from './cluster-processes.js';
import type { ProcessState } from './cluster-processes.js';

export const KILL_SIGNALS = ['KILL', 'TERM', 'STOP', 'CONT'] as const;
export type KillSignal = (typeof KILL_SIGNALS)[number];

export interface ClusterKillOptions {
  data: string;
  signal: KillSignal;
  /** How long to wait for the process to reach its new state. */
  timeout: number;
}

/** The process states a signal may be sent in, and the state it leads to. */
const EFFECT: Record<KillSignal, { from: readonly ProcessState[]; to: ProcessState; done: string }> = {
  KILL: { from: ['running', 'paused'], to: 'exited', done: 'killed' },
  TERM: { from: ['running'], to: 'exited', done: 'stopped' },
  STOP: { from: ['running'], to: 'paused', done: 'paused' },
  CONT: { from: ['paused'], to: 'running', done: 'resumed' },
};

function refusal(id: string, state: ProcessState, signal: KillSignal): string {
  if (state === 'exited' || state === 'not started') return `${id} is already stopped: start it again with "mydatastore cluster restart ${id}"`;
  if (state === 'paused') return signal === 'STOP' ? `${id} is already paused` : `${id} is paused: resume it with --signal CONT first (or crash it with --signal KILL)`;
  return `${id} is running, not paused`;
}

export async function clusterKill(id: string, opts: ClusterKillOptions): Promise<number> {
  try {
    const node = findNode(requireDetachedCluster(resolve(opts.data), 'signal its nodes'), id);
    const effect = EFFECT[opts.signal];
    const state = processState(node);
    if (!effect.from.includes(state)) throw new ClusterCommandError(refusal(id, state, opts.signal));
    process.kill(node.pid!, `SIG${opts.signal}`);
    let reached: boolean;
    if (effect.to === 'exited') {
      reached = await waitUntilExited(node, opts.timeout);
    } else {
      const until = Date.now() + opts.timeout;
      while (processState(node) !== effect.to && Date.now() < until) await wait(20);
      reached = processState(node) === effect.to;
    }
    if (!reached) {
      console.error(`sent SIG${opts.signal} to ${id} (pid ${node.pid}), but after ${opts.timeout} ms it is still ${processState(node)}`);
      return 1;
    }
    console.log(`${effect.done} ${id} (pid ${node.pid}) with SIG${opts.signal}`);
    return 0;
  } catch (err) {
    if (!(err instanceof ClusterCommandError)) throw err;
    console.error(`cannot signal ${id}: ${err.message}`);
    return 1;
  }
}
