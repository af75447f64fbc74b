/**
 * A deterministic simulation of a Raft cluster: the real Raft state machines, a manual clock, a lossy,
 * duplicating, reordering network (the membership simulator's SimNetwork plus duplication), crashes that
 * lose everything but what was persisted, and restarts from it. Every message goes through the codec.
 * After every event the SafetyChecker sees what changed. Everything random comes from one seed.
 *
 * Time is in units of 1/10 tick: each node ticks every TICK units (with a per-node phase), messages take
 * minDelay..maxDelay units, so with the defaults a message may overtake another sent a tick earlier; a
 * fraction (lateRate) is held back up to 30 ticks, to deliver messages of long-gone terms and rounds.
 *
 * Membership: the first `size` nodes bootstrap as the voters; `spares` more start with an empty
 * configuration and wait to be added. Each node has two state machines: a hash chain over what it applied
 * (checker.ts's stateHash) and the real ClusterStateMachine (cluster/state/), fed every committed entry
 * (it ignores data that is not a cluster command). Compaction snapshots both (encodeSimSnapshot),
 * InstallSnapshot and restarts restore both; a restart then re-applies the persisted committed log at
 * once, as a driver does before it serves, so the node is back where it was before the crash.
 */
import { decodeMessage, encodeMessage } from '../../../cluster/raft/codec.js';
import { Raft } from '../../../cluster/raft/raft.js';
import type { ConfChange, Entry, HardState, RaftConfig, Ready, Snapshot } from '../../../cluster/raft/types.js';
import { ClusterStateMachine, type ClusterState } from '../../../cluster/state/cluster-state.js';
import { Rng } from '../../support/rng.js';
import { EventQueue } from '../sim/event-queue.js';
import { SimNetwork } from '../sim/network.js';
import { SafetyChecker, decodeSimSnapshot, encodeSimSnapshot, stateHash } from './checker.js';

export const TICK = 10;

const NO_COMMAND = new Uint8Array(0);
/**
 * Whether a sim entry carries a cluster command: encodeCommand's bytes start with 0x08 (protobuf key of
 * field 1, `version`, always written first); the sim's other payloads are text and never do. Others go to
 * the ClusterStateMachine as no-ops (empty data: only appliedIndex moves), which spares it decoding (and
 * refusing) every text payload — ClusterStateMachine.apply ignores undecodable data, it does not throw.
 */
function isClusterCommand(e: Entry): boolean {
  return e.type === 'normal' && e.data[0] === 0x08;
}

export interface RaftSimOptions {
  readonly seed: number;
  readonly size: number;
  readonly config?: Partial<RaftConfig>;
  readonly dropRate?: number;
  readonly dupRate?: number;
  /** Probability that a message is held back up to 30 ticks (a stale message arriving much later). */
  readonly lateRate?: number;
  readonly minDelay?: number;
  readonly maxDelay?: number;
  /** Extra nodes that start outside the configuration (default 0). */
  readonly spares?: number;
}

interface SimNode {
  readonly id: string;
  raft: Raft | undefined;
  /** Bumped at each crash, so a crashed node's pending ticks do nothing. */
  generation: number;
  hardState: HardState;
  snapshot: Snapshot | undefined;
  stored: Entry[];
  applied: Entry[];
  /** The state machine: a hash chain over the applied entries (what a snapshot's data holds). */
  state: string;
  /** The real cluster state machine, fed the same entries (a snapshot's data holds it too). */
  cluster: ClusterStateMachine;
  /** The instance and applied index whose snapshot bytes the checker last compared. */
  checked: ClusterStateMachine | undefined;
  checkedIndex: number;
}

export class RaftSim {
  readonly network: SimNetwork;
  readonly checker = new SafetyChecker();
  readonly ids: string[];
  dupRate: number;
  lateRate: number;
  private readonly rng: Rng;
  private readonly queue = new EventQueue();
  private readonly nodes = new Map<string, SimNode>();
  private time = 0;
  /** A restarted node is re-applying its persisted log (start()). */
  private replaying = false;
  delivered = 0;

  constructor(private readonly options: RaftSimOptions) {
    this.rng = new Rng(options.seed);
    this.network = new SimNetwork(this.rng.fork(), {
      dropRate: options.dropRate ?? 0,
      minDelayMs: options.minDelay ?? 1,
      maxDelayMs: options.maxDelay ?? 15,
    });
    this.dupRate = options.dupRate ?? 0;
    this.lateRate = options.lateRate ?? 0;
    this.ids = Array.from({ length: options.size + (options.spares ?? 0) }, (_, i) => `n${i + 1}`);
    for (const id of this.ids) {
      const hardState = { term: 0, vote: '', commit: 0 };
      this.nodes.set(id, {
        id,
        raft: undefined,
        generation: 0,
        hardState,
        snapshot: undefined,
        stored: [],
        applied: [],
        state: '',
        cluster: new ClusterStateMachine(),
        checked: undefined,
        checkedIndex: -1,
      });
      this.start(id);
    }
  }

