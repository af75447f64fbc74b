/**
 * RaftDriver: the I/O edge around the pure Raft core (raft.ts), like MembershipDriver around SwimNode. It
 * owns the Raft node, its durable storage (storage.ts, DATA/raft) and the cluster state machine
 * (cluster/state), ticks Raft on a timer, serves the Raft (65), Status (71), Decommission (72) and
 * StreamDone (76) methods,
 * and on the leader runs the planner that adds members gossip sees alive, removes the long dead and bumps
 * the epoch. A graceful stop hands leadership to the most up-to-date voter first.
 *
 * The ready loop is strictly serialized, one Ready at a time, in the order the core requires:
 *   1. persist the snapshot, hard state and entries with one fsynced write — a vote or an append ack is
 *      never sent for state a crash could lose;
 *   2. send the messages (best effort, see driver-transport.ts);
 *   3. restore the state machine from the snapshot, if any, then apply the committed entries in order;
 *   4. advance(); then snapshot and truncate the log once `snapshotEntries` entries were applied past the
 *      last snapshot.
 * Inputs (ticks, incoming messages, proposals) go into the core at any time; they only ask for the loop.
 *
 * Bootstrap: with empty storage a `bootstrap` node starts as the single voter of a new configuration and,
 * once leader, its planner creates the cluster (add-member of itself, then of every node gossip sees
 * alive); any other new node starts with an empty configuration and waits for a leader to add it.
 * Stored state wins over both.
 */
import { performance } from 'node:perf_hooks';
import Long from 'long';
import type { FileSystem } from '../../lsm/index.js';
import type { MembershipDriver } from '../membership/driver.js';
import type { RpcClient } from '../../rpc/client.js';
import { InvalidArgumentError, PermissionDeniedError, ShuttingDownError } from '../../rpc/errors.js';
import type { Logger } from '../../rpc/logger.js';
import { silentLogger } from '../../rpc/logger.js';
import { Methods } from '../../rpc/methods.js';
import type { RpcServer } from '../../rpc/server.js';
import type { mydatastore } from '../../proto/gen/messages.js';
import { ClusterStateMachine } from '../state/cluster-state.js';
import type { ClusterConfig } from '../state/config.js';
import { decodeMessage } from './codec.js';
import { decommission, type DecommissionContext } from './driver-decommission.js';
import { streamDone } from './driver-stream-done.js';
import { AppliedWaiters } from './driver-proposals.js';
import { RaftTransport } from './driver-transport.js';
import { LeaderPlanning } from './driver-planner.js';
import { describeApplied, statusResponse } from './driver-views.js';
import { Raft } from './raft.js';
import { RaftStorage } from './storage.js';
import { RaftDecodeError, type Ready, type RaftMessage, type SoftState } from './types.js';

export interface RaftDriverOptions {
  readonly id: string;
  /** host:port this node's RpcServer listens on. */
  readonly address: string;
  readonly clusterId: string;
  /** Directory of the Raft storage (DATA/raft). */
  readonly dir: string;
  /** Create a new cluster if the storage is empty. */
  readonly bootstrap: boolean;
  /** The node's RPC server: the driver registers Raft, Status and Decommission on it. */
  readonly server: Pick<RpcServer, 'handle'>;
  /** Client for Raft messages; the driver closes it on stop. */
  readonly client: Pick<RpcClient, 'call' | 'destroy'>;
  /** File system of the storage (default: the real disk; tests pass a MemFileSystem). */
  readonly fs?: FileSystem;
  /** Gossip: who is alive (the planner's input) and where nodes not yet committed listen. */
  readonly membership: Pick<MembershipDriver, 'members'>;
  readonly logger?: Logger;
  /** Raft tick (default 50 ms); elections after electionTicks..2·electionTicks ticks without a leader. */
  readonly tickMs?: number;
  readonly electionTicks?: number;
  readonly heartbeatTicks?: number;
  readonly epochIntervalMs?: number;
  readonly removeDeadAfterMs?: number;
  readonly voterTarget?: number;
  /** Configuration (P, N, R, W) the leader commits when it creates the cluster; ignored once created. */
  readonly initialConfig?: ClusterConfig;
  /** Take a snapshot once this many entries were applied past the last one (default 1000). */
  readonly snapshotEntries?: number;
  /** How often the leader runs the planner (default 250 ms). */
  readonly planIntervalMs?: number;
  /** stop() waits at most this long for a leadership transfer (default 2 s). */
  readonly transferTimeoutMs?: number;
  /** Called when the driver cannot go on (its storage failed): the node should shut down. */
  readonly onFatal?: (err: Error) => void;
  readonly clock?: () => number;
  readonly random?: () => number;
}

