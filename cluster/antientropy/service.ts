/**
 * The anti-entropy service of a node (ANTIENTROPY.md): answers its peers' TreeHashes and BucketRecords
 * (responder.ts) and, as the committed epoch advances, verifies every partition it replicates, one
 * (partition, epoch range) job at a time per partition, with every other live replica in turn
 * (session.ts). Which ranges are due, and the backoff after a failure, is RepairSchedule's pure
 * bookkeeping; the per-partition verifiedThrough markers persist in DATA/antientropy/VERIFIED.
 *
 * It polls the committed ring every pollIntervalMs (default 1 s; an epoch lasts 30 s by default, so a
 * poll costs nothing worth a subscription) and refills a free slot as soon as a job ends. At most
 * `concurrency` jobs run at once; record and hash bytes moved by our sessions share one token bucket.
 */
import { ConnectionError } from '../../rpc/errors.js';
import type { Logger } from '../../rpc/logger.js';
import type { RpcServer } from '../../rpc/server.js';
import type { RingView } from '../coordinator-ring.js';
import type { StoredRecord } from '../storage/record.js';
import type { ReplicaStore } from '../storage/replica-store.js';
import type { AntiEntropyTransport } from './peers.js';
import { AntiEntropyResponder } from './responder.js';
import { RepairSchedule, type DueRange, type ScheduleOptions } from './schedule.js';
import { AntiEntropyArgumentError } from './service-errors.js';
import { runSession, type SessionStats } from './session.js';
import { newStats, type AntiEntropyStats } from './stats.js';
import { TokenBucket } from './token-bucket.js';
import { TreeCache } from './tree-cache.js';
import { TreeSource, yieldToEventLoop } from './tree-source.js';
import type { VerifiedStore } from './verified-store.js';

export const DEFAULT_CONCURRENCY = 2;
export const DEFAULT_BYTES_PER_SEC = 16 * 1024 * 1024;
/** How long after a peer's last request for a partition our own job for a range it covers waits. */
const SERVED_HOLD_MS = 1000;

export interface AntiEntropyServiceOptions extends ScheduleOptions {
  readonly nodeId: string;
  readonly clusterId: string;
  readonly store: ReplicaStore;
  readonly view: () => RingView | undefined;
  /** Gossip's word: only peers it calls alive take part in a session. */
  readonly isAlive: (node: string) => boolean;
  readonly transport: AntiEntropyTransport;
  readonly verified: VerifiedStore;
  readonly logger: Logger;
  /** Jobs (sessions) at once, 1..64 (default 2). */
  readonly concurrency?: number;
  /** Bytes per second our sessions may move, both ways together (default 16 MiB/s). */
  readonly bytesPerSec?: number;
  readonly pollIntervalMs?: number;
  readonly now?: () => number;
  readonly sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
  readonly pause?: () => Promise<void>;
  readonly cacheEntries?: number;
  readonly cacheTtlMs?: number;
}

const realSleep = (ms: number, signal: AbortSignal): Promise<void> =>
  new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });

/** One partition's anti-entropy state on this node (AntiEntropyService.partitionState). */
export interface PartitionRepairState {
  /** Compared and repaired with every live replica through this epoch (0: nothing yet). */
  verifiedThrough: number;
  /** A session for it is running now. */
  running: boolean;
  /** Failed sessions in a row (it is in backoff while > 0). */
  failures: number;
}

export class AntiEntropyService {
  readonly responder: AntiEntropyResponder;
  private readonly stats: AntiEntropyStats = newStats();
  private readonly cache: TreeCache;
  private readonly source: TreeSource;
  private readonly bucket: TokenBucket;
  private readonly concurrency: number;
  private readonly now: () => number;
  private readonly sleep: (ms: number, signal: AbortSignal) => Promise<void>;
  private readonly running = new Map<number, Promise<void>>();
  private readonly abort = new AbortController();
  private timer: ReturnType<typeof setTimeout> | undefined;
  private looping = false;
  private saving: Promise<void> = Promise.resolve();

