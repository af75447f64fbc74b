/**
 * The two rings of a committed state and what a membership transition moves (cluster/STREAMING.md).
 *
 *   read ring  = ring of the members that are active or leaving: who holds each partition's data now;
 *   write ring = ring of the members that are active or joining: who will hold it once the transition ends.
 *
 * With no member joining or leaving both are the same ring. A member *gains* partition p when it is an
 * owner of p in the write ring but not in the read ring: it must stream p in before the transition may
 * finish. Rendezvous placement (ring.ts) means a join only moves slots *to* the joiners and a leave only
 * moves the leaver's slots, so the gainers are exactly the joiners plus, for a leave, the next-ranked
 * node of each partition the leaver held.
 *
 * Pure; results are cached per state object (states are immutable, a new object per applied entry), so
 * the planner and the data path may ask on every call.
 */
import { type Ring, type RingMember, buildRing } from '../ring.js';
import type { ClusterMember, ClusterState } from './snapshot-codec.js';

export interface Transition {
  /** Some member is joining or leaving. */
  readonly inFlight: boolean;
  readonly read: Ring;
  readonly write: Ring;
  /** Members of each ring with their zones (for PreferenceLists). */
  readonly readMembers: readonly RingMember[];
  readonly writeMembers: readonly RingMember[];
  /** Per gaining member, the partitions it gains, ascending. Empty when nothing is in flight. */
  readonly gained: ReadonlyMap<string, readonly number[]>;
  /** Every gainer has reported stream-done for the current transition. */
  readonly streamed: boolean;
}

export const inReadRing = (m: ClusterMember): boolean => m.status === 'active' || m.status === 'leaving';
export const inWriteRing = (m: ClusterMember): boolean => m.status === 'active' || m.status === 'joining';
export const inTransition = (m: ClusterMember): boolean => m.status === 'joining' || m.status === 'leaving';

const ringMember = (m: ClusterMember): RingMember => (m.zone === '' ? { id: m.id } : { id: m.id, meta: { zone: m.zone } });

const cache = new WeakMap<ClusterState, Transition>();

/** The rings and gains of `state`. */
export function transitionOf(state: ClusterState): Transition {
  let t = cache.get(state);
  if (t === undefined) {
    t = compute(state);
    cache.set(state, t);
  }
  return t;
}

function compute(state: ClusterState): Transition {
  const opts = { partitions: state.config.partitions, replicas: state.config.replicas };
  const readMembers = state.members.filter(inReadRing).map(ringMember);
  const read = buildRing(readMembers, opts);
  const inFlight = state.members.some(inTransition);
  if (!inFlight) return { inFlight, read, write: read, readMembers, writeMembers: readMembers, gained: new Map(), streamed: true };
  const writeMembers = state.members.filter(inWriteRing).map(ringMember);
  const write = buildRing(writeMembers, opts);
  const gained = new Map<string, number[]>();
  for (let p = 0; p < read.partitions; p++) {
    const owners = read.members.length === 0 ? [] : read.preferenceList(p);
    for (const w of write.members.length === 0 ? [] : write.preferenceList(p)) {
      if (owners.includes(w)) continue;
      let list = gained.get(w);
      if (list === undefined) gained.set(w, (list = []));
      list.push(p);
    }
  }
  const reported = new Map(state.members.map((m) => [m.id, m.streamedTransition ?? 0]));
  const streamed = [...gained.keys()].every((id) => reported.get(id) === (state.transition ?? 0));
  return { inFlight, read, write, readMembers, writeMembers, gained, streamed };
}

/** The read-ring and write-ring owners of partition p together: where a write goes during a transition. */
export function ownersInEither(t: Transition, p: number): { readOwners: readonly string[]; pending: readonly string[] } {
  const readOwners = t.read.members.length === 0 ? [] : t.read.preferenceList(p);
  if (!t.inFlight) return { readOwners, pending: [] };
  const pending = (t.write.members.length === 0 ? [] : t.write.preferenceList(p)).filter((n) => !readOwners.includes(n));
  return { readOwners, pending };
}
