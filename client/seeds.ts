/**
 * Which seed a request goes to: round-robin over the seeds, skipping seeds that failed at the connection
 * level a moment ago (for `downForMs`), so one dead seed does not cost every request a failed attempt.
 * When every seed is marked down the round-robin choice is used anyway: a seed may be back. Pure: the
 * clock is passed in.
 */
export class SeedPicker {
  private next = 0;
  private readonly downUntil: number[];

  constructor(
    readonly seeds: readonly string[],
    private readonly downForMs: number,
  ) {
    this.downUntil = seeds.map(() => 0);
  }

  /** The index of the seed for a new request. */
  first(now: number): number {
    const n = this.seeds.length;
    const start = this.next;
    this.next = (this.next + 1) % n;
    for (let i = 0; i < n; i++) {
      const idx = (start + i) % n;
      if ((this.downUntil[idx] ?? 0) <= now) return idx;
    }
    return start;
  }

  /** The seed to try after `idx` failed: the next one that is not marked down, or simply the next. */
  after(idx: number, now: number): number {
    const n = this.seeds.length;
    for (let i = 1; i <= n; i++) {
      const cand = (idx + i) % n;
      if ((this.downUntil[cand] ?? 0) <= now) return cand;
    }
    return (idx + 1) % n;
  }

  address(idx: number): string {
    const a = this.seeds[idx];
    if (a === undefined) throw new RangeError(`no seed #${idx}`);
    return a;
  }

  markDown(idx: number, now: number): void {
    this.downUntil[idx] = now + this.downForMs;
  }

  markUp(idx: number): void {
    this.downUntil[idx] = 0;
  }
}
