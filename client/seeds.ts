/**
 * Which seed a request goes to when it is not routed to a replica: round-robin over the seeds, skipping
 * seeds that failed at the connection level a moment ago (NodeHealth). When every seed is marked down the
 * round-robin choice is used anyway: a seed may be back. Pure: the clock is passed in.
 */
import type { NodeHealth } from './health.js';

export class SeedPicker {
  private next = 0;

  constructor(
    readonly seeds: readonly string[],
    private readonly health: NodeHealth,
  ) {
    if (seeds.length === 0) throw new RangeError('SeedPicker needs at least one seed');
  }

  /** The seed for a new request. */
  first(now: number): string {
    const n = this.seeds.length;
    const start = this.next;
    this.next = (this.next + 1) % n;
    for (let i = 0; i < n; i++) {
      const cand = this.seeds[(start + i) % n]!;
      if (this.health.isUp(cand, now)) return cand;
    }
    return this.seeds[start]!;
  }

  /** The seed to try after `address` failed: the next one that is not marked down, or simply the next. */
  after(address: string, now: number): string {
    const idx = this.seeds.indexOf(address);
    if (idx < 0) return this.first(now); // a replica failed: seeds in their usual round-robin
    const n = this.seeds.length;
    for (let i = 1; i <= n; i++) {
      const cand = this.seeds[(idx + i) % n]!;
      if (this.health.isUp(cand, now)) return cand;
    }
    return this.seeds[(idx + 1) % n]!;
  }
}
