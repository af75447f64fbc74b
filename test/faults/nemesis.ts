/**
 * The faults a scenario runs, one at a time, chosen by a seeded random source: kill -9 then restart, a
 * SIGSTOP pause, one node isolated, majority and minority halves, a ring of overlapping majorities
 * (each node reaches only its two neighbours), one-way cuts (a node cannot reach the others, they
 * still reach it), and clock skew (a node's clock jumps 2-90 s forwards or backwards, then back). Each fault is held for a while, then undone; the history records both moments.
 */
import { Rng } from '../support/rng.js';
import type { FaultCluster } from './fault-cluster.js';
import type { History } from './history.js';

export type FaultKind = 'kill' | 'pause' | 'isolate' | 'halves' | 'ring' | 'one-way' | 'skew';
export const FAULT_KINDS: readonly FaultKind[] = ['kill', 'pause', 'isolate', 'halves', 'ring', 'one-way', 'skew'];

/** The schedule's random source: one seed replays the same faults (test/support/rng.ts). */
export function seeded(seed: number): () => number {
  const rng = new Rng(seed);
  return () => rng.next();
}

function shuffled<T>(xs: readonly T[], random: () => number): T[] {
  const out = [...xs];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

/** Runs a synchronous undo as the async one inject() returns. */
const now = (undo: () => void) => (): Promise<void> => {
  undo();
  return Promise.resolve();
};

/** Applies one fault; resolves with a description and the function that undoes it. */
export async function inject(cluster: FaultCluster, kind: FaultKind, random: () => number): Promise<{ what: string; undo: () => Promise<void> }> {
  const ids = shuffled(cluster.members.map((n) => n.id), random);
  const victim = ids[0]!;
  switch (kind) {
    case 'kill':
      await cluster.kill(victim);
      return { what: `kill -9 ${victim}`, undo: () => cluster.restart(victim) };
    case 'pause':
      cluster.pause(victim);
      return { what: `SIGSTOP ${victim}`, undo: now(() => cluster.resume(victim)) };
    case 'isolate':
      cluster.partition([[victim], ids.slice(1)]);
      return { what: `isolate ${victim}`, undo: now(() => cluster.heal()) };
    case 'halves': {
      const half = Math.floor(ids.length / 2);
      const minority = ids.slice(0, half);
      const majority = ids.slice(half);
      cluster.partition([minority, majority]);
      return { what: `partition ${minority.join(',')} | ${majority.join(',')}`, undo: now(() => cluster.heal()) };
    }
    case 'ring':
      cluster.ring(ids);
      return { what: `ring ${ids.join('-')}`, undo: now(() => cluster.heal()) };
    case 'skew': {
      const ms = Math.round((2000 + random() * 88_000) * (random() < 0.5 ? -1 : 1));
      await cluster.skew(victim, ms);
      return { what: `skew ${victim} by ${ms} ms`, undo: () => cluster.skew(victim, 0) };
    }
    case 'one-way':
      for (const other of ids.slice(1)) cluster.cutLink(victim, other);
      return { what: `one-way: ${victim} cannot reach the others`, undo: now(() => cluster.heal()) };
  }
}

/**
 * Runs faults until `until()` says stop: each held for 1.5-3.5 s, then undone, then 1-2 s of calm.
 * These waits pace the faults (they are the schedule), not a test waiting for a condition. The kinds
 * come in rounds, each a shuffle of `kinds`, so every kind runs once per round; `first` (if given)
 * opens the schedule, so that a short run still has the fault its scenario is about.
 */
export async function runNemesis(
  cluster: FaultCluster,
  history: History,
  random: () => number,
  until: () => boolean,
  kinds: readonly FaultKind[] = FAULT_KINDS,
  first?: FaultKind,
): Promise<FaultKind[]> {
  const ran: FaultKind[] = [];
  const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));
  let round: FaultKind[] = first === undefined ? [] : [first];
  while (!until()) {
    if (round.length === 0) round = shuffled(kinds, random);
    const kind = round.shift()!;
    const { what, undo } = await inject(cluster, kind, random);
    ran.push(kind);
    history.fault(`start ${what}`);
    await pause(1500 + random() * 2000);
    await undo();
    history.fault(`end ${what}`);
    await pause(1000 + random() * 1000);
  }
  return ran;
}