export class RaftDriver {
  readonly id: string;
  private readonly opts: RaftDriverOptions;
  private readonly raft: Raft;
  private readonly storage: RaftStorage;
  private sm: ClusterStateMachine;
  private readonly transport: RaftTransport;
  private readonly log: Logger;
  private readonly clock: () => number;
  private readonly planning: LeaderPlanning;
  private readonly waiters = new AppliedWaiters();
  private readonly snapshotEntries: number;
  private state: 'new' | 'running' | 'stopping' | 'stopped' = 'new';
  private loop: Promise<void> | undefined;
  private tickTimer: NodeJS.Timeout | undefined;
  private planTimer: NodeJS.Timeout | undefined;
  private soft: SoftState;
  private snapshotsInstalled = 0;
  private leaderChangesSeen = 0;
  private stopping: Promise<void> | undefined;
  private readonly admin: DecommissionContext;

  private constructor(opts: RaftDriverOptions, storage: RaftStorage, raft: Raft, sm: ClusterStateMachine) {
    this.opts = opts;
    this.id = opts.id;
    this.storage = storage;
    this.raft = raft;
    this.sm = sm;
    this.log = opts.logger ?? silentLogger;
    this.clock = opts.clock ?? (() => performance.now());
    this.snapshotEntries = opts.snapshotEntries ?? 1000;
    this.soft = raft.softState();
    this.planning = new LeaderPlanning(opts.id, this.log, {
      ...(opts.epochIntervalMs === undefined ? {} : { epochIntervalMs: opts.epochIntervalMs }),
      ...(opts.removeDeadAfterMs === undefined ? {} : { removeDeadAfterMs: opts.removeDeadAfterMs }),
      ...(opts.voterTarget === undefined ? {} : { voterTarget: opts.voterTarget }),
      ...(opts.initialConfig === undefined ? {} : { initialConfig: opts.initialConfig }),
    });
    this.transport = new RaftTransport({
      self: opts.id,
      clusterId: opts.clusterId,
      client: opts.client,
      logger: this.log,
      addressOf: (id) => this.addressOf(id),
      envelope: () => ({ epoch: this.sm.state().epoch, term: this.raft.term }),
    });
    opts.server.handle(Methods.Raft, (req) => this.onRaft(req));
    opts.server.handle(Methods.Status, () => this.status());
    const admin: DecommissionContext = {
      self: opts.id,
      clusterId: opts.clusterId,
      raft,
      client: opts.client,
      waiters: this.waiters,
      log: this.log,
      state: () => this.sm.state(),
      addressOf: (id) => this.addressOf(id),
      pump: () => this.pump(),
    };
    opts.server.handle(Methods.Decommission, (req) => {
      if (this.state !== 'running') throw new ShuttingDownError(`node ${this.id} is not running Raft`);
      return decommission(admin, req.nodeId, req.forwarded);
    });
    opts.server.handle(Methods.StreamDone, (req) => {
      if (this.state !== 'running') throw new ShuttingDownError(`node ${this.id} is not running Raft`);
      if ((req.from?.clusterId ?? '') !== opts.clusterId) throw new PermissionDeniedError(`stream-done from cluster "${req.from?.clusterId ?? ''}" refused: this node belongs to cluster "${opts.clusterId}"`);
      return streamDone(admin, req.nodeId, Long.fromValue(req.transition).toNumber(), req.forwarded);
    });
    this.admin = admin;
  }

  /** Asks the leader (through this node) to commit that this node streamed its partitions for `transition`. */
  async reportStreamDone(transition: number): Promise<boolean> {
    if (this.state !== 'running') throw new ShuttingDownError(`node ${this.id} is not running Raft`);
    return (await streamDone(this.admin, this.id, transition, false)).applied === true;
  }

  /** Opens the storage, recovers the Raft state and the state machine, and registers the RPC handlers. */
  static async open(opts: RaftDriverOptions): Promise<RaftDriver> {
    const log = opts.logger ?? silentLogger;
    const storage = await RaftStorage.open(opts.dir, opts.fs === undefined ? {} : { fs: opts.fs });
    try {
      const persisted = storage.load();
      const fresh = persisted.hardState.term === 0 && persisted.entries.length === 0 && persisted.snapshot === undefined;
      const random = opts.random ?? Math.random;
      const raft = new Raft({
        id: opts.id,
        rng: { next: random },
        config: {
          electionTicks: opts.electionTicks ?? 10,
          heartbeatTicks: opts.heartbeatTicks ?? 1,
        },
        ...(fresh ? { conf: opts.bootstrap ? { voters: [opts.id], learners: [] } : { voters: [], learners: [] } } : { persisted }),
      });
      const snap = persisted.snapshot;
      const sm = snap === undefined ? new ClusterStateMachine() : ClusterStateMachine.restore(snap.data, snap.index);
      if (fresh) {
        log.info(opts.bootstrap ? 'raft: empty storage, bootstrapping a new cluster with this node as its only voter' : 'raft: empty storage, waiting for a leader to add this node');
      } else {
        const hs = persisted.hardState;
        log.info(`raft: recovered term ${hs.term}, commit ${hs.commit}, ${persisted.entries.length} log entries, snapshot at ${snap?.index ?? 0}${opts.bootstrap ? ' (--bootstrap ignored: the node has Raft state)' : ''}`);
      }
      return new RaftDriver(opts, storage, raft, sm);
    } catch (err) {
      await storage.close();
      throw err;
    }
  }

