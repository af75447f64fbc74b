/**
 * The coordinator of the leaderless data path (Dynamo §4.5): any node takes a client's put, delete or
 * get and runs it over the key's replicas.
 *
 *   - Writes: a fresh HLC timestamp and the committed epoch go into the record; it is sent in parallel to
 *     every target of the key's preference list (live owners, a stand-in with a hint per down owner; the
 *     local node directly) and WriteQuorum decides: success at W owner acks, UnavailableError as soon as
 *     W cannot be reached or at the deadline. Sends are not cancelled by the decision: every replica
 *     reached keeps the write. A durable write asks each replica to fdatasync before it acknowledges;
 *     otherwise an ack means "in the replica's WAL file", synced within its sync interval.
 *   - Hinted handoff: a stand-in keeps a hinted write in its hint store. When no stand-in is left (every
 *     member is already an owner, e.g. 3 nodes with N=3) or a target fails, the coordinator keeps the hint
 *     itself, so the write still reaches the owner once it is back (coordinator-hints.ts replays hints).
 *   - Membership transitions (cluster/STREAMING.md): owners are the *read* ring's; a partition's pending
 *     owners (write ring only, streaming it in) get every write too, but their acks do not count toward
 *     W; a pending owner that is down or fails gets a hint kept here.
 *   - Reads: R live owners are asked (this node first when it is one), ReadQuorum answers after R
 *     (newest version; a tombstone is not-found). The other owners are asked when one of those fails or
 *     answers slowly (speculativeReadMs), and all of them for blocking repair. R=1 at an owner is its own
 *     replica's answer (readLocal). Read repair sends the newest version to the asked owners that
 *     answered with an older one or none, in the background once every asked owner answered (or at the
 *     deadline), or before the answer with `blockingRepair` (which asks every owner). An owner a read
 *     did not ask is left to anti-entropy and hinted handoff.
 */
import { resolveRead, resolveWrite, type ConsistencyInput } from './consistency.js';
import type { RingView } from './coordinator-ring.js';
import type { ReplicaTransport } from './coordinator-transport.js';
import type { HintStore } from './hints/hint-store.js';
import type { HybridClock, Timestamp } from './hlc.js';
import type { IsAlive } from './preference.js';
import { UnavailableError } from './quorum/errors.js';
import { ReadQuorum, type ReadOutcome } from './quorum/read-quorum.js';
import { WriteQuorum, type WriteOutcome } from './quorum/write-quorum.js';
import { NoRingError, checkDataKey, type ReplicaEndpoint } from './replica-service.js';
import { compareRecords, encodeRecord, type StoredRecord } from './storage/record.js';
import type { Logger } from '../rpc/logger.js';

export interface RequestOptions {
  /** R for a get, W for a put or delete: a count, ONE/QUORUM/ALL, or the committed default. */
  readonly consistency?: ConsistencyInput;
  /** Give up (UnavailableError) after this long (default: the coordinator's deadline, 5 s). */
  readonly deadlineMs?: number;
  /** Aborting acts as the deadline passing now. */
  readonly signal?: AbortSignal;
  /** Get only: answer after stale replicas were repaired. */
  readonly blockingRepair?: boolean;
  /**
   * Put or delete only: a durable write, acknowledged by a replica only once fdatasynced there
   * (default: the coordinator's durableWrites). Otherwise a replica acknowledges once the write is in
   * its WAL file and fdatasyncs it within its sync interval.
   */
  readonly durable?: boolean;
}

export interface WriteResult {
  readonly timestamp: Timestamp;
  /** Acks that counted toward W when the write succeeded. */
  readonly acks: number;
}

export interface ReadResult {
  /** The newest version among the answers (a tombstone for a deleted key), undefined when none has one. */
  readonly record: StoredRecord | undefined;
  /** False for a missing or deleted key. */
  readonly found: boolean;
}

export interface CoordinatorStats {
  puts: number;
  deletes: number;
  gets: number;
  /** Requests that failed with UnavailableError. */
  unavailable: number;
  /** Versions sent to stale replicas by read repair (acknowledged). */
  readRepairs: number;
  readRepairFailures: number;
  /** Hints this coordinator stored for owners it could not reach. */
  hintsStored: number;
}

