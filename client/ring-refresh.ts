/**
 * Keeps the token-aware router's table fresh: asks a node for its Status (method 71) when the client
 * starts, then every `intervalMs`, and sooner when a request hints the ring moved (a node failed at the
 * connection level, is shutting down, or answered WRONG_OWNER). One refresh runs at a time and an early
 * one starts at most every `minGapMs`, so a dead node failing many requests costs one Status call, not
 * one per failure.
 *
 * Where it asks: the seeds first, then every member address of the current table (so the client keeps
 * its ring when all seeds are gone), live addresses before ones marked down; the first usable answer wins.
 */
import type { RpcClient } from '../rpc/client.js';
import { Methods } from '../rpc/methods.js';
import type { mydatastore } from '../proto/gen/messages.js';
import type { NodeHealth } from './health.js';
import type { RingSource, Router } from './routing.js';

export interface RingRefreshOptions {
  readonly rpc: RpcClient;
  readonly router: Router;
  readonly health: NodeHealth;
  readonly seeds: readonly string[];
  /** Pause between periodic refreshes (ms). */
  readonly intervalMs: number;
  /** Least pause between the starts of two refreshes asked for by failures (ms). */
  readonly minGapMs: number;
  /** Timeout of one Status call (ms). */
  readonly timeoutMs: number;
}

export interface RingRefreshStats {
  /** Refreshes that got a usable Status answer. */
  refreshes: number;
  /** Refreshes where no node gave one. */
  failures: number;
}

/** The routing input of a Status answer. */
export function ringSourceOf(res: mydatastore.cluster.StatusResponse): RingSource {
  return {
    clusterId: res.clusterId,
    epoch: Number(res.epoch.toString()),
    created: res.created,
    partitions: res.config?.partitions ?? 0,
    replicas: res.config?.replicas ?? 0,
    members: res.members.map((m) => ({ id: m.nodeId ?? '', address: m.address ?? '', zone: m.zone ?? '', status: m.status ?? '' })),
    ringMembers: res.ringMembers,
  };
}

export class RingRefresher {
  readonly stats: RingRefreshStats = { refreshes: 0, failures: 0 };
  private running: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private lastStart = -Infinity;
  private stopped = false;

  constructor(private readonly opts: RingRefreshOptions) {}

  /** The first refresh now, then periodic ones. */
  start(): void {
    this.run();
  }

  /** A refresh as soon as allowed: at once, or `minGapMs` after the previous one started. */
  soon(): void {
    if (this.stopped || this.running !== undefined) return;
    const wait = this.lastStart + this.opts.minGapMs - Date.now();
    if (wait <= 0) this.run();
    else this.schedule(wait);
  }

  /** Stops the timer and waits for a refresh in flight. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    await this.running;
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.run();
    }, ms);
    this.timer.unref(); // a client that is not closed must not keep the process alive
  }

  private run(): void {
    if (this.stopped || this.running !== undefined) return;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    this.lastStart = Date.now();
    this.running = this.refresh().finally(() => {
      this.running = undefined;
      this.schedule(this.opts.intervalMs);
    });
  }

  private async refresh(): Promise<void> {
    const now = Date.now();
    const known = this.opts.router.current?.addresses() ?? [];
    const all = [...new Set([...this.opts.seeds, ...known])];
    const ordered = [...all.filter((a) => this.opts.health.isUp(a, now)), ...all.filter((a) => !this.opts.health.isUp(a, now))];
    for (const address of ordered) {
      if (this.stopped) return;
      let res: mydatastore.cluster.StatusResponse;
      try {
        res = await this.opts.rpc.call(address, Methods.Status, {}, { timeoutMs: this.opts.timeoutMs });
      } catch {
        continue; // the next address may answer; requests report dead nodes to the health map themselves
      }
      if (this.opts.router.update(ringSourceOf(res)) !== 'refused') {
        this.stats.refreshes++;
        return;
      }
    }
    this.stats.failures++;
  }
}
