/**
 * The simulated network's faults: random loss, random delay, and partitions (groups of nodes that
 * cannot reach each other). Decisions draw on the simulation's seeded rng only.
 */
import type { SimRng } from './rng.js';

export interface NetworkOptions {
  /** Probability that any one message is lost. */
  dropRate?: number;
  /** One-way delay, uniform in [minDelayMs, maxDelayMs]. */
  minDelayMs?: number;
  maxDelayMs?: number;
}

export class SimNetwork {
  dropRate: number;
  minDelayMs: number;
  maxDelayMs: number;
  /** Node id → partition group; nodes in different groups cannot talk. Empty = fully connected. */
  private readonly groupOf = new Map<string, number>();
  /** Cut links ("a|b", both directions), for asymmetric failures a partition cannot express. */
  private readonly cut = new Set<string>();

  constructor(
    private readonly rng: SimRng,
    options: NetworkOptions = {},
  ) {
    this.dropRate = options.dropRate ?? 0;
    this.minDelayMs = options.minDelayMs ?? 1;
    this.maxDelayMs = options.maxDelayMs ?? 20;
  }

  /** Splits the nodes into groups that cannot reach one another; unlisted nodes form one more group. */
  partition(groups: readonly (readonly string[])[]): void {
    this.groupOf.clear();
    groups.forEach((g, i) => g.forEach((id) => this.groupOf.set(id, i + 1)));
  }

  /** Cuts the link between two nodes, leaving both reachable from everyone else. */
  cutLink(a: string, b: string): void {
    this.cut.add(`${a}|${b}`).add(`${b}|${a}`);
  }

  /** Removes partitions and cut links. */
  heal(): void {
    this.groupOf.clear();
    this.cut.clear();
  }

  connected(a: string, b: string): boolean {
    return (this.groupOf.get(a) ?? 0) === (this.groupOf.get(b) ?? 0) && !this.cut.has(`${a}|${b}`);
  }

  /** The delivery delay of one message, or undefined if it is lost. */
  route(from: string, to: string): number | undefined {
    if (!this.connected(from, to)) return undefined;
    if (this.dropRate > 0 && this.rng.chance(this.dropRate)) return undefined;
    return this.minDelayMs + this.rng.int(this.maxDelayMs - this.minDelayMs + 1);
  }
}