  start(): void {
    if (this.state !== 'new') throw new Error('the Raft driver was already started');
    this.state = 'running';
    this.tickTimer = setInterval(() => this.tick(), this.opts.tickMs ?? 50);
    this.planTimer = setInterval(() => this.plan(), this.opts.planIntervalMs ?? 250);
    this.pump();
  }

  /** Hands leadership to the most up-to-date voter (bounded wait), then stops the timers and closes storage. */
  stop(): Promise<void> {
    this.stopping ??= this.doStop();
    return this.stopping;
  }

  /** The committed cluster state (for the node and tests). */
  clusterState(): ReturnType<ClusterStateMachine['state']> {
    return this.sm.state();
  }

  status(): mydatastore.cluster.StatusResponse.$Properties {
    const state = this.sm.state();
    return statusResponse({
      nodeId: this.id,
      address: this.opts.address,
      clusterId: this.opts.clusterId,
      raft: this.raft.status(),
      state,
      ring: state.created ? this.sm.ring() : undefined,
      snapshotsInstalled: this.snapshotsInstalled,
    });
  }

  /** Times this node saw a new leader (itself included) since it started, for the node's metrics. */
  get leaderChanges(): number {
    return this.leaderChangesSeen;
  }

  // ---- inputs -------------------------------------------------------------------------------------

  private tick(): void {
    if (this.state !== 'running' && this.state !== 'stopping') return;
    this.raft.tick();
    this.pump();
  }

  private onRaft(req: mydatastore.cluster.RaftRequest): mydatastore.cluster.RaftResponse.$Properties {
    const theirs = req.from?.clusterId ?? '';
    if (theirs !== this.opts.clusterId) {
      throw new PermissionDeniedError(`raft message from node "${req.from?.nodeId ?? '?'}" of cluster "${theirs}" refused: this node belongs to cluster "${this.opts.clusterId}"`);
    }
    if (this.state !== 'running' && this.state !== 'stopping') throw new ShuttingDownError(`node ${this.id} is not running Raft`);
    const messages: RaftMessage[] = [];
    try {
      for (const bytes of [req.message, ...req.messages]) messages.push(decodeMessage(bytes));
    } catch (err) {
      if (!(err instanceof RaftDecodeError)) throw err;
      this.log.warn(`raft: malformed message from ${req.from?.nodeId ?? '?'} dropped: ${err.message}`, { code: err.code });
      throw new InvalidArgumentError(`${err.code}: ${err.message}`);
    }
    for (const m of messages) {
      if (m.to !== this.id) {
        this.log.debug(`raft: message for ${m.to} dropped (this is ${this.id})`);
        continue;
      }
      this.raft.step(m);
    }
    this.pump();
    return {};
  }

  /** The leader's periodic decisions: joins, removals, epoch bumps, Raft configuration changes. */
  private plan(): void {
    // Only once the ready loop has seen us become leader (softStateChanged → becameLeader): the core is
    // leader as soon as it wins, before its term is persisted, and the planner would then still read the
    // previous leadership's (or the initial 0) lastEpochBumpMs and bump the epoch at once.
    if (this.state !== 'running' || this.soft.role !== 'leader') return;
    if (this.planning.run(this.raft, this.sm.state(), this.opts.membership.members(), this.clock())) this.pump();
  }

  // ---- the ready loop -------------------------------------------------------------------------------

  /** Starts the ready loop unless it runs already (it re-checks hasReady() before it exits). */
  private pump(): void {
    if (this.loop !== undefined || this.state === 'stopped' || this.state === 'new') return;
    this.loop = this.runLoop().finally(() => (this.loop = undefined));
  }

  private async runLoop(): Promise<void> {
    try {
      while (this.raft.hasReady() && this.state !== 'stopped') await this.handleReady(this.raft.ready());
    } catch (err) {
      const e = err instanceof Error ? err : new Error(String(err));
      this.log.error(`raft: cannot go on: ${e.message}`, { code: (e as { code?: string }).code });
      this.halt();
      this.opts.onFatal?.(e);
    }
  }

