/**
 * Hint replay (hinted handoff, second half): every `intervalMs`, for each owner with pending hints that
 * gossip says is alive again, send its hints in batches as normal ReplicaWrites and remove them once the
 * owner acknowledged. At most `concurrency` owners are replayed at once, one batch in flight per owner.
 *
 * A replayed hint is an ordinary LWW write: an owner that already has a newer version keeps it, so a
 * replay that repeats (a crash between ack and remove) is harmless. An owner that refuses with
 * WRONG_OWNER, or has left the committed ring, no longer owns the data: its hints are dropped with a log
 * line (the new owners got the write from the coordinator, or get it from anti-entropy).
 */
import type { Logger } from '../rpc/logger.js';
import type { RingView } from './coordinator-ring.js';
import type { ReplicaTransport } from './coordinator-transport.js';
import type { Hint, HintStore } from './hints/hint-store.js';
import type { IsAlive } from './preference.js';
import { decodeRecord } from './storage/record.js';

export interface HintReplayerOptions {
  readonly nodeId: string;
  readonly hints: HintStore;
  readonly transport: ReplicaTransport;
  readonly rings: { current(): RingView | undefined };
  readonly isAlive: IsAlive;
  readonly logger: Logger;
  /** Pause between rounds (default 500 ms). */
  readonly intervalMs?: number;
  /** Owners replayed at once (default 4). */
  readonly concurrency?: number;
  /** Hints per ReplicaWrite (default 64). */
  readonly batch?: number;
}

export interface HintReplayStats {
  replayed: number;
  dropped: number;
  failedRounds: number;
}

export class HintReplayer {
  readonly stats: HintReplayStats = { replayed: 0, dropped: 0, failedRounds: 0 };
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = false;

  constructor(private readonly opts: HintReplayerOptions) {}

  start(): void {
    this.stopped = false;
    this.schedule();
  }

  /** Stops the loop; resolves once a round in progress has finished. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    await this.running;
  }

  /** One round over every owner that is alive and has hints; resolves when it is done. */
  async round(): Promise<void> {
    const view = this.opts.rings.current();
    if (view === undefined) return;
    const owners = this.opts.hints.pendingOwners().filter((o) => o !== this.opts.nodeId && (this.inRing(view, o) ? this.opts.isAlive(o) : true));
    const queue = [...owners];
    const worker = async (): Promise<void> => {
      for (let owner = queue.shift(); owner !== undefined && !this.stopped; owner = queue.shift()) {
        try {
          await this.replayOwner(owner, view);
        } catch (err) {
          this.stats.failedRounds++;
          this.opts.logger.debug('hint replay failed; retrying next round', { owner, error: String(err) });
        }
      }
    };
    const n = Math.min(this.opts.concurrency ?? 4, queue.length);
    await Promise.all(Array.from({ length: n }, worker));
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.running = this.round()
        .catch((err: unknown) => this.opts.logger.warn('hint replay round failed', { error: String(err) }))
        .finally(() => {
          this.running = undefined;
          this.schedule();
        });
    }, this.opts.intervalMs ?? 500);
    this.timer.unref();
  }

  private inRing(view: RingView, node: string): boolean {
    return view.ring.members.includes(node);
  }

  private async replayOwner(owner: string, view: RingView): Promise<void> {
    const batchSize = this.opts.batch ?? 64;
    const endpoint = this.opts.transport.endpoint(owner, view);
    while (!this.stopped) {
      const batch: Hint[] = [];
      for await (const h of this.opts.hints.forOwner(owner, batchSize)) batch.push(h);
      if (batch.length === 0) return;
      const seqs = batch.map((h) => h.seq);
      if (!this.inRing(view, owner)) {
        await this.drop(owner, seqs, 'it is no longer in the committed ring');
        continue;
      }
      try {
        // Synced: the hint is deleted next, and it must not be the last copy lost in a power loss.
        await endpoint.write(batch.map(toKeyed), undefined, true);
      } catch (err) {
        if (!isRefusal(err)) throw err;
        // Some records' partitions moved away from the owner: send them one by one, drop only the refused.
        for (const h of batch) {
          try {
            await endpoint.write([toKeyed(h)], undefined, true);
            await this.opts.hints.remove(owner, h.seq);
            this.stats.replayed++;
          } catch (e) {
            if (!isRefusal(e)) throw e;
            await this.drop(owner, [h.seq], `it refused it (${(e as Error).message})`);
          }
        }
        continue;
      }
      await this.opts.hints.remove(owner, ...seqs);
      this.stats.replayed += seqs.length;
    }
  }

  private async drop(owner: string, seqs: number[], why: string): Promise<void> {
    await this.opts.hints.remove(owner, ...seqs);
    this.stats.dropped += seqs.length;
    this.opts.logger.warn(`dropped ${seqs.length} hints for ${owner}: ${why}`);
  }
}

function toKeyed(h: Hint): { key: Buffer; record: ReturnType<typeof decodeRecord> } {
  return { key: h.key, record: decodeRecord(h.record) };
}

/** The owner refused the records for good (not its partition, or malformed), as opposed to being unreachable. */
function isRefusal(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return code === 'RPC_WRONG_OWNER' || code === 'RPC_INVALID_ARGUMENT';
}
