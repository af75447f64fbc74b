/**
 * The Raft safety properties (Raft paper, Figure 3), checked incrementally while a simulation runs. It is
 * fed plain observations, so a test can also feed it a bad history and see it fire.
 *
 * - Election safety: at most one leader per term (`onLeader`).
 * - Log matching: an entry is identified by (index, term); the same pair must always carry the same data
 *   and follow an entry of the same term. Checked on every entry any node writes (`onEntries`), which by
 *   induction on the index gives: two logs with an equal (index, term) are identical up to that index.
 * - Leader completeness: an entry committed by the leader of term U is in the log of every leader of a
 *   term above U, at the moment it takes office (`onLeader`) — a leader never removes entries itself.
 * - State machine safety: no two nodes apply different entries at one index; each node applies in order.
 *   Each node's state (a hash chain over what it applied, `stateHash`) must equal the chain over the
 *   entries applied at those indexes anywhere, and a snapshot's data must be that chain at its index: a
 *   snapshot is consistent with the applied entries it replaces.
 * - Membership: successive committed configurations differ by at most one voter, and every node's
 *   configuration is the one of its applied log.
 * Leader completeness skips a leader's compacted prefix (below its snapshot index): the snapshot
 * consistency check covers it.
 */
import { createHash } from 'node:crypto';
import { applyConfEntry } from '../../../cluster/raft/conf-change.js';
import type { ConfState, Entry, Snapshot } from '../../../cluster/raft/types.js';

/** The state machine of a simulated node: a hash chain over the entries it applied. */
export function stateHash(prev: string, e: Entry): string {
  return createHash('sha1').update(`${prev}|${e.index}/${e.term}/${e.type}|`).update(e.data).digest('hex').slice(0, 16);
}

export class SafetyViolation extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SafetyViolation';
  }
}

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

export class SafetyChecker {
  private readonly leaders = new Map<number, string>();
  /** "index/term" → "prevTerm|data" of the entry first seen with that identity. */
  private readonly identity = new Map<string, string>();
  /** Committed index → its entry and the term of the leader that first committed it. */
  private readonly committed = new Map<number, { term: number; data: string; commitTerm: number }>();
  private highestCommit = 0;
  private readonly appliedAt = new Map<number, string>();
  private readonly lastApplied = new Map<string, number>();
  /** The state hash after each index, from the first node to apply it. */
  private readonly hashAt = new Map<number, string>([[0, '']]);
  /** Configurations after each committed conf entry, in index order. */
  private readonly confs: { index: number; conf: ConfState }[] = [{ index: 0, conf: { voters: [], learners: [] } }];
  /** Counters for reporting. */
  readonly stats = { leaders: 0, entries: 0, commits: 0, applies: 0, confChanges: 0, snapshots: 0 };

  /** `node` is leader of `term` now; `termAt` reads its log, compacted through `snapshotIndex`. */
  onLeader(node: string, term: number, termAt: (index: number) => number | undefined, snapshotIndex = 0): void {
    const known = this.leaders.get(term);
    if (known === node) return;
    if (known !== undefined) throw new SafetyViolation(`election safety: ${known} and ${node} both lead term ${term}`);
    this.leaders.set(term, node);
    this.stats.leaders++;
    for (const [index, c] of this.committed) {
      if (c.commitTerm < term && index >= snapshotIndex && termAt(index) !== c.term) {
        throw new SafetyViolation(
          `leader completeness: ${node}, leader of term ${term}, lacks entry ${index}/${c.term} committed in term ${c.commitTerm}`,
        );
      }
    }
  }

  /** `node` wrote `entries` to its log; `termAt` reads its log (for the term before each entry). */
  onEntries(node: string, entries: readonly Entry[], termAt: (index: number) => number | undefined): void {
    for (const e of entries) {
      const key = `${e.index}/${e.term}`;
      const value = `${termAt(e.index - 1) ?? '?'}|${hex(e.data)}`;
      const seen = this.identity.get(key);
      if (seen === undefined) this.identity.set(key, value);
      else if (seen !== value) throw new SafetyViolation(`log matching: ${node} wrote ${key} as ${value}, seen before as ${seen}`);
      this.stats.entries++;
    }
  }

