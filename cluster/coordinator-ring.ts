/**
 * The committed ring as the data path sees it: the epoch, configuration, ring, preference lists and
 * member addresses of the node's committed cluster state, rebuilt only when the ring itself changes.
 *
 * The epoch advances on a timer even when no member changes, so it is no cache key: the ring depends on
 * the committed members in the ring (id, zone), P and N only, and that fingerprint is the key. Building a
 * PreferenceLists is P × members work; reading the fingerprint per request is members work.
 */
import { PreferenceLists } from './preference.js';
import type { Ring } from './ring.js';
import { ringOf, type ClusterState } from './state/cluster-state.js';

export interface RingView {
  /** The committed epoch of the state this view was read from (newer than the ring's build). */
  readonly epoch: number;
  readonly state: ClusterState;
  readonly ring: Ring;
  readonly lists: PreferenceLists;
  /** The committed address of a member, undefined for a node that is not (or no longer) a member. */
  addressOf(node: string): string | undefined;
}

interface Built {
  readonly key: string;
  readonly ring: Ring;
  readonly lists: PreferenceLists;
  readonly addresses: ReadonlyMap<string, string>;
}

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
      const ring = ringOf(state);
      if (ring.members.length === 0) return undefined;
      const members = state.members
        .filter((m) => ring.members.includes(m.id))
        .map((m) => (m.zone === '' ? { id: m.id } : { id: m.id, meta: { zone: m.zone } }));
      this.built = { key, ring, lists: new PreferenceLists(ring, members), addresses: new Map(state.members.map((m) => [m.id, m.address])) };
    }
    const { ring, lists, addresses } = this.built;
    return { epoch: state.epoch, state, ring, lists, addressOf: (node) => addresses.get(node) };
  }
}