  private async handleReady(rd: Ready): Promise<void> {
    if (rd.snapshot !== undefined || rd.hardState !== undefined || rd.entries.length > 0) {
      await this.storage.persist({
        ...(rd.hardState === undefined ? {} : { hardState: rd.hardState }),
        ...(rd.snapshot === undefined ? {} : { snapshot: rd.snapshot }),
        entries: rd.entries,
      });
    }
    this.transport.send(rd.messages);
    if (rd.snapshot !== undefined) {
      this.sm = ClusterStateMachine.restore(rd.snapshot.data, rd.snapshot.index);
      this.snapshotsInstalled++;
      this.waiters.failAll('a snapshot from the leader replaced the log');
      this.log.info(`raft: installed snapshot at index ${rd.snapshot.index} (term ${rd.snapshot.term}) from the leader: epoch ${this.sm.state().epoch}, ${this.sm.state().members.length} members`);
    }
    for (const e of rd.committedEntries) {
      const result = this.sm.apply(e);
      this.waiters.applied(e, result);
      const line = describeApplied(result, this.sm.state());
      if (line !== undefined) this.log.info(line);
    }
    if (rd.softState !== undefined) this.softStateChanged(rd.softState);
    this.raft.advance(rd);
    await this.maybeCompact();
  }

  private softStateChanged(s: SoftState): void {
    const before = this.soft;
    this.soft = s;
    const term = this.raft.status().term;
    // Counted as etcd does: each time a known leader follows a different or an unknown one.
    if (s.leader !== '' && s.leader !== before.leader) this.leaderChangesSeen++;
    if (s.role === 'leader' && before.role !== 'leader') {
      this.log.info(`raft: became leader at term ${term}`);
      this.planning.becameLeader(this.clock());
    } else if (s.leader !== before.leader) {
      this.log.info(s.leader === '' ? `raft: no leader known (term ${term}, ${s.role})` : `raft: following leader ${s.leader} at term ${term}`);
    }
  }

  private async maybeCompact(): Promise<void> {
    const st = this.raft.status();
    // Raft's applied mark jumps when a snapshot arrives, before the state machine is restored from it:
    // compact only at the index the state machine has really applied, so snapshot bytes and index agree.
    const applied = this.sm.state().appliedIndex;
    if (applied !== st.applied || applied - st.snapshotIndex < this.snapshotEntries) return;
    const snap = this.raft.compact(applied, this.sm.snapshot());
    await this.storage.compact(snap);
    this.log.info(`raft: snapshot taken at index ${snap.index} (term ${snap.term}); log truncated`);
  }

  // ---- stop ------------------------------------------------------------------------------------------

  private async doStop(): Promise<void> {
    if (this.state === 'new' || this.state === 'stopped') {
      this.state = 'stopped';
      this.opts.client.destroy();
      await this.storage.close();
      return;
    }
    this.state = 'stopping';
    clearInterval(this.planTimer);
    await this.transferLeadership();
    this.halt();
    await this.loop;
    await this.transport.drain(500);
    this.opts.client.destroy();
    await this.storage.close();
  }

  /** If leader, hands leadership to the voter with the longest log and waits (bounded) until it took over. */
  private async transferLeadership(): Promise<void> {
    const st = this.raft.status();
    if (st.role !== 'leader') return;
    const target = st.conf.voters
      .filter((v) => v !== this.id)
      .map((v) => ({ id: v, match: st.progress[v]?.match ?? 0 }))
      .sort((a, b) => b.match - a.match)[0];
    if (target === undefined) return;
    this.log.info(`raft: stopping: transferring leadership to ${target.id} (match ${target.match} of ${st.lastIndex})`);
    try {
      this.raft.transferLeadership(target.id);
    } catch (err) {
      this.log.warn(`raft: leadership transfer to ${target.id} refused: ${(err as Error).message}`);
      return;
    }
    this.pump();
    const timeoutMs = this.opts.transferTimeoutMs ?? 2000;
    // Real time, not the injected clock (the planner's): a frozen test clock must not make stop() hang.
    const until = performance.now() + timeoutMs;
    while (performance.now() < until) {
      const s = this.raft.softState();
      if (s.role !== 'leader' && s.leader !== '' && s.leader !== this.id) {
        this.log.info(`raft: leadership transferred to ${s.leader}`);
        return;
      }
      await new Promise((r) => setTimeout(r, 10));
    }
    this.log.warn(`raft: ${target.id} did not take over within ${timeoutMs} ms; stopping anyway (the others elect a leader)`);
  }

  private halt(): void {
    this.state = 'stopped';
    this.waiters.failAll(`node ${this.id} is stopping`);
    clearInterval(this.tickTimer);
    clearInterval(this.planTimer);
  }

  /** Gossip's address for a live node (fresher after a restart on a new port), else the committed one. */
  private addressOf(id: string): string | undefined {
    const gossip = this.opts.membership.members().find((m) => m.id === id);
    if (gossip?.state === 'alive') return gossip.address;
    return this.sm.state().members.find((m) => m.id === id)?.address ?? gossip?.address;
  }
}