  get now(): number {
    return this.time;
  }

  raft(id: string): Raft | undefined {
    return this.nodes.get(id)?.raft;
  }

  /** The cluster state `id` applied (its last one while it is down). */
  clusterState(id: string): ClusterState {
    return this.nodes.get(id)!.cluster.state();
  }

  /** Entries `id` applied since it last started. */
  applied(id: string): readonly Entry[] {
    return this.nodes.get(id)!.applied;
  }

  isUp(id: string): boolean {
    return this.nodes.get(id)?.raft !== undefined;
  }

  /** The running leader with the highest term, if any. */
  leader(): Raft | undefined {
    let best: Raft | undefined;
    for (const n of this.nodes.values()) {
      if (n.raft?.role === 'leader' && (best === undefined || n.raft.term > best.term)) best = n.raft;
    }
    return best;
  }

  /** Kills a node: its in-memory state is gone; what it persisted stays. */
  crash(id: string): void {
    const n = this.nodes.get(id)!;
    n.raft = undefined;
    n.generation++;
  }

  /** Restarts a crashed node from its persisted hard state and log. */
  restart(id: string): void {
    if (!this.isUp(id)) this.start(id);
  }

  /** Proposes on the current leader; returns the entry's index and term, undefined without a leader (or while it transfers). */
  propose(data: string | Uint8Array): { index: number; term: number } | undefined {
    const l = this.leader();
    if (l === undefined) return undefined;
    try {
      return l.propose(typeof data === 'string' ? Buffer.from(data) : data);
    } catch (err) {
      if ((err as { code?: string }).code === 'RAFT_TRANSFERRING') return undefined;
      throw err;
    } finally {
      this.afterEvent(this.nodes.get(l.id)!);
    }
  }

  /** Proposes a conf change on the current leader; returns the error code it threw, or 'ok' / 'no-leader'. */
  confChange(cc: ConfChange): string {
    return this.onLeader((l) => l.proposeConfChange(cc));
  }

  /** Asks the current leader to hand leadership to `to`; returns the error code or 'ok' / 'no-leader'. */
  transfer(to: string): string {
    return this.onLeader((l) => l.transferLeadership(to));
  }

  /** The application of `id` snapshots its state at its applied index; the log before it is dropped. */
  compact(id: string): boolean {
    const n = this.nodes.get(id)!;
    const raft = n.raft;
    if (raft === undefined || raft.log.applied <= raft.log.snapshotIndex) return false;
    const snap = raft.compact(raft.log.applied, encodeSimSnapshot(n.state, n.cluster.snapshot()));
    n.snapshot = snap;
    n.stored = n.stored.filter((e) => e.index > snap.index);
    this.afterEvent(n);
    return true;
  }

  private onLeader(f: (l: Raft) => void): string {
    const l = this.leader();
    if (l === undefined) return 'no-leader';
    try {
      f(l);
    } catch (err) {
      return (err as { code?: string }).code ?? 'unknown';
    } finally {
      this.afterEvent(this.nodes.get(l.id)!);
    }
    return 'ok';
  }

  /** One line per node, for a failing seed's report. */
  describe(): string[] {
    return this.ids.map((id) => {
      const r = this.raft(id);
      if (r === undefined) return `${id}: down`;
      const st = r.status();
      return `${id}: ${st.role} term=${st.term} lead=${st.leader || '-'} commit=${st.commit} applied=${st.applied} last=${st.lastIndex} snap=${st.snapshotIndex} voters=${st.conf.voters.join(',')} learners=${st.conf.learners.join(',')}`;
    });
  }

  /** Runs events until `until` (absolute time). */
  runUntil(until: number): void {
    while (this.queue.peekTime() <= until) {
      const ev = this.queue.pop()!;
      this.time = ev.time;
      ev.run();
    }
    this.time = Math.max(this.time, until);
  }

  /** Runs until `pred` holds (checked after each event) or `limit` more time passes; returns whether it held. */
  runUntilTrue(pred: () => boolean, limit: number): boolean {
    const end = this.time + limit;
    while (!pred()) {
      if (this.queue.peekTime() > end) {
        this.time = end;
        return false;
      }
      const ev = this.queue.pop()!;
      this.time = ev.time;
      ev.run();
    }
    return true;
  }

