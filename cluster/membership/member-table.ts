/**
 * The member table: one record per known member and the precedence rules that decide whether a piece
 * of gossip replaces what we know. The rules are SWIM's, as hashicorp/memberlist applies them:
 *
 *   incoming      replaces alive(j)   suspect(j)   dead(j) / left(j)   unknown
 *   alive(i)      i > j               i > j        i > j (a rejoin)    yes (a join)
 *   suspect(i)    i ≥ j               i > j        no                  no
 *   dead(i)       i ≥ j               i ≥ j        no                  no
 *   left(i)       i ≥ j               i ≥ j        dead: i ≥ j         no
 *
 * Only the member itself raises its incarnation, so "alive at a higher incarnation" is the member's own
 * word and beats any rumour about an older incarnation; at equal incarnation the worse news wins.
 * Unknown members are learnt only from `alive`: a node never adds someone just to record them dead, so
 * forgotten (reclaimed) members are not resurrected by stale rumours. Records about this node itself are
 * not applied here: the node refutes them (node.ts).
 */
import type { MemberRecord, MemberState } from './types.js';

interface Entry {
  record: MemberRecord;
  /** When the current state began (local clock), for reclaiming dead and left members. */
  since: number;
}

export interface ApplyResult {
  readonly changed: boolean;
  readonly previous: MemberRecord | undefined;
}

const UNCHANGED: ApplyResult = { changed: false, previous: undefined };

/** Whether `incoming` should replace `current` (undefined = unknown member). */
export function supersedes(incoming: MemberRecord, current: MemberRecord | undefined): boolean {
  if (current === undefined) return incoming.state === 'alive';
  const i = incoming.incarnation;
  const j = current.incarnation;
  switch (incoming.state) {
    case 'alive':
      return i > j;
    case 'suspect':
      return current.state === 'alive' ? i >= j : current.state === 'suspect' && i > j;
    case 'dead':
      return (current.state === 'alive' || current.state === 'suspect') && i >= j;
    case 'left':
      return current.state !== 'left' && i >= j;
  }
}

export class MemberTable {
  private readonly entries = new Map<string, Entry>();

  get(id: string): MemberRecord | undefined {
    return this.entries.get(id)?.record;
  }

  /** When the member entered its current state. */
  since(id: string): number | undefined {
    return this.entries.get(id)?.since;
  }

  get size(): number {
    return this.entries.size;
  }

  all(): MemberRecord[] {
    return [...this.entries.values()].map((e) => e.record);
  }

  ids(): string[] {
    return [...this.entries.keys()];
  }

  /** Members in a given set of states. */
  inStates(...states: MemberState[]): MemberRecord[] {
    return this.all().filter((r) => states.includes(r.state));
  }

  /** Alive and suspect members: the ones that still count as part of the cluster. */
  liveCount(): number {
    let n = 0;
    for (const e of this.entries.values()) if (e.record.state === 'alive' || e.record.state === 'suspect') n++;
    return n;
  }

  /** Applies gossip under the precedence rules above. */
  apply(incoming: MemberRecord, now: number): ApplyResult {
    const previous = this.entries.get(incoming.id)?.record;
    if (!supersedes(incoming, previous)) return UNCHANGED;
    this.set(incoming, now);
    return { changed: true, previous };
  }

  /** Sets a record unconditionally (this node's own record, or a verdict it reached itself). */
  set(record: MemberRecord, now: number): void {
    const old = this.entries.get(record.id);
    const since = old !== undefined && old.record.state === record.state ? old.since : now;
    this.entries.set(record.id, { record, since });
  }

  remove(id: string): void {
    this.entries.delete(id);
  }
}
