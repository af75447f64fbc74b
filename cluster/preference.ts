/**
 * Where a write goes when some owners are down: the key's N owners from the ring, each down owner
 * replaced by a stand-in that keeps the write with a hint naming the owner (hinted handoff, Dynamo §4.6).
 * Pure and deterministic: the same ring, members and liveness give the same targets on every node.
 *
 * Stand-ins come from the partition's extended preference list: the ring's ranking of *all* members for
 * the partition (the same stratified rendezvous ranking, zones included, that picks the N owners — the
 * owners are its first N). For each down owner in preference order, the stand-in is the first healthy
 * node of that list that is not an owner and not already standing in for an earlier owner. So stand-ins
 * are distinct and never owners, and fewer than N targets are returned only when fewer than N members are
 * healthy. Walking the same ranking means a partition's stand-ins are the nodes that would become its
 * owners if the down ones left, and one owner's hints spread over many nodes across partitions.
 *
 * The extended lists are computed once per ring (P × all members) and reused: build one `PreferenceLists`
 * per committed ring, not per request.
 */
import { type Ring, type RingMember, buildRing } from './ring.js';

export interface Target {
  readonly node: string;
  /** Set for a stand-in: the down owner it keeps the write for. */
  readonly hintFor?: string;
}

export interface Targets {
  readonly partition: number;
  /** The partition's N owners, best first (the ring's preference list). */
  readonly owners: readonly string[];
  /** Healthy owners as themselves, then a stand-in per down owner, in owner order. */
  readonly targets: readonly Target[];
  /** Down owners for which no stand-in was left (fewer healthy members than N). */
  readonly uncovered: readonly string[];
}

export type IsAlive = (node: string) => boolean;

export class PreferenceLists {
  readonly ring: Ring;
  private readonly extended: Ring;

  /**
   * `members` are the ring's members with their metadata (zones); without them the extended lists rank
   * by id alone, which only matters for which stand-in is picked when members have zones.
   */
  constructor(ring: Ring, members?: readonly RingMember[]) {
    const list = members ?? ring.members.map((id) => ({ id }));
    const ids = list.map((m) => m.id).sort();
    if (ids.length !== ring.members.length || ids.some((id, i) => id !== ring.members[i])) {
      throw new RangeError('PreferenceLists: members differ from the ring’s members');
    }
    this.ring = ring;
    this.extended = buildRing(list, { partitions: ring.partitions, vnodes: ring.vnodes, replicas: list.length });
  }

  /** Every member ranked for partition p; the first N are its owners. */
  extendedList(p: number): readonly string[] {
    return this.extended.preferenceList(p);
  }

  forKey(key: Uint8Array | string, isAlive: IsAlive): Targets {
    return this.forPartition(this.ring.partitionOf(key), isAlive);
  }

  forPartition(partition: number, isAlive: IsAlive): Targets {
    const owners = this.ring.preferenceList(partition);
    const ownerSet = new Set(owners);
    const ranking = this.extended.preferenceList(partition);
    const targets: Target[] = [];
    const uncovered: string[] = [];
    let next = 0; // stand-ins are taken in ranking order, so one cursor serves every down owner
    for (const owner of owners) {
      if (isAlive(owner)) {
        targets.push({ node: owner });
        continue;
      }
      while (next < ranking.length) {
        const candidate = ranking[next]!;
        if (!ownerSet.has(candidate) && isAlive(candidate)) break;
        next++;
      }
      const standIn = ranking[next];
      if (standIn === undefined) {
        uncovered.push(owner);
      } else {
        targets.push({ node: standIn, hintFor: owner });
        next++;
      }
    }
    return { partition, owners, targets, uncovered };
  }
}

/** Targets of one partition without keeping the extended lists (tests, tools); prefer PreferenceLists. */
export function targetsFor(ring: Ring, partition: number, isAlive: IsAlive, members?: readonly RingMember[]): Targets {
  return new PreferenceLists(ring, members).forPartition(partition, isAlive);
}
