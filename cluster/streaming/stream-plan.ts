/**
 * What partition streaming has to do on one node for a committed state (cluster/STREAMING.md), as a pure
 * function: the partitions this node gains in the current transition, each with the read-ring owners to
 * stream it from, and — once no transition is in flight — the partitions it holds no replica of in
 * either ring, which it may drop.
 */
import type { ClusterState } from '../state/snapshot-codec.js';
import { transitionOf } from '../state/transition.js';

export interface GainedPartition {
  readonly partition: number;
  /** The partition's read-ring owners other than this node, best first: every one alive is streamed from. */
  readonly sources: readonly string[];
}

export interface StreamPlan {
  /** The current transition number (state.transition). */
  readonly transition: number;
  /** A member is joining or leaving. */
  readonly inFlight: boolean;
  /** Partitions this node gains in the current transition (empty when none or nothing is in flight). */
  readonly gained: readonly GainedPartition[];
  /** This node has already reported stream-done for the current transition. */
  readonly reported: boolean;
  /** Partitions to drop: owned in neither ring. Only computed when nothing is in flight, else empty. */
  readonly droppable: readonly number[];
  /** Partitions this node owns in the write ring (where it takes writes). */
  readonly writeOwned: ReadonlySet<number>;
}

export function streamPlan(state: ClusterState, self: string): StreamPlan {
  const transition = state.transition ?? 0;
  const t = transitionOf(state);
  const me = state.members.find((m) => m.id === self);
  const reported = (me?.streamedTransition ?? 0) === transition;
  const writeOwned = new Set<number>();
  const readOwned = new Set<number>();
  for (let p = 0; p < t.read.partitions; p++) {
    if (t.write.members.includes(self) && t.write.preferenceList(p).includes(self)) writeOwned.add(p);
    if (t.read.members.includes(self) && t.read.preferenceList(p).includes(self)) readOwned.add(p);
  }
  const gained = (t.gained.get(self) ?? []).map((partition) => ({
    partition,
    sources: t.read.members.length === 0 ? [] : t.read.preferenceList(partition).filter((n) => n !== self),
  }));
  const droppable: number[] = [];
  if (!t.inFlight && state.created) {
    for (let p = 0; p < t.read.partitions; p++) if (!readOwned.has(p) && !writeOwned.has(p)) droppable.push(p);
  }
  return { transition, inFlight: t.inFlight, gained, reported, droppable, writeOwned };
}
