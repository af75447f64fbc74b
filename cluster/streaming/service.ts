/**
 * StreamingService: the node side of partition streaming on membership change (cluster/STREAMING.md).
 * It watches the node's committed cluster state and runs one job at a time:
 *
 *  - stream: when a transition is in flight and this node gains partitions in it (and has not reported
 *    it yet), it first waits until every alive member has applied at least the state this node saw (so no
 *    coordinator starts a write with the old write ring any more), then `settleMs` for the writes already
 *    started with it: as long as a coordinator may still send one of them (its replica-call timeout);
 *    then it streams each gained partition, every epoch, from every alive read-ring owner of it (one
 *    source may have missed writes acknowledged at W < N; records merge by LWW in ReplicaStore.apply),
 *    `concurrency` partitions at a time under a byte budget per second, and finally asks the Raft leader
 *    to commit stream-done. A partition streamed in this process is not streamed again in a later
 *    transition while the node stays one of its write-ring owners (it has received every write since).
 *  - drop: once no transition is in flight and the rings changed since the last pass, it deletes the
 *    records of every partition this node owns in neither ring, in the background, with a log line each.
 *
 * I/O (pages, the barrier, stream-done) and the clock are injected; the decisions are stream-plan.ts.
 */
import type { Logger } from '../../rpc/logger.js';
import type { ClusterState } from '../state/snapshot-codec.js';
import type { StoredRecord } from '../storage/record.js';
import type { PartitionPosition, ReplicaStore } from '../storage/replica-store.js';
import { StreamFailedError } from './errors.js';
import type { StreamPage } from './responder.js';
import { type GainedPartition, streamPlan } from './stream-plan.js';

export interface StreamingOptions {
  readonly nodeId: string;
  readonly store: ReplicaStore;
  /** The node's committed cluster state (undefined before the first commit). */
  readonly state: () => ClusterState | undefined;
  /** Gossip's view: is the node up? */
  readonly isAlive: (node: string) => boolean;
  /** One page of a partition from a source (StreamPartition, method 75). */
  readonly fetchPage: (source: string, partition: number, resume: PartitionPosition | undefined, maxBytes: number) => Promise<StreamPage>;
  /** The applied index of a member's committed state (Status, method 71), for the barrier. */
  readonly appliedIndexOf: (node: string) => Promise<number>;
  /** Asks the leader to commit stream-done for `transition`; false when the transition moved on. */
  readonly reportDone: (transition: number) => Promise<boolean>;
  /** Told of every record a stream stored (anti-entropy's tree cache). */
  readonly onApplied?: (key: Uint8Array, record: StoredRecord) => void;
  readonly logger: Logger;
  /** Partitions streamed at once (default 2). */
  readonly concurrency?: number;
  /** Page budget asked of sources (default 256 KiB). */
  readonly pageBytes?: number;
  /** Bytes per second streamed in, all partitions together (default 32 MiB). */
  readonly bytesPerSecond?: number;
  /** How often the committed state is looked at (default 200 ms). */
  readonly pollMs?: number;
  /**
   * Wait after the barrier for writes started with the old ring. Required, no default: it must be at least
   * the node's replica-call timeout (a coordinator may send a ReplicaWrite that long after it chose its
   * targets, and the replica applies it however late), which the wiring knows and this class does not.
   */
  readonly settleMs: number;
  /** Wait before retrying a failed source, barrier or report (default 500 ms). */
  readonly retryMs?: number;
  readonly now?: () => number;
}

export interface StreamingStats {
  partitionsStreamed: number;
  keysStreamed: number;
  bytesStreamed: number;
  partitionsDropped: number;
  keysDropped: number;
  transitionsReported: number;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

export class StreamingService {
  readonly stats: StreamingStats = { partitionsStreamed: 0, keysStreamed: 0, bytesStreamed: 0, partitionsDropped: 0, keysDropped: 0, transitionsReported: 0 };
  private timer: NodeJS.Timeout | undefined;
  private job: Promise<void> | undefined;
  private stopped = false;
  /** Partitions streamed in this process, forgotten when the node stops being a write owner of one. */
  private readonly streamed = new Set<number>();
  private droppedFor = '';
  private windowStart = 0;
  private windowBytes = 0;
  private readonly now: () => number;

