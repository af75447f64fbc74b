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
 * - Cluster state (issue 6): each node also applies its log to a real ClusterStateMachine
 *   (cluster/state/). Its epoch never goes backwards on any node — not at an apply, not at an
 *   InstallSnapshot, not across a restart from persisted state (`onClusterState`, checked after every
 *   event) — and two nodes at the same applied index hold byte-identical state machine snapshots, as does
 *   every Raft snapshot at its index (state machine safety at the application level).
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

/**
 * A simulated node's snapshot data: both of its state machines, as a length-prefixed pair — a 4-byte
 * big-endian length, that many bytes of hash chain (UTF-8 hex), then ClusterStateMachine.snapshot().
 */
export function encodeSimSnapshot(hash: string, cluster: Uint8Array): Uint8Array {
  const h = Buffer.from(hash, 'utf8');
  const out = Buffer.alloc(4 + h.length + cluster.length);
  out.writeUInt32BE(h.length, 0);
  h.copy(out, 4);
  out.set(cluster, 4 + h.length);
  return out;
}

/** The pair encodeSimSnapshot wrote; bytes that are not one decode to a hash no chain has ('?…'). */
export function decodeSimSnapshot(data: Uint8Array): { hash: string; cluster: Uint8Array } {
  const b = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  const n = b.length >= 4 ? b.readUInt32BE(0) : -1;
  if (n < 0 || 4 + n > b.length) return { hash: `?${b.toString('hex')}`, cluster: new Uint8Array(0) };
  return { hash: b.subarray(4, 4 + n).toString('utf8'), cluster: b.subarray(4 + n) };
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
  /** Each node's cluster epoch at its previous check (kept while it is down, across restarts). */
  private readonly epochOf = new Map<string, number>();
  /** ClusterStateMachine.snapshot() at an applied index, from the first node seen there. */
  private readonly clusterAt = new Map<number, Buffer>();
  /** Indexes of increment-epoch commands that took effect (distinct entries, not per node). */
  private readonly bumps = new Set<number>();
  /** Counters for reporting. epochBumps: increment-epoch entries applied; staleBumps: ones the state refused. */
  readonly stats = {
    leaders: 0,
    entries: 0,
    commits: 0,
    applies: 0,
    confChanges: 0,
    snapshots: 0,
    epochChecks: 0,
    clusterCompares: 0,
    epochBumps: 0,
    staleBumps: 0,
    maxEpoch: 0,
  };

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
    const { hash: got, cluster } = decodeSimSnapshot(s.data);
    if (want !== got) throw new SafetyViolation(`snapshot consistency: ${node} restored ${s.index} as state ${got}, applied entries give ${want}`);
    const conf = this.confAt(s.index);
    if (!sameMembers(conf, s.conf)) {
      throw new SafetyViolation(`snapshot consistency: ${node}'s snapshot at ${s.index} has conf ${JSON.stringify(s.conf)}, log gives ${JSON.stringify(conf)}`);
    }
    this.sameCluster(`snapshot consistency: ${node}'s snapshot at ${s.index}`, s.index, cluster);
    this.lastApplied.set(node, s.index);
    this.stats.snapshots++;
  }

  /**
   * `node`'s ClusterStateMachine after an event: at applied index `index` (the node's Raft applied index,
   * `raftApplied`), epoch `epoch`; `snapshot` its bytes, given when the index or the instance changed.
   */
  onClusterState(node: string, raftApplied: number, index: number, epoch: number, snapshot?: Uint8Array): void {
    const before = this.epochOf.get(node) ?? 0;
    if (epoch < before) throw new SafetyViolation(`epoch monotonicity: ${node}'s epoch went back from ${before} to ${epoch} (applied index ${index})`);
    this.epochOf.set(node, epoch);
    this.stats.epochChecks++;
    if (epoch > this.stats.maxEpoch) this.stats.maxEpoch = epoch;
    if (index !== raftApplied) throw new SafetyViolation(`cluster state: ${node}'s state machine is at ${index}, its Raft applied ${raftApplied}`);
    if (snapshot !== undefined) this.sameCluster(`cluster state machine safety: ${node}`, index, snapshot);
  }

  /** The increment-epoch entry at `index` took effect on some node (`applied`) or was refused as stale. */
  onEpochCommand(index: number, applied: boolean): void {
    if (this.bumps.has(index) || this.bumps.has(-index)) return;
    this.bumps.add(applied ? index : -index);
    if (applied) this.stats.epochBumps++;
    else this.stats.staleBumps++;
  }

  private sameCluster(what: string, index: number, snapshot: Uint8Array): void {
    const got = Buffer.from(snapshot);
    const want = this.clusterAt.get(index);
    if (want === undefined) this.clusterAt.set(index, got);
    else if (!want.equals(got)) throw new SafetyViolation(`${what}: cluster state at ${index} is ${got.toString('hex')}, another node's ${want.toString('hex')}`);
    this.stats.clusterCompares++;
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