  private constructor(
    private readonly opts: AntiEntropyServiceOptions,
    private readonly schedule: RepairSchedule,
  ) {
    const concurrency = opts.concurrency ?? DEFAULT_CONCURRENCY;
    if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 64) throw new AntiEntropyArgumentError(`concurrency must be an integer in [1, 64], got ${String(concurrency)}`);
    this.concurrency = concurrency;
    this.bucket = new TokenBucket(opts.bytesPerSec ?? DEFAULT_BYTES_PER_SEC);
    this.now = opts.now ?? Date.now;
    this.sleep = opts.sleep ?? realSleep;
    this.source = new TreeSource(opts.store, opts.pause ?? yieldToEventLoop);
    this.cache = new TreeCache(opts.cacheEntries ?? 64, opts.cacheTtlMs ?? 30_000, this.now);
    this.responder = new AntiEntropyResponder({
      nodeId: opts.nodeId,
      clusterId: opts.clusterId,
      source: this.source,
      cache: this.cache,
      view: opts.view,
      now: this.now,
      onTreeBuilt: (records, ms) => {
        this.stats.treesBuilt++;
        this.stats.treeRecords += records;
        this.stats.treeBuildSeconds += ms / 1000;
      },
    });
  }

  /** Reads the verified markers (a damaged file is logged and starts from nothing verified). */
  static async open(opts: AntiEntropyServiceOptions): Promise<AntiEntropyService> {
    const { markers, corrupt } = await opts.verified.load();
    if (corrupt !== undefined) opts.logger.warn(`anti-entropy: verified-ranges file ignored, every epoch will be compared again: ${corrupt.message}`, { code: corrupt.code });
    return new AntiEntropyService(opts, new RepairSchedule(markers, opts));
  }

  /** Serves TreeHashes (73) and BucketRecords (74). */
  register(server: RpcServer): void {
    this.responder.register(server);
  }

  /** Starts polling the committed ring for due ranges. */
  start(): void {
    if (this.looping || this.abort.signal.aborted) return;
    this.looping = true;
    const tick = (): void => {
      void Promise.allSettled(this.fill());
      void this.saveMarkers();
      if (!this.abort.signal.aborted) this.timer = setTimeout(tick, this.opts.pollIntervalMs ?? 1000);
    };
    tick();
  }

  /** Cancels the sessions in flight, waits for them and saves the markers. */
  async stop(): Promise<void> {
    this.abort.abort();
    if (this.timer !== undefined) clearTimeout(this.timer);
    await Promise.allSettled([...this.running.values()]);
    await this.saveMarkers();
  }

  /** One scheduling pass without the timer (tests): starts what is due, waits for it, saves. Returns the jobs run. */
  async runRound(): Promise<number> {
    const jobs = this.fill();
    await Promise.allSettled(jobs);
    await this.saveMarkers();
    return jobs.length;
  }

  /**
   * A record was stored through the replica service (coordinator write, read repair, hint replay, a
   * peer's push): trees covering its epoch are stale, and a record of an epoch already verified is a
   * late write (ANTIENTROPY.md): counted, and its epoch is compared again.
   */
  noteApplied(record: StoredRecord): void {
    this.cache.invalidate(record.partition, record.epoch);
    if (this.schedule.stored(record.partition, record.epoch)) this.stats.lateWrites++;
  }

  verifiedThrough(partition: number): number {
    return this.schedule.verifiedThrough(partition);
  }

  /** Where partition p stands here, for the status page: verified through which epoch, in a session now, failures in a row. */
  partitionState(partition: number): PartitionRepairState {
    return { verifiedThrough: this.schedule.verifiedThrough(partition), running: this.running.has(partition), failures: this.schedule.failuresOf(partition) };
  }

  antiEntropyStats(): AntiEntropyStats {
    return { ...this.stats, sessionsRunning: this.running.size, partitionsFailing: this.schedule.failing };
  }

  /** Starts due jobs in the free slots; returns their promises. */
  private fill(): Promise<void>[] {
    if (this.abort.signal.aborted) return [];
    const view = this.opts.view();
    if (view === undefined) return [];
    this.stats.epoch = view.epoch;
    const mine: number[] = [];
    for (let p = 0; p < view.state.config.partitions; p++) if (view.ring.preferenceList(p).includes(this.opts.nodeId)) mine.push(p);
    const due = this.schedule.due(view.epoch, mine, this.now(), new Set(this.running.keys()));
    this.stats.partitionsDue = due.length + this.running.size;
    // A range a peer is comparing with us now waits: that session repairs both sides, and a second one at
    // the same time would move the same records twice. Only if the peer's range holds all of ours: a
    // node catching up on many epochs must not wait behind its peers' one-epoch ranges.
    const since = this.now() - SERVED_HOLD_MS;
    const ready = due.filter((r) => !this.responder.servedCovering(r.partition, r, since));
    const free = this.concurrency - this.running.size;
    return ready.slice(0, Math.max(0, free)).map((range) => this.launch(range, view));
  }

  private launch(range: DueRange, view: RingView): Promise<void> {
    this.schedule.begin(range);
    const job = this.runJob(range, view).finally(() => {
      this.schedule.end(range.partition);
      this.running.delete(range.partition);
      if (this.looping) void Promise.allSettled(this.fill());
    });
    this.running.set(range.partition, job);
    return job;
  }

  /** Verifies one range with every live peer, one after the other (a later peer's diff sees the repairs). */
  private async runJob(range: DueRange, view: RingView): Promise<void> {
    const others = view.ring.preferenceList(range.partition).filter((n) => n !== this.opts.nodeId);
    const peers = others.filter((n) => this.opts.isAlive(n));
    // With no live peer (all down, or gossip has not seen them yet after this node's restart) nothing was
    // compared: the range stays due. Marking it verified would skip exactly the writes a returning node missed.
    let complete = others.length === 0 || peers.length > 0;
    let moved = false;
    let refused = false; // a failure other than an unreachable peer
    // Records received from a later peer may be missing on the earlier ones: those get a second pass.
    const order = [...peers];
    let lastApplied = -1;
    for (let i = 0; i < order.length; i++) {
      const peerId = order[i]!;
      if (this.abort.signal.aborted) return;
      try {
        const s = await this.session(range, view, peerId);
        if (s.peerChanged) moved = true;
        if (s.keysApplied > 0 && i < peers.length) lastApplied = i;
      } catch (err) {
        if (this.abort.signal.aborted) return;
        complete = false;
        this.stats.sessionsFailed++;
        const e = err as Error & { code?: string };
        if (!(err instanceof ConnectionError)) refused = true;
        this.opts.logger.debug(`anti-entropy: session with ${peerId} failed`, { partition: range.partition, from: range.from, to: range.to, code: e.code, error: e.message });
      }
      if (i === peers.length - 1 && lastApplied > 0) order.push(...peers.slice(0, lastApplied));
    }
    // A peer that refused or answered badly backs off, doubling. An unreachable peer, no live peer yet or a
    // moving tree are passing: tried again soon, so that a range whose peer is down completes without it
    // as soon as gossip says so (rather than up to a minute later, overlapping with that node's own
    // catch-up when it is back).
    if (refused) this.schedule.failed(range, this.now());
    else if (!complete || moved) this.schedule.retrySoon(range, this.now());
    else {
      this.schedule.succeeded(range);
      this.stats.rangesVerified++;
    }
  }

  private async session(range: DueRange, view: RingView, peerId: string): Promise<SessionStats> {
    const signal = this.abort.signal;
    let built = false;
    const s = await runSession(
      {
        partition: range.partition,
        range,
        peerId,
        peer: this.opts.transport.peer(peerId, view),
        store: this.opts.store,
        source: this.source,
        localTree: async () => {
          const before = this.stats.treesBuilt;
          const tree = await this.responder.treeOf(range.partition, range);
          built = this.stats.treesBuilt > before;
          return { tree, built };
        },
        partitionOf: (key) => view.ring.partitionOf(key),
        onApplied: (p, epoch) => this.cache.invalidate(p, epoch),
        throttle: async (bytes) => {
          const delay = this.bucket.charge(bytes, this.now());
          if (delay > 0) await this.sleep(delay, signal);
          else await (this.opts.pause ?? yieldToEventLoop)();
          signal.throwIfAborted();
        },
        signal,
      },
      this.now,
    );
    this.record(s);
    return s;
  }

  private record(s: SessionStats): void {
    const t = this.stats;
    t.sessions++;
    t.hashBytes += s.hashBytes;
    t.mismatchingBuckets += s.mismatchingBuckets;
    t.keysReceived += s.keysReceived;
    t.bytesReceived += s.bytesReceived;
    t.keysApplied += s.keysApplied;
    t.keysSent += s.keysSent;
    t.bytesSent += s.bytesSent;
    t.keysAppliedByPeer += s.keysAppliedByPeer;
    t.sessionSeconds += s.durationMs / 1000;
    const repaired = s.keysApplied + s.keysAppliedByPeer > 0;
    if (repaired) t.sessionsRepaired++;
    const fields = { ...s };
    if (repaired) this.opts.logger.info(`anti-entropy: partition ${s.partition} epochs ${s.from}..${s.to} with ${s.peer}: ${s.keysApplied} keys repaired here, ${s.keysAppliedByPeer} there`, fields);
    else this.opts.logger.debug(`anti-entropy: partition ${s.partition} epochs ${s.from}..${s.to} with ${s.peer}: in sync`, fields);
  }

  /** Saves the markers if they changed; saves never overlap. A failed save is logged and retried later. */
  private saveMarkers(): Promise<void> {
    this.saving = this.saving.then(async () => {
      const markers = this.schedule.takeChanged();
      if (markers === undefined) return;
      try {
        // Repairs were applied unsynced (as default writes are): on disk before the marker that says so.
        await this.opts.store.sync();
        await this.opts.verified.save(markers);
      } catch (err) {
        this.schedule.markUnsaved();
        this.opts.logger.warn(`anti-entropy: cannot save the verified ranges: ${(err as Error).message}`);
      }
    });
    return this.saving;
  }
}