  constructor(private readonly opts: StreamingOptions) {
    this.now = opts.now ?? Date.now;
  }

  start(): void {
    if (this.timer !== undefined || this.stopped) return;
    this.timer = setInterval(() => this.tick(), this.opts.pollMs ?? 200);
    this.tick();
  }

  /** Stops the timer; a job in flight stops at its next page or batch. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
    await this.job;
  }

  /** Resolves once no job runs and nothing is left to do for the current state (tests). */
  async idle(): Promise<void> {
    for (;;) {
      this.tick();
      if (this.job === undefined) return;
      await this.job;
    }
  }

  private tick(): void {
    if (this.stopped || this.job !== undefined) return;
    const state = this.opts.state();
    if (state === undefined || !state.created) return;
    const plan = streamPlan(state, this.opts.nodeId);
    for (const p of [...this.streamed]) if (!plan.writeOwned.has(p)) this.streamed.delete(p);
    let work: (() => Promise<void>) | undefined;
    if (plan.inFlight && plan.gained.length > 0 && !plan.reported) {
      work = () => this.streamTransition(state, plan.transition, plan.gained);
    } else if (!plan.inFlight && plan.droppable.length > 0 && this.ringKey(state) !== this.droppedFor) {
      const key = this.ringKey(state);
      work = () => this.drop(plan.droppable, key);
    }
    if (work === undefined) return;
    this.job = work()
      .catch((err: unknown) => this.opts.logger.warn(`streaming: ${(err as Error).message}`, { code: (err as { code?: string }).code }))
      .finally(() => (this.job = undefined));
  }

  /** The committed transition moved on (or the service stops): the job must end. */
  private stale(transition: number): boolean {
    return this.stopped || (this.opts.state()?.transition ?? 0) !== transition;
  }

