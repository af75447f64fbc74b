/**
 * The committed rings as the data path sees it: the epoch, configuration, read ring and its preference
 * lists, the write-only ("pending") owners of each partition during a membership transition, and member
 * addresses of the node's committed cluster state, rebuilt only when the rings themselves change.
 *
 * Read ring and write ring (cluster/state/transition.ts, cluster/STREAMING.md): reads go to read-ring
 * owners; writes go to the read-ring owners *and* the partition's pending owners (write-ring owners that
 * are not read-ring owners yet: they are streaming the partition in). With nothing joining or leaving
 * there are no pending owners and both rings are the same.
 *
 * The epoch advances on a timer even when no member changes, so it is no cache key: the rings depend on
 * the committed members (id, zone, status), P and N only, and that fingerprint is the key. Building a
 * PreferenceLists is P × members work; reading the fingerprint per request is members work.
 */
import { PreferenceLists } from './preference.js';
import type { Ring } from './ring.js';
import type { ClusterState } from './state/cluster-state.js';
import { transitionOf } from './state/transition.js';

export interface RingView {
  /** The committed epoch of the state this view was read from (newer than the ring's build). */
  readonly epoch: number;
  readonly state: ClusterState;
  /** The read ring: owners that hold each partition's data now (reads, and W is counted among them). */
  readonly ring: Ring;
  /** Preference lists (with stand-ins) of the read ring. */
  readonly lists: PreferenceLists;
  /** The write ring (the read ring itself when no member is joining or leaving). */
  readonly writeRing: Ring;
  /** Write-ring owners of partition p that are not read-ring owners: they get writes, their acks do not count. */
  pendingOwners(p: number): readonly string[];
  /** Whether `node` may store writes of partition p (an owner in either ring). */
  acceptsWrites(node: string, p: number): boolean;
  /** The committed address of a member, undefined for a node that is not (or no longer) a member. */
  addressOf(node: string): string | undefined;
}

interface Built {
  readonly key: string;
  readonly ring: Ring;
  readonly lists: PreferenceLists;
  readonly writeRing: Ring;
  readonly pending: readonly (readonly string[])[];
  readonly addresses: ReadonlyMap<string, string>;
}

const NONE: readonly string[] = Object.freeze([]);

function fingerprint(state: ClusterState): string {
  const inRing = state.members.filter((m) => m.status !== 'removed');
  const addrs = state.members.map((m) => `${m.id}@${m.address}`);
  return `${state.config.partitions}/${state.config.replicas}|${inRing.map((m) => `${m.id}:${m.zone}:${m.status}`).join(',')}|${addrs.join(',')}`;
}

export class RingCache {
  private built: Built | undefined;
  private lastState: ClusterState | undefined;
  private lastView: RingView | undefined;

  /** `state` returns the node's committed cluster state (RaftDriver.clusterState in the server). */
  constructor(private readonly state: () => ClusterState) {}

  /** The current view; undefined while the node has no committed ring (cluster not created, or no member). */
  current(): RingView | undefined {
    const state = this.state();
    if (state === this.lastState) return this.lastView;
    this.lastState = state;
    this.lastView = this.viewOf(state);
    return this.lastView;
  }

  private viewOf(state: ClusterState): RingView | undefined {
    if (!state.created) return undefined;
    const key = fingerprint(state);
    if (this.built?.key !== key) {
      const t = transitionOf(state);
      if (t.read.members.length === 0) return undefined;
      const pending: (readonly string[])[] = [];
      for (let p = 0; p < t.read.partitions; p++) {
        if (!t.inFlight || t.write.members.length === 0) {
          pending.push(NONE);
          continue;
        }
        const owners = t.read.preferenceList(p);
        const extra = t.write.preferenceList(p).filter((n) => !owners.includes(n));
        pending.push(extra.length === 0 ? NONE : extra);
      }
      this.built = {
        key,
        ring: t.read,
        lists: new PreferenceLists(t.read, t.readMembers),
        writeRing: t.write,
        pending,
        addresses: new Map(state.members.map((m) => [m.id, m.address])),
      };
    }
    const { ring, lists, writeRing, pending, addresses } = this.built;
    return {
      epoch: state.epoch,
      state,
      ring,
      lists,
      writeRing,
      pendingOwners: (p) => pending[p] ?? NONE,
      acceptsWrites: (node, p) => ring.preferenceList(p).includes(node) || (pending[p] ?? NONE).includes(node),
      addressOf: (node) => addresses.get(node),
    };
  }
}
