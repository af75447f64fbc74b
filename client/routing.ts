/**
 * Token-aware routing: the client computes the cluster's ring itself, from a node's Status answer, and
 * sends each request for a key to a replica of that key. Any node still coordinates any request, so
 * routing never changes what a request does; it only lets the coordinator serve one replica locally
 * instead of over the network (saving a hop when the cluster has more nodes than N).
 *
 * The ring mirrors the coordinator's (read) ring exactly (cluster/coordinator-ring.ts): the committed
 * members whose status is 'active' or 'leaving' (a 'joining' member is streaming its data in and is not
 * an owner yet; a 'removed' one is gone), each with its zone as `meta.zone` when it has one, and
 * buildRing with the committed P and N (vnodes default P). A Status
 * answer also lists the ids the node's ring is built from (`ring_members`); a table whose members differ
 * from that list is refused, so a client whose mirror drifted from the server's falls back to the seeds
 * instead of routing by a wrong ring.
 *
 * Choice of replica. Writes go to the first live replica in preference order (the partition's primary):
 * one coordinator per key while it is up means a single writer's writes to a key are stamped by one
 * hybrid logical clock, which keeps their last-write-wins order even when the nodes' clocks are skewed.
 * Reads rotate over the live replicas: a hot key's reads spread their coordination work over all N
 * nodes that hold it, and every one of them can serve its copy locally. Pure: the clock is passed in.
 */
import { buildRing, type Ring } from '../cluster/ring.js';
import type { NodeHealth } from './health.js';

/** What routing needs of a StatusResponse (proto/cluster.proto), in plain types. */
export interface RingSource {
  readonly clusterId: string;
  readonly epoch: number;
  /** The cluster's creation entries are committed (before that there is no ring). */
  readonly created: boolean;
  readonly partitions: number;
  readonly replicas: number;
  readonly members: readonly { readonly id: string; readonly address: string; readonly zone: string; readonly status: string }[];
  /** The ids the answering node's ring is built from. */
  readonly ringMembers: readonly string[];
}

/** The ring of one committed state and each member's address. */
export class RoutingTable {
  readonly clusterId: string;
  readonly epoch: number;
  readonly ring: Ring;
  /** What the ring depends on; equal fingerprints give equal rings (the epoch alone does not matter). */
  readonly fingerprint: string;
  private readonly addressOf: ReadonlyMap<string, string>;
  /** Per partition, its replicas' addresses: computed once, so routing a request allocates nothing. */
  private readonly byPartition: readonly (readonly string[])[];

  private constructor(src: RingSource, ring: Ring, fingerprint: string) {
    this.clusterId = src.clusterId;
    this.epoch = src.epoch;
    this.ring = ring;
    this.fingerprint = fingerprint;
    const addressOf = new Map(src.members.filter((m) => m.address !== '').map((m) => [m.id, m.address]));
    this.addressOf = addressOf;
    this.byPartition = Array.from({ length: ring.partitions }, (_, p) =>
      ring.preferenceList(p).flatMap((id) => {
        const a = addressOf.get(id);
        return a === undefined ? [] : [a]; // a replica without an address is left out
      }),
    );
  }

  /**
   * The table of a Status answer, or a reason why it gives none. `previous` is reused when the ring is
   * unchanged (building one is P × members work).
   */
  static from(src: RingSource, previous?: RoutingTable): RoutingTable | string {
    if (!src.created) return 'the cluster is not created yet';
    if (!Number.isInteger(src.partitions) || src.partitions < 1) return `bad partition count ${src.partitions}`;
    if (!Number.isInteger(src.replicas) || src.replicas < 1) return `bad replica count ${src.replicas}`;
    const inRing = src.members.filter(inReadRing);
    if (inRing.length === 0) return 'the cluster has no members';
    const fp = fingerprintOf(src);
    let ring: Ring;
    if (previous?.fingerprint === fp) {
      ring = previous.ring;
    } else {
      try {
        ring = buildRing(
          inRing.map((m) => (m.zone === '' ? { id: m.id } : { id: m.id, meta: { zone: m.zone } })),
          { partitions: src.partitions, replicas: src.replicas },
        );
      } catch (err) {
        return `cannot build the ring: ${(err as Error).message}`;
      }
    }
    const expected = [...src.ringMembers].sort();
    if (expected.length !== ring.members.length || expected.some((id, i) => id !== ring.members[i])) {
      return `the computed ring (${ring.members.join(', ')}) differs from the node's (${expected.join(', ')})`;
    }
    return new RoutingTable(src, ring, fp);
  }

  /** The addresses of the key's replicas, in preference order (a replica without an address is left out). */
  replicasOf(key: Uint8Array): readonly string[] {
    return this.byPartition[this.ring.partitionOf(key)] ?? [];
  }

  /** Every member's address: where a ring refresh may ask when the seeds do not answer. */
  addresses(): string[] {
    return [...new Set(this.addressOf.values())];
  }
}

/** Members that own data now: the coordinator's read ring (cluster/state/transition.ts). */
function inReadRing(m: RingSource['members'][number]): boolean {
  return m.status === 'active' || m.status === 'leaving';
}

function fingerprintOf(src: RingSource): string {
  const members = src.members.map((m) => `${m.id}:${m.zone}:${inReadRing(m) ? 'r' : 'x'}`).sort();
  return `${src.partitions}/${src.replicas}|${members.join(',')}`;
}

export type UpdateResult = 'taken' | 'stale' | 'refused';

/** The current routing table and the choice of a replica per request. */
export class Router {
  private table: RoutingTable | undefined;
  private readCursor = 0;
  /** Why the last Status answer was refused, for stats(). */
  lastRefusal: string | undefined;

  constructor(private readonly health: NodeHealth) {}

  get current(): RoutingTable | undefined {
    return this.table;
  }

  /**
   * Offers a Status answer. An answer with an older epoch than the current table's, from the same
   * cluster, is ignored: a lagging follower must not roll the client back to a ring it already left.
   */
  update(src: RingSource): UpdateResult {
    const cur = this.table;
    if (cur !== undefined && cur.clusterId === src.clusterId && src.epoch < cur.epoch) return 'stale';
    const next = RoutingTable.from(src, cur);
    if (typeof next === 'string') {
      this.lastRefusal = next;
      return 'refused';
    }
    this.table = next;
    this.lastRefusal = undefined;
    return 'taken';
  }

  /** Drops the table: requests go to the seeds until the next answer. */
  forget(): void {
    this.table = undefined;
  }

  /**
   * The addresses to try for a request on `key`, best first: its live replicas (writes in preference
   * order, reads rotated). Empty when there is no table or no replica is live: the caller uses the seeds.
   */
  targets(key: Uint8Array, read: boolean, now: number): readonly string[] {
    if (this.table === undefined) return [];
    const all = this.table.replicasOf(key);
    const live = all.every((a) => this.health.isUp(a, now)) ? all : all.filter((a) => this.health.isUp(a, now));
    if (!read || live.length < 2) return live;
    const start = this.readCursor++ % live.length;
    if (this.readCursor >= 0x40000000) this.readCursor = 0;
    return [...live.slice(start), ...live.slice(0, start)];
  }
}
