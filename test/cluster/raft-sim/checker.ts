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
 */
import type { Entry } from '../../../cluster/raft/types.js';

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
  /** Counters for reporting. */
  readonly stats = { leaders: 0, entries: 0, commits: 0, applies: 0 };

  /** `node` is leader of `term` now; `termAt` reads its log. */
  onLeader(node: string, term: number, termAt: (index: number) => number | undefined): void {
    const known = this.leaders.get(term);
    if (known === node) return;
    if (known !== undefined) throw new SafetyViolation(`election safety: ${known} and ${node} both lead term ${term}`);
    this.leaders.set(term, node);
    this.stats.leaders++;
    for (const [index, c] of this.committed) {
      if (c.commitTerm < term && termAt(index) !== c.term) {
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

  /** The leader of `term` committed up to `commit`; `entryAt` reads its log. */
  onCommit(term: number, commit: number, entryAt: (index: number) => Entry | undefined): void {
    for (let i = this.highestCommit + 1; i <= commit; i++) {
      const e = entryAt(i);
      if (e === undefined) throw new SafetyViolation(`leader of term ${term} committed ${i} without holding it`);
      this.committed.set(i, { term: e.term, data: hex(e.data), commitTerm: term });
      this.stats.commits++;
    }
    this.highestCommit = Math.max(this.highestCommit, commit);
  }

  /** `node` restarted: it applies its log again from index 1. */
  onRestart(node: string): void {
    this.lastApplied.set(node, 0);
  }

  onApply(node: string, e: Entry): void {
    const last = this.lastApplied.get(node) ?? 0;
    if (e.index !== last + 1) throw new SafetyViolation(`${node} applied ${e.index} after ${last}`);
    this.lastApplied.set(node, e.index);
    const value = `${e.term}|${hex(e.data)}`;
    const seen = this.appliedAt.get(e.index);
    if (seen === undefined) this.appliedAt.set(e.index, value);
    else if (seen !== value) throw new SafetyViolation(`state machine safety: ${node} applied ${e.index} as ${value}, another node as ${seen}`);
    this.stats.applies++;
  }
}
