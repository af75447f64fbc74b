/**
 * Bookkeeping of one write (put or delete) over its targets: a pure state machine, no timers. The
 * coordinator sends the write to every target in parallel, feeds each answer in (`ack`, `fail`) and calls
 * `deadline()` when the request's deadline passes; every call returns the outcome so far.
 *
 * Targets are the key's preference list after hinted handoff (cluster/preference.ts): an owner that is up,
 * or a stand-in writing for a down owner (`hintedFor`: stand-in → owner). A stand-in's ack counts toward W
 * only under a sloppy quorum: by default W counts owners only, so an acknowledged write is on W of the
 * nodes a later read asks.
 *
 * Invariants (test/cluster/quorum.test.ts checks them against every event order of small cases):
 *   - the outcome is decided once: 'success' or 'unavailable', never both, never changed afterwards;
 *   - 'success' exactly when W counting acks arrived before the deadline;
 *   - 'unavailable' as soon as success is impossible — counting acks plus counting targets still silent
 *     fall below W (more than N − W counting failures) — not only at the deadline; so a write whose
 *     targets hold fewer than W counting nodes is 'unavailable' from the start. The coordinator still
 *     sends it: every replica it reaches keeps it, and hints carry it to the owners later.
 * A target answers once: a second answer from it is ignored (the first one stands).
 */
import { QuorumArgumentError, UnavailableError, checkReplicas } from './errors.js';

export type QuorumDone = 'success' | 'unavailable' | 'pending';

export interface WriteQuorumOptions {
  /** The nodes the write is sent to: live owners and stand-ins. */
  readonly replicas: readonly string[];
  /** Acks needed (W). */
  readonly w: number;
  /** Whether a stand-in's ack counts toward W (default false). */
  readonly sloppy?: boolean;
  /** Stand-in → the down owner it writes for. Every key must be one of `replicas`. */
  readonly hintedFor?: ReadonlyMap<string, string>;
}

export interface WriteOutcome {
  readonly done: QuorumDone;
  /** Acks that count toward W (stand-ins' included only when sloppy), as of the decision. */
  readonly acks: number;
  /** Acks from stand-ins, counted toward W or not. */
  readonly hintedAcks: number;
  /** Targets that answered with an error. */
  readonly failed: number;
  /** Set when done is 'unavailable'. */
  readonly error?: UnavailableError;
}

type Answer = 'ack' | 'fail';

export class WriteQuorum {
  readonly w: number;
  readonly replicas: readonly string[];
  private readonly sloppy: boolean;
  private readonly hinted: ReadonlyMap<string, string>;
  private readonly answers = new Map<string, Answer>();
  private readonly errors = new Map<string, unknown>();
  /** Targets whose ack counts toward W. */
  private readonly counting: number;
  private acks = 0;
  private hintedAcks = 0;
  private failedCounting = 0;
  private failed = 0;
  private outcome: WriteOutcome;

  constructor(options: WriteQuorumOptions) {
    checkReplicas(options.replicas, options.w, 'W');
    this.replicas = [...options.replicas];
    this.w = options.w;
    this.sloppy = options.sloppy ?? false;
    this.hinted = new Map(options.hintedFor ?? []);
    for (const standIn of this.hinted.keys()) {
      if (!this.replicas.includes(standIn)) throw new QuorumArgumentError(`stand-in ${standIn} is not one of the write's targets`);
    }
    this.counting = this.replicas.filter((r) => this.counts(r)).length;
    this.outcome = { done: 'pending', acks: 0, hintedAcks: 0, failed: 0 };
    this.decide(false);
  }

  /** A target acknowledged the write (it is durable there). */
  ack(node: string): WriteOutcome {
    if (!this.record(node, 'ack')) return this.outcome;
    if (this.hinted.has(node)) this.hintedAcks++;
    if (this.counts(node)) this.acks++;
    this.decide(false);
    return this.outcome;
  }

  /** A target answered with an error (or its connection failed): it will not ack. */
  fail(node: string, error?: unknown): WriteOutcome {
    if (!this.record(node, 'fail')) return this.outcome;
    this.errors.set(node, error);
    this.failed++;
    if (this.counts(node)) this.failedCounting++;
    this.decide(false);
    return this.outcome;
  }

  /** The request's deadline passed: a write still pending is unavailable. */
  deadline(): WriteOutcome {
    this.decide(true);
    return this.outcome;
  }

  get result(): WriteOutcome {
    return this.outcome;
  }

  /** The owner a stand-in writes for, if `node` is one. */
  hintFor(node: string): string | undefined {
    return this.hinted.get(node);
  }

  /** Targets that acked, in answer order (late ones included). */
  ackedNodes(): string[] {
    return [...this.answers].filter(([, a]) => a === 'ack').map(([n]) => n);
  }

  /** Errors of the targets that failed. */
  failures(): ReadonlyMap<string, unknown> {
    return this.errors;
  }

  private counts(node: string): boolean {
    return this.sloppy || !this.hinted.has(node);
  }

  /** Records a first answer; false for a repeated one. Answers after the decision are recorded, not counted. */
  private record(node: string, answer: Answer): boolean {
    if (!this.replicas.includes(node)) throw new QuorumArgumentError(`answer from ${node}, which is not a target of this write`);
    if (this.answers.has(node)) return false;
    this.answers.set(node, answer);
    return this.outcome.done === 'pending';
  }

  private decide(deadlinePassed: boolean): void {
    if (this.outcome.done !== 'pending') return;
    const counts = { acks: this.acks, hintedAcks: this.hintedAcks, failed: this.failed };
    if (this.acks >= this.w) {
      this.outcome = { done: 'success', ...counts };
      return;
    }
    const stillPossible = this.counting - this.failedCounting >= this.w;
    if (!stillPossible || deadlinePassed) {
      const error = new UnavailableError('write', this.w, this.acks, this.replicas.length, this.failed, stillPossible);
      this.outcome = { done: 'unavailable', ...counts, error };
    }
  }
}