  private async streamTransition(seen: ClusterState, transition: number, gained: readonly GainedPartition[]): Promise<void> {
    const started = this.now();
    await this.barrier(seen, transition);
    const missing = gained.filter((g) => !this.streamed.has(g.partition));
    let keys = 0;
    let bytes = 0;
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < missing.length && !this.stale(transition)) {
        const g = missing[next++]!;
        const r = await this.streamPartition(g, transition);
        keys += r.keys;
        bytes += r.bytes;
      }
    };
    await Promise.all(Array.from({ length: Math.max(1, this.opts.concurrency ?? 2) }, worker));
    if (this.stale(transition)) return;
    for (;;) {
      try {
        const applied = await this.opts.reportDone(transition);
        if (applied) this.stats.transitionsReported++;
        this.opts.logger.info(
          `streaming: transition ${transition}: ${missing.length} of ${gained.length} partitions streamed (${gained.length - missing.length} already here), ${keys} keys, ${bytes} bytes in ${this.now() - started} ms; stream-done ${applied ? 'committed' : 'not applied (the transition moved on)'}`,
        );
        return;
      } catch (err) {
        if (this.stale(transition)) return;
        this.opts.logger.debug(`streaming: stream-done for transition ${transition} failed, retrying: ${(err as Error).message}`);
        await sleep(this.opts.retryMs ?? 500);
      }
    }
  }

  /** Waits until every alive member has applied the state this node saw the transition in, then settles. */
  private async barrier(seen: ClusterState, transition: number): Promise<void> {
    const others = seen.members.filter((m) => m.status !== 'removed' && m.id !== this.opts.nodeId).map((m) => m.id);
    for (const node of others) {
      while (!this.stale(transition) && this.opts.isAlive(node)) {
        try {
          if ((await this.opts.appliedIndexOf(node)) >= seen.appliedIndex) break;
        } catch {
          // Not answering: retry while gossip still calls it alive.
        }
        await sleep(Math.min(100, this.opts.retryMs ?? 500));
      }
    }
    await this.settle(transition);
  }

  /** Sleeps `settleMs` in poll-sized steps, so a stop or a newer transition ends the wait early. */
  private async settle(transition: number): Promise<void> {
    const step = Math.max(1, this.opts.pollMs ?? 200);
    for (let left = this.opts.settleMs; left > 0 && !this.stale(transition); left -= step) {
      await sleep(Math.min(left, step));
    }
  }

  /** Streams one partition from every alive source; retries a source that fails while it stays alive. */
  private async streamPartition(g: GainedPartition, transition: number): Promise<{ keys: number; bytes: number }> {
    const started = this.now();
    let keys = 0;
    let bytes = 0;
    const from: string[] = [];
    for (;;) {
      const alive = g.sources.filter((s) => this.opts.isAlive(s));
      if (alive.length > 0 || this.stale(transition)) break;
      // No source of this partition is up: nothing can be streamed until one is.
      await sleep(this.opts.retryMs ?? 500);
    }
    for (const source of g.sources) {
      let resume: PartitionPosition | undefined;
      while (!this.stale(transition) && this.opts.isAlive(source)) {
        let page: StreamPage;
        try {
          page = await this.opts.fetchPage(source, g.partition, resume, this.opts.pageBytes ?? 256 * 1024);
        } catch (err) {
          this.opts.logger.debug(`streaming: partition ${g.partition} from ${source} failed, retrying: ${(err as Error).message}`);
          await sleep(this.opts.retryMs ?? 500);
          continue;
        }
        await Promise.all(
          page.records.map(async ({ key, record, encoded }) => {
            // decodeRecord accepted `encoded` (pageFromPb): stored as received, not encoded again.
            if ((await this.opts.store.apply(key, record, { encoded })).applied) this.opts.onApplied?.(key, record);
          }),
        );
        keys += page.records.length;
        bytes += page.bytes;
        await this.throttle(page.bytes);
        if (page.done) {
          from.push(source);
          break;
        }
        resume = page.resume;
      }
    }
    if (this.stale(transition)) return { keys, bytes };
    if (from.length === 0) throw new StreamFailedError(`partition ${g.partition}: no source answered`);
    // Streamed records are applied unsynced (as default writes are); the partition counts as streamed
    // only once they are on disk, since its old owners may drop their copies after that.
    await this.opts.store.sync();
    this.streamed.add(g.partition);
    this.stats.partitionsStreamed++;
    this.stats.keysStreamed += keys;
    this.stats.bytesStreamed += bytes;
    this.opts.logger.info(`streaming: partition ${g.partition} from ${from.join(',')}: ${keys} keys, ${bytes} bytes, ${this.now() - started} ms`);
    return { keys, bytes };
  }

  /** Keeps the bytes streamed per one-second window under the budget. */
  private async throttle(bytes: number): Promise<void> {
    const budget = this.opts.bytesPerSecond ?? 32 * 1024 * 1024;
    const now = this.now();
    if (now - this.windowStart >= 1000) {
      this.windowStart = now;
      this.windowBytes = 0;
    }
    this.windowBytes += bytes;
    if (this.windowBytes >= budget) await sleep(Math.max(0, this.windowStart + 1000 - now));
  }

  private async drop(partitions: readonly number[], key: string): Promise<void> {
    let total = 0;
    for (const p of partitions) {
      // Owned again (a new transition) or stopping: leave the rest for the next pass.
      const stop = (): boolean => this.stopped || this.ringKey(this.opts.state()) !== key;
      if (stop()) return;
      const r = await this.opts.store.dropPartition(p, { stop });
      if (r.keys > 0) {
        this.stats.partitionsDropped++;
        this.stats.keysDropped += r.keys;
        total += r.keys;
        this.opts.logger.info(`streaming: dropped partition ${p}: ${r.keys} keys, ${r.bytes} bytes (owned in neither ring)`);
      }
      if (r.stopped) return;
    }
    this.droppedFor = key;
    if (total > 0) this.opts.logger.info(`streaming: drop pass done: ${total} keys of partitions this node no longer owns`);
  }

  /** Identifies the rings of a state: members with their statuses, P and N. */
  private ringKey(state: ClusterState | undefined): string {
    if (state === undefined) return '';
    return `${state.config.partitions}/${state.config.replicas}|${state.members.map((m) => `${m.id}:${m.zone}:${m.status}`).join(',')}`;
  }
}
