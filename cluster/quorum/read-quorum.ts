/**
 * Bookkeeping of one read over the replicas it asked, and the read-repair plan that follows from the
 * answers: a pure state machine, no timers. The coordinator asks R replicas (or all N and returns after
 * R), feeds each answer in (`response` with the replica's version, `undefined` for "no version here";
 * `fail`) and calls `deadline()` when the deadline passes.
 *
 * Generic over the version type V: the caller passes `compare(a, b)` (< 0 when a is older). A version is
 * whatever the replicas store — for the data path a record with its HLC timestamp, and a tombstone is a
 * version like any other: when the newest version is a tombstone the read answers not-found, and read
 * repair still sends the tombstone to stale replicas, so a deleted value cannot come back from them.
 *
 * Outcome: 'success' once R replicas answered (an answer without a version counts: "not found" is an
 * answer); 'unavailable' as soon as fewer than R can still answer, or at the deadline. `newest` keeps
 * following late answers after the decision, because the repair plan should use the newest version any
 * replica reported, while the client got the newest among the first R.
 *
 * Repair plan: the replicas that answered with an older version than the newest, or with none. A replica
 * that did not answer (failed, or still silent at the deadline) is never in the plan: we do not know what
 * it holds — it may already have the newest version, or a newer one this read never saw — and it is most
 * likely down or overloaded, so sending it a write would only add load where it hurts. Hinted handoff and
 * anti-entropy bring such replicas up to date. The plan is `complete` once every asked replica answered
 * or failed, or the deadline passed; before that it may still grow (and its version may still change).
 */
import { QuorumArgumentError, UnavailableError, checkReplicas } from './errors.js';
import type { QuorumDone } from './write-quorum.js';

export interface ReadQuorumOptions<V> {
  /** The replicas asked. */
  readonly replicas: readonly string[];
  /** Answers needed (R). */
  readonly r: number;
  /** Orders versions: negative when a is older than b, 0 when they are the same version. */
  readonly compare: (a: V, b: V) => number;
}

export interface ReadOutcome<V> {
  readonly done: QuorumDone;
  /** The newest version among the answers so far (undefined: no replica that answered has one). */
  readonly newest: V | undefined;
  /** Replicas that answered (with or without a version), in answer order. */
  readonly respondedNodes: readonly string[];
  /** Replicas that failed. */
  readonly failed: number;
  /** Set when done is 'unavailable'. */
  readonly error?: UnavailableError;
}

export interface RepairPlan<V> {
  /** The version to send (the newest seen); undefined when no replica has one (nothing to repair). */
  readonly version: V | undefined;
  /** Replicas that answered with an older version or none, in answer order. */
  readonly nodes: readonly string[];
  /** Every asked replica answered or failed, or the deadline passed: the plan will not change any more. */
  readonly complete: boolean;
}

type Answer<V> = { readonly ok: true; readonly version: V | undefined } | { readonly ok: false; readonly error: unknown };

export class ReadQuorum<V> {
  readonly r: number;
  readonly replicas: readonly string[];
  private readonly compare: (a: V, b: V) => number;
  private readonly answers = new Map<string, Answer<V>>();
  private readonly responded: string[] = [];
  private newest: V | undefined = undefined;
  private failed = 0;
  private deadlinePassed = false;
  private decided: { done: 'success' | 'unavailable'; error?: UnavailableError } | undefined;

  constructor(options: ReadQuorumOptions<V>) {
    checkReplicas(options.replicas, options.r, 'R');
    if (typeof options.compare !== 'function') throw new QuorumArgumentError('compare must be a function');
    this.replicas = [...options.replicas];
    this.r = options.r;
    this.compare = options.compare;
    this.decide();
  }

  /** A replica answered: its version of the key, or undefined if it has none. */
  response(node: string, version: V | undefined): ReadOutcome<V> {
    if (this.record(node, { ok: true, version })) {
      this.responded.push(node);
      if (version !== undefined && (this.newest === undefined || this.compare(version, this.newest) > 0)) this.newest = version;
      this.decide();
    }
    return this.result;
  }

  /** A replica answered with an error (or could not be reached). */
  fail(node: string, error?: unknown): ReadOutcome<V> {
    if (this.record(node, { ok: false, error })) {
      this.failed++;
      this.decide();
    }
    return this.result;
  }

  /** The deadline passed: a read still pending is unavailable, and the repair plan is final. */
  deadline(): ReadOutcome<V> {
    this.deadlinePassed = true;
    this.decide();
    return this.result;
  }

  get result(): ReadOutcome<V> {
    const done: QuorumDone = this.decided?.done ?? 'pending';
    const base = { done, newest: this.newest, respondedNodes: [...this.responded], failed: this.failed };
    return this.decided?.error === undefined ? base : { ...base, error: this.decided.error };
  }

  /** The replicas to send the newest version to (see the file comment). */
  repairPlan(): RepairPlan<V> {
    const complete = this.deadlinePassed || this.answers.size === this.replicas.length;
    const newest = this.newest;
    if (newest === undefined) return { version: undefined, nodes: [], complete };
    const nodes = this.responded.filter((n) => {
      const a = this.answers.get(n);
      return a !== undefined && a.ok && (a.version === undefined || this.compare(a.version, newest) < 0);
    });
    return { version: newest, nodes, complete };
  }

  /** Records a first answer before the deadline; false for a repeated or late one. */
  private record(node: string, answer: Answer<V>): boolean {
    if (!this.replicas.includes(node)) throw new QuorumArgumentError(`answer from ${node}, which was not asked`);
    if (this.answers.has(node) || this.deadlinePassed) return false;
    this.answers.set(node, answer);
    return true;
  }

  private decide(): void {
    if (this.decided !== undefined) return;
    const responses = this.responded.length;
    if (responses >= this.r) {
      this.decided = { done: 'success' };
      return;
    }
    const stillPossible = this.replicas.length - this.failed >= this.r;
    if (!stillPossible || this.deadlinePassed) {
      const error = new UnavailableError('read', this.r, responses, this.replicas.length, this.failed, stillPossible);
      this.decided = { done: 'unavailable', error };
    }
  }
}