export interface CoordinatorOptions {
  readonly nodeId: string;
  /** This node's ReplicaService (called directly, no RPC). */
  readonly local: ReplicaEndpoint;
  readonly transport: ReplicaTransport;
  readonly rings: { current(): RingView | undefined };
  /** Gossip's view: is the node up? (this node always is) */
  readonly isAlive: IsAlive;
  readonly hints: HintStore;
  readonly clock: HybridClock;
  readonly logger: Logger;
  readonly deadlineMs?: number;
  /** Whether a stand-in's ack counts toward W (sloppy quorum); default false. */
  readonly sloppyQuorum?: boolean;
  /**
   * A get asks R owners; if they have not all answered after this long, it asks the other live owners
   * too (default 20 ms): a paused or overloaded replica then costs a read this much, not its deadline.
   */
  readonly speculativeReadMs?: number;
  /** Whether writes that do not say are durable (RequestOptions.durable); default false. */
  readonly durableWrites?: boolean;
}

export class Coordinator {
  readonly stats: CoordinatorStats = { puts: 0, deletes: 0, gets: 0, unavailable: 0, readRepairs: 0, readRepairFailures: 0, hintsStored: 0 };
  private readonly background = new Set<Promise<unknown>>();
  private readonly deadlineMs: number;
  private readonly speculativeReadMs: number;

  constructor(private readonly opts: CoordinatorOptions) {
    this.deadlineMs = opts.deadlineMs ?? 5000;
    this.speculativeReadMs = opts.speculativeReadMs ?? 20;
  }

  put(key: Uint8Array, value: Uint8Array, opts: RequestOptions = {}): Promise<WriteResult> {
    if (!(value instanceof Uint8Array)) return Promise.reject(new TypeError('value must be bytes'));
    this.stats.puts++;
    return this.write(key, value, false, opts);
  }

  del(key: Uint8Array, opts: RequestOptions = {}): Promise<WriteResult> {
    this.stats.deletes++;
    return this.write(key, new Uint8Array(0), true, opts);
  }

  async get(key: Uint8Array, opts: RequestOptions = {}): Promise<ReadResult> {
    this.stats.gets++;
    const view = this.view();
    checkDataKey(key);
    const partition = view.ring.partitionOf(key);
    const owners = view.ring.preferenceList(partition);
    const r = resolveRead(opts.consistency, owners.length, { r: view.state.config.readQuorum });
    let localFailure: unknown;
    if (r === 1 && opts.blockingRepair !== true && owners.includes(this.opts.nodeId)) {
      const started = performance.now();
      const local = await this.readLocal(key);
      if (local.ok) return local.result;
      // The other owners are asked as below, within what is left of the deadline.
      localFailure = local.error;
      opts = { ...opts, deadlineMs: Math.max(0, (opts.deadlineMs ?? this.deadlineMs) - (performance.now() - started)) };
    }
    const quorum = new ReadQuorum<StoredRecord>({ replicas: owners, r, compare: compareRecords });
    let decided: (o: ReadOutcome<StoredRecord>) => void = () => undefined;
    let planDone: () => void = () => undefined;
    const decision = new Promise<ReadOutcome<StoredRecord>>((resolve) => (decided = resolve));
    const planComplete = new Promise<void>((resolve) => (planDone = resolve));
    // R live owners are asked first, this node first when it is one; the spares only when an asked one
    // fails, once the first answers are slow (speculativeReadMs: a paused replica is masked), or all at
    // once for blocking repair. Spares never asked leave the quorum once it decided (not asked, not
    // repaired), so the repair plan completes with the answers it has.
    const live: string[] = [];
    for (const node of owners) {
      if (!this.opts.isAlive(node)) quorum.fail(node, new Error(`${node} is down per gossip`));
      else if (node === this.opts.nodeId && localFailure !== undefined) quorum.fail(node, localFailure);
      else live.push(node);
    }
    const self = live.indexOf(this.opts.nodeId);
    if (self > 0) live.unshift(...live.splice(self, 1));
    let spares = opts.blockingRepair === true ? [] : live.splice(r);
    let speculation: NodeJS.Timeout | undefined;
    const check = (o: ReadOutcome<StoredRecord>): void => {
      if (o.done !== 'pending') {
        decided(o);
        clearTimeout(speculation);
        for (const node of spares) quorum.fail(node, NOT_ASKED);
        spares = [];
      }
      if (quorum.repairPlan().complete) planDone();
    };
    const ask = (node: string): void => {
      this.endpoint(node, view)
        .read(key)
        .then(
          (v) => check(quorum.response(node, v)),
          (err: unknown) => {
            const spare = spares.shift();
            if (spare !== undefined) ask(spare);
            check(quorum.fail(node, err));
          },
        );
    };
    const stopTimer = this.onDeadline(opts, () => check(quorum.deadline()));
    for (const node of live) ask(node);
    if (spares.length > 0) {
      speculation = setTimeout(() => {
        const late = spares;
        spares = [];
        for (const node of late) ask(node);
      }, this.speculativeReadMs);
    }
    check(quorum.result);
    const repaired = planComplete.then(() => {
      stopTimer();
      return this.repair(key, quorum, view);
    });
    this.track(repaired);
    const outcome = await decision;
    if (opts.blockingRepair === true) await repaired;
    if (outcome.done === 'unavailable') {
      this.stats.unavailable++;
      throw outcome.error!;
    }
    const record = outcome.newest;
    return { record, found: record !== undefined && !record.tombstone };
  }

