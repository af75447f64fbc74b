/**
 * Suspicion: how long a suspect has to refute before it is declared dead, and the timers that track it.
 *
 * The timeout grows with log(n) because gossip needs ~log(n) rounds to carry the suspicion to the suspect
 * and its refutation back to everyone (SWIM §4.2; memberlist uses the same formula):
 *
 *   min = suspicionMult · max(1, log10(n)) · probeInterval        (n = live members)
 *   max = suspicionMaxMult · min
 *   e.g. mult 4, max mult 6, 1 s probes, 50 nodes: min 6.8 s, max 40.8 s.
 *
 * Lifeguard's refinement (also memberlist's): a suspicion starts with the long timeout and shortens as
 * other nodes independently suspect the same member, reaching `min` after k = suspicionMult − 2
 * confirmations:  timeout(c) = max(min, max − (max − min) · log(c + 1) / log(k + 1)),  measured from
 * the start of the suspicion. A live node wrongly suspected by one node (a lost packet, a slow prober) is
 * confirmed by nobody, so it has the long timeout to refute; a crashed node fails everyone's probes and
 * is declared dead after about `min`.
 *
 * Each change is piggy-backed retransmitMult · ceil(log10(n + 1)) times: 8 sends for 10–99 nodes.
 */
import type { MembershipConfig } from './types.js';

export function suspicionTimeoutMs(config: MembershipConfig, liveMembers: number): number {
  return Math.round(config.suspicionMult * Math.max(1, Math.log10(Math.max(1, liveMembers))) * config.probeIntervalMs);
}

export function retransmitLimit(config: MembershipConfig, liveMembers: number): number {
  return config.retransmitMult * Math.max(1, Math.ceil(Math.log10(liveMembers + 1)));
}

/** The confirmations after which a suspicion has its shortest timeout (0 in clusters too small to confirm). */
export function expectedConfirmations(config: MembershipConfig, liveMembers: number): number {
  const k = config.suspicionMult - 2;
  return liveMembers - 2 < k ? 0 : k;
}

interface Timer {
  readonly incarnation: number;
  readonly start: number;
  readonly min: number;
  readonly max: number;
  readonly k: number;
  /** The node that raised the suspicion: not a confirmation of itself. */
  readonly origin: string;
  readonly confirmers: Set<string>;
  deadline: number;
}

function timeout(t: Timer): number {
  if (t.k === 0) return t.min;
  const c = t.confirmers.size;
  const frac = Math.log(c + 1) / Math.log(t.k + 1);
  return Math.max(t.min, Math.floor(t.max - (t.max - t.min) * frac));
}

/** One timer per suspect member; a suspicion counts only for the incarnation it was raised against. */
export class SuspicionTimers {
  private readonly timers = new Map<string, Timer>();

  /** Starts a timer unless one already runs for this incarnation (a repeated rumour does not extend it). */
  start(id: string, incarnation: number, by: string, now: number, config: MembershipConfig, liveMembers: number): void {
    const old = this.timers.get(id);
    if (old !== undefined && old.incarnation === incarnation) return;
    const min = suspicionTimeoutMs(config, liveMembers);
    const t: Timer = {
      incarnation,
      start: now,
      min,
      max: min * config.suspicionMaxMult,
      k: expectedConfirmations(config, liveMembers),
      origin: by,
      confirmers: new Set(),
      deadline: 0,
    };
    t.deadline = now + timeout(t);
    this.timers.set(id, t);
  }

  /** Another node independently suspects the member: shorten the timeout. True if `by` is new. */
  confirm(id: string, incarnation: number, by: string): boolean {
    const t = this.timers.get(id);
    if (t === undefined || t.incarnation !== incarnation || t.confirmers.has(by) || t.origin === by) return false;
    t.confirmers.add(by);
    t.deadline = t.start + timeout(t);
    return true;
  }

  cancel(id: string): void {
    this.timers.delete(id);
  }

  /** Removes and returns the timers that have expired by `now`, in a stable (id) order. */
  expired(now: number): { id: string; incarnation: number }[] {
    const out: { id: string; incarnation: number }[] = [];
    for (const [id, t] of this.timers) if (t.deadline <= now) out.push({ id, incarnation: t.incarnation });
    out.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    for (const e of out) this.cancel(e.id);
    return out;
  }

  /** The earliest deadline, or Infinity. */
  nextDeadline(): number {
    let next = Infinity;
    for (const t of this.timers.values()) next = Math.min(next, t.deadline);
    return next;
  }
}