  private start(id: string): void {
    const n = this.nodes.get(id)!;
    const voters = this.ids.slice(0, this.options.size);
    n.raft = new Raft({
      id,
      conf: { voters: voters.includes(id) ? voters : [], learners: [] },
      rng: this.rng.fork(),
      config: this.options.config,
      persisted: { hardState: n.hardState, snapshot: n.snapshot, entries: n.stored },
    });
    n.applied = [];
    this.restore(n, n.snapshot);
    this.checker.onRestart(id, n.snapshot);
    // Re-apply the persisted committed log now (the first Ready holds it), as a driver does on startup.
    this.replaying = true;
    try {
      this.afterEvent(n);
    } finally {
      this.replaying = false;
    }
    const gen = n.generation;
    const tick = (): void => {
      if (n.generation !== gen || n.raft === undefined) return;
      n.raft.tick();
      this.afterEvent(n);
      this.queue.push(this.time + TICK, tick);
    };
    this.queue.push(this.time + 1 + this.rng.int(TICK), tick);
  }

  /** Handles everything the node has ready, the way a driver would, then checks the invariants. */
  private afterEvent(n: SimNode): void {
    const raft = n.raft!;
    while (raft.hasReady()) {
      const rd = raft.ready();
      this.persist(n, rd);
      if (rd.snapshot !== undefined) {
        this.restore(n, rd.snapshot);
        this.checker.onSnapshot(n.id, rd.snapshot);
        this.checker.onClusterState(n.id, rd.snapshot.index, rd.snapshot.index, n.cluster.state().epoch);
      }
      for (const m of rd.messages) {
        const bytes = encodeMessage(m);
        const copies = this.rng.chance(this.dupRate) ? 2 : 1;
        for (let c = 0; c < copies; c++) {
          let delay = this.network.route(m.from, m.to);
          if (delay === undefined) continue;
          if (this.lateRate > 0 && this.rng.chance(this.lateRate)) delay += this.rng.int(30 * TICK);
          this.queue.push(this.time + delay, () => this.deliver(m.to, bytes));
        }
      }
      for (const e of rd.committedEntries) {
        this.checker.onApply(n.id, e);
        n.applied.push(e);
        n.state = stateHash(n.state, e);
        const r = n.cluster.apply(isClusterCommand(e) ? e : { ...e, data: NO_COMMAND });
        if (r.command?.type === 'increment-epoch') this.checker.onEpochCommand(e.index, r.applied);
        // A restart's replay passes through older states: it is checked once it is done (in start()).
        if (r.applied && !this.replaying) this.checker.onClusterState(n.id, e.index, e.index, n.cluster.state().epoch);
      }
      raft.advance(rd);
    }
    this.checker.onState(n.id, raft.log.applied, n.state, raft.confState());
    // The epoch is checked after every event (and above, at each command and snapshot install); the
    // snapshot bytes only when there is something new. A restart is checked once its log is re-applied.
    const cs = n.cluster.state();
    const fresh = n.checked !== n.cluster || n.checkedIndex !== cs.appliedIndex;
    this.checker.onClusterState(n.id, raft.log.applied, cs.appliedIndex, cs.epoch, fresh ? n.cluster.snapshot() : undefined);
    n.checked = n.cluster;
    n.checkedIndex = cs.appliedIndex;
    if (raft.role === 'leader') {
      this.checker.onLeader(n.id, raft.term, (i) => raft.log.term(i), raft.log.snapshotIndex);
      this.checker.onCommit(raft.term, raft.log.committed, (i) => raft.log.entry(i), raft.log.snapshotIndex);
    }
  }

  /** Both state machines as `snap` holds them (a fresh node without one). */
  private restore(n: SimNode, snap: Snapshot | undefined): void {
    if (snap === undefined) {
      n.state = '';
      n.cluster = new ClusterStateMachine();
      return;
    }
    const { hash, cluster } = decodeSimSnapshot(snap.data);
    n.state = hash;
    n.cluster = ClusterStateMachine.restore(cluster, snap.index);
  }

  /** Persists like a storage would: a snapshot replaces the whole stored log (see Ready in types.ts). */
  private persist(n: SimNode, rd: Ready): void {
    if (rd.snapshot !== undefined) {
      n.snapshot = rd.snapshot;
      n.stored = [];
    }
    if (rd.hardState !== undefined) n.hardState = rd.hardState;
    const first = rd.entries[0];
    if (first === undefined) return;
    const raft = n.raft!;
    this.checker.onEntries(n.id, rd.entries, (i) => raft.log.term(i));
    n.stored = n.stored.filter((e) => e.index < first.index).concat(rd.entries);
  }

  private deliver(to: string, bytes: Uint8Array): void {
    const n = this.nodes.get(to)!;
    if (n.raft === undefined) return;
    this.delivered++;
    n.raft.step(decodeMessage(bytes));
    this.afterEvent(n);
  }
}
