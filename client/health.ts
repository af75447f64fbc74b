/**
 * Which node addresses failed at the connection level a moment ago. A failed address is avoided for
 * `downForMs`, so one dead node does not cost every request a failed attempt; it is tried again after
 * that (it may be back) or at once when it answers. Shared by the seed picker and the token-aware router,
 * so a node found dead through one is skipped by the other. Pure: the clock is passed in.
 */
export class NodeHealth {
  private readonly downUntil = new Map<string, number>();

  constructor(private readonly downForMs: number) {}

  isUp(address: string, now: number): boolean {
    const until = this.downUntil.get(address);
    return until === undefined || until <= now;
  }

  markDown(address: string, now: number): void {
    this.downUntil.set(address, now + this.downForMs);
  }

  markUp(address: string): void {
    this.downUntil.delete(address);
  }
}