  /**
   * R=1 at an owner: this node's own replica is as good an answer as any other's, so it answers alone —
   * no remote reads, and so no read repair (anti-entropy and hints still bring every replica up to
   * date). The quorum path would ask the same single replica; this skips its bookkeeping (a quorum, two
   * timers, the repair plan) on what is most R=1 gets, as the client routes reads to owners. If the
   * local store fails, the caller asks the other owners. A slow local read is not cut short: it is
   * bounded by this node's I/O.
   */
  private async readLocal(key: Uint8Array): Promise<{ ok: true; result: ReadResult } | { ok: false; error: unknown }> {
    try {
      const record = await this.opts.local.read(key);
      return { ok: true, result: { record, found: record !== undefined && !record.tombstone } };
    } catch (error) {
      this.opts.logger.debug('local read failed; asking the other owners', { error: String(error) });
      return { ok: false, error };
    }
  }

  /**
   * Moves this node's clock past a version the client has already seen (its causality token), so the
   * next write it coordinates for that client is stamped after it even when this node's wall clock is
   * behind the node that stamped `seen`. Throws HlcClockDriftError when `seen` is implausibly far ahead.
   */
  observe(seen: Timestamp): void {
    this.opts.clock.update(seen);
  }

  /** Resolves when background work (read repairs, hint stores) started so far has finished. */
  async drain(): Promise<void> {
    while (this.background.size > 0) await Promise.allSettled([...this.background]);
  }

  private async write(key: Uint8Array, value: Uint8Array, tombstone: boolean, opts: RequestOptions): Promise<WriteResult> {
    const view = this.view();
    checkDataKey(key);
    const partition = view.ring.partitionOf(key);
    const w = resolveWrite(opts.consistency, view.ring.replicas, { w: view.state.config.writeQuorum });
    const targets = view.lists.forPartition(partition, this.opts.isAlive);
    const record: StoredRecord = { value, timestamp: this.opts.clock.now(), epoch: view.epoch, partition, tombstone };
    const bytes = encodeRecord(record); // validates (value size) before anything is sent
    const hintedFor = new Map(targets.targets.filter((t) => t.hintFor !== undefined).map((t) => [t.node, t.hintFor!]));
    const quorum = new WriteQuorum({
      replicas: [...targets.targets.map((t) => t.node), ...targets.uncovered],
      w,
      sloppy: this.opts.sloppyQuorum ?? false,
      hintedFor,
    });
    let decided: (o: WriteOutcome) => void = () => undefined;
    let allAnswered: () => void = () => undefined;
    const decision = new Promise<WriteOutcome>((resolve) => (decided = resolve));
    const answered = new Promise<void>((resolve) => (allAnswered = resolve));
    let silent = targets.targets.length;
    const check = (o: WriteOutcome): void => {
      if (o.done !== 'pending') decided(o);
    };
    const settled = (): void => {
      if (--silent === 0) allAnswered();
    };
    if (silent === 0) allAnswered();
    let deadlinePassed = false;
    const stopTimer = this.onDeadline(opts, () => {
      deadlinePassed = true;
      allAnswered();
      check(quorum.deadline());
    });
    for (const owner of targets.uncovered) {
      this.keepHint(owner, key, bytes);
      check(quorum.fail(owner, new Error(`${owner} is down per gossip and no stand-in is left`)));
    }
    const sync = opts.durable ?? this.opts.durableWrites ?? false;
    this.sendToPending(view, partition, key, record, bytes, sync);
    for (const t of targets.targets) {
      this.endpoint(t.node, view)
        .write([{ key, record, encoded: bytes }], t.hintFor, sync)
        .then(
          () => check(quorum.ack(t.node)),
          (err: unknown) => {
            check(quorum.fail(t.node, err));
            if (isDeliveryFailure(err)) this.keepHint(t.hintFor ?? t.node, key, bytes);
          },
        )
        .finally(settled);
    }
    check(quorum.result);
    const outcome = await decision;
    if (outcome.done === 'unavailable') {
      // Decided early (too many failures): let the targets still writing answer, so the error says how
      // many replicas really acknowledged (the local one usually acks a moment after remote refusals).
      await answered;
      stopTimer();
      this.stats.unavailable++;
      const acks = quorum.ackedNodes().filter((n) => (this.opts.sloppyQuorum ?? false) || !hintedFor.has(n)).length;
      const failed = quorum.failures().size;
      throw new UnavailableError('write', w, acks, quorum.replicas.length, failed, deadlinePassed);
    }
    stopTimer();
    return { timestamp: record.timestamp, acks: outcome.acks };
  }