  /** The leader of `term` committed up to `commit`; `entryAt` reads its log, compacted through `snapshotIndex`. */
  onCommit(term: number, commit: number, entryAt: (index: number) => Entry | undefined, snapshotIndex = 0): void {
    // A prefix the leader compacted was applied (so committed) before: the snapshot checks cover it.
    for (let i = Math.max(this.highestCommit, snapshotIndex) + 1; i <= commit; i++) {
      const e = entryAt(i);
      if (e === undefined) throw new SafetyViolation(`leader of term ${term} committed ${i} without holding it`);
      this.committed.set(i, { term: e.term, data: hex(e.data), commitTerm: term });
      this.stats.commits++;
    }
    this.highestCommit = Math.max(this.highestCommit, commit);
  }

  /** `node` restarted: it applies its log again from just after its snapshot (from 1 without one). */
  onRestart(node: string, snapshot?: Snapshot): void {
    this.lastApplied.set(node, 0);
    if (snapshot !== undefined) this.onSnapshot(node, snapshot);
  }

  /** `node` restored its state from `snapshot` (installed from the leader, or at restart). */
  onSnapshot(node: string, s: Snapshot): void {
    const want = this.hashAt.get(s.index);
    const got = Buffer.from(s.data).toString();
    if (want !== got) throw new SafetyViolation(`snapshot consistency: ${node} restored ${s.index} as state ${got}, applied entries give ${want}`);
    const conf = this.confAt(s.index);
    if (!sameMembers(conf, s.conf)) {
      throw new SafetyViolation(`snapshot consistency: ${node}'s snapshot at ${s.index} has conf ${JSON.stringify(s.conf)}, log gives ${JSON.stringify(conf)}`);
    }
    this.lastApplied.set(node, s.index);
    this.stats.snapshots++;
  }

  /** `node`'s state after applying through `index` is `hash`, and its configuration `conf`. */
  onState(node: string, index: number, hash: string, conf: ConfState): void {
    const want = this.hashAt.get(index);
    if (want !== hash) throw new SafetyViolation(`state machine safety: ${node}'s state at ${index} is ${hash}, want ${want}`);
    const c = this.confAt(index);
    if (!sameMembers(c, conf)) throw new SafetyViolation(`membership: ${node} at ${index} has conf ${JSON.stringify(conf)}, log gives ${JSON.stringify(c)}`);
  }

  /** "term|hex data" of the entry applied at `index`, if any node applied it. */
  appliedValue(index: number): string | undefined {
    return this.appliedAt.get(index);
  }

  /** The configuration of the applied log at `index` (the bootstrap entries included). */
  confAt(index: number): ConfState {
    for (let i = this.confs.length - 1; i >= 0; i--) if (this.confs[i]!.index <= index) return this.confs[i]!.conf;
    return this.confs[0]!.conf;
  }

  onApply(node: string, e: Entry): void {
    const last = this.lastApplied.get(node) ?? 0;
    if (e.index !== last + 1) throw new SafetyViolation(`${node} applied ${e.index} after ${last}`);
    this.lastApplied.set(node, e.index);
    const value = `${e.term}|${hex(e.data)}`;
    const seen = this.appliedAt.get(e.index);
    if (seen === undefined) {
      this.appliedAt.set(e.index, value);
      const prev = this.hashAt.get(e.index - 1);
      if (prev === undefined) throw new SafetyViolation(`${node} applied ${e.index} before anyone applied ${e.index - 1}`);
      this.hashAt.set(e.index, stateHash(prev, e));
      if (e.type === 'conf') this.onConfEntry(e);
    } else if (seen !== value) throw new SafetyViolation(`state machine safety: ${node} applied ${e.index} as ${value}, another node as ${seen}`);
    this.stats.applies++;
  }

  private onConfEntry(e: Entry): void {
    const before = this.confs[this.confs.length - 1]!.conf;
    const after = applyConfEntry(before, e.data);
    const changed = before.voters.filter((v) => !after.voters.includes(v)).length + after.voters.filter((v) => !before.voters.includes(v)).length;
    if (changed > 1) throw new SafetyViolation(`membership: entry ${e.index} changes ${changed} voters at once`);
    this.confs.push({ index: e.index, conf: after });
    this.stats.confChanges++;
  }
}

function sameMembers(a: ConfState, b: ConfState): boolean {
  const same = (x: readonly string[], y: readonly string[]): boolean => x.length === y.length && x.every((v) => y.includes(v));
  return a === b || (same(a.voters, b.voters) && same(a.learners, b.learners));
}
