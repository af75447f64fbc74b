/** Helpers shared by the simulated-cluster tests: booting n nodes, and questions about their views. */
import type { MemberRecord } from '../../../cluster/membership/types.js';
import { Simulation, type SimulationOptions } from './simulation.js';

export const nodeIds = (n: number): string[] => Array.from({ length: n }, (_, i) => `node${String(i).padStart(2, '0')}`);

/**
 * Starts n nodes at once, each joining through the first three (the seeds), and runs until every node
 * sees every other alive (or `limitMs` passes). Returns the simulation and the node ids.
 */
export function bootCluster(n: number, options: SimulationOptions, limitMs = 120_000): { sim: Simulation; ids: string[] } {
  const sim = new Simulation(options);
  const ids = nodeIds(n);
  const seeds = ids.slice(0, 3).map((id) => `${id}:7000`);
  for (const id of ids) sim.start(id, seeds);
  sim.runFor(limitMs, () => allSeeAlive(sim, ids));
  return { sim, ids };
}

/** Every running node sees each of `members` alive. */
export function allSeeAlive(sim: Simulation, members: readonly string[]): boolean {
  return sim.runningIds().every((o) => members.every((m) => sim.view(o, m)?.state === 'alive'));
}

/** Every running node sees `member` in `state`. */
export function allSee(sim: Simulation, member: string, state: MemberRecord['state']): boolean {
  return sim.runningIds().every((o) => o === member || sim.view(o, member)?.state === state);
}

/** A running node's view of the live (alive or suspect) members as sorted "id state@incarnation" lines. */
export function liveView(sim: Simulation, observer: string): string {
  return sim
    .running(observer)
    .members()
    .filter((m) => m.state === 'alive' || m.state === 'suspect')
    .map((m) => `${m.id} ${m.state}@${m.incarnation}`)
    .sort()
    .join('\n');
}

/** All running nodes hold the same view of the live members, and it contains exactly the running nodes, all alive. */
export function viewsConverged(sim: Simulation): boolean {
  const running = sim.runningIds();
  const first = running[0];
  if (first === undefined) return true;
  const reference = liveView(sim, first);
  if (!running.every((id) => liveView(sim, id) === reference)) return false;
  return running.every((id) => sim.view(first, id)?.state === 'alive') && reference.split('\n').length === running.length;
}