  private view(): RingView {
    const view = this.opts.rings.current();
    if (view === undefined) throw new NoRingError(this.opts.nodeId);
    return view;
  }

  private endpoint(node: string, view: RingView): ReplicaEndpoint {
    return node === this.opts.nodeId ? this.opts.local : this.opts.transport.endpoint(node, view);
  }

  /** Calls `fire` when the request's deadline passes or its signal aborts; returns the cancel function. */
  private onDeadline(opts: RequestOptions, fire: () => void): () => void {
    const ms = Math.max(0, opts.deadlineMs ?? this.deadlineMs);
    const timer = setTimeout(fire, ms);
    const signal = opts.signal;
    signal?.addEventListener('abort', fire, { once: true });
    if (signal?.aborted === true) fire();
    return () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', fire);
    };
  }

  /** Sends the newest version to the replicas that answered with an older one or none. */
  private async repair(key: Uint8Array, quorum: ReadQuorum<StoredRecord>, view: RingView): Promise<void> {
    const plan = quorum.repairPlan();
    if (plan.version === undefined || plan.nodes.length === 0) return;
    const record = plan.version;
    await Promise.all(
      plan.nodes.map((node) =>
        this.endpoint(node, view)
          .write([{ key, record }], undefined)
          .then(
            () => void this.stats.readRepairs++,
            (err: unknown) => {
              this.stats.readRepairFailures++;
              this.opts.logger.debug('read repair failed', { node, error: String(err) });
            },
          ),
      ),
    );
  }

  /** A transition's pending owners get the write in the background; a failed or down one gets a hint. */
  private sendToPending(view: RingView, partition: number, key: Uint8Array, record: StoredRecord, bytes: Uint8Array, sync: boolean): void {
    for (const node of view.pendingOwners(partition)) {
      if (!this.opts.isAlive(node)) {
        this.keepHint(node, key, bytes);
        continue;
      }
      this.track(
        this.endpoint(node, view)
          .write([{ key, record, encoded: bytes }], undefined, sync)
          .catch((err: unknown) => {
            if (isDeliveryFailure(err)) this.keepHint(node, key, bytes);
          }),
      );
    }
  }

  /** Keeps a hint for an owner this coordinator could not reach (never for itself). */
  private keepHint(owner: string, key: Uint8Array, record: Uint8Array): void {
    if (owner === this.opts.nodeId) return;
    this.track(
      this.opts.hints.add(owner, key, record).then(
        () => void this.stats.hintsStored++,
        (err: unknown) => this.opts.logger.warn('could not store a hint', { owner, error: String(err) }),
      ),
    );
  }

  private track(p: Promise<unknown>): void {
    const tracked = p.catch(() => undefined).finally(() => this.background.delete(tracked));
    this.background.add(tracked);
  }
}

/** Marks, in a decided read's quorum, the spare owners it never needed to ask. */
const NOT_ASKED = new Error('not asked: the read had its answers');

/** A failure after which the owner may lack the write (down, timed out), not one where it refused it. */
function isDeliveryFailure(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return code !== 'RPC_WRONG_OWNER' && code !== 'CLUSTER_WRONG_OWNER' && code !== 'RPC_INVALID_ARGUMENT' && code !== 'CLUSTER_BAD_REPLICA_REQUEST';
}
