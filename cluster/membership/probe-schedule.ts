/**
 * Which member to probe next: round-robin over a shuffled list (SWIM's improvement over picking at
 * random: every member is probed within one pass of the list, so a failure is noticed in bounded time).
 * The list is reshuffled with the injected rng at the end of each pass; a member that joins mid-pass is
 * inserted at a random position still ahead, so it is probed in the current pass.
 */
import type { Random } from './types.js';

export class ProbeSchedule {
  private order: string[] = [];
  private index = 0;

  constructor(private readonly rng: Random) {}

  add(id: string): void {
    if (this.order.includes(id)) return;
    const at = this.index + Math.floor(this.rng.next() * (this.order.length - this.index + 1));
    this.order.splice(at, 0, id);
  }

  /**
   * The next member to probe among those `probeable` still accepts; `candidates` gives the members
   * to shuffle into a new pass when this one is used up. Undefined when nobody can be probed.
   */
  next(probeable: (id: string) => boolean, candidates: () => string[]): string | undefined {
    for (let pass = 0; pass < 2; pass++) {
      while (this.index < this.order.length) {
        const id = this.order[this.index++]!;
        if (probeable(id)) return id;
      }
      this.order = shuffle(candidates(), this.rng);
      this.index = 0;
    }
    return undefined;
  }
}

function shuffle<T>(items: T[], rng: Random): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(rng.next() * (i + 1));
    const tmp = items[i]!;
    items[i] = items[j]!;
    items[j] = tmp;
  }
  return items;
}

/** Up to `k` distinct items picked at random (for indirect probes, push-pull partners, leave fan-out). */
export function pickRandom<T>(items: readonly T[], k: number, rng: Random): T[] {
  return shuffle([...items], rng).slice(0, k);
}
