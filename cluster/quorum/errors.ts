/** Typed errors of the quorum bookkeeping (write-quorum.ts, read-quorum.ts); codes listed in cluster/ERRORS.md. */

export type QuorumKind = 'read' | 'write';

/**
 * Fewer replicas than required answered: too many failed (success became impossible) or the deadline
 * passed first. `acks` counts the acknowledgements (writes) or answers (reads) that did count.
 */
export class UnavailableError extends Error {
  readonly code = 'CLUSTER_UNAVAILABLE';
  constructor(
    readonly kind: QuorumKind,
    /** R or W. */
    readonly required: number,
    /** Acknowledgements (write) or responses (read) that counted toward `required`. */
    readonly acks: number,
    /** Replicas the request was sent to. */
    readonly replicas: number,
    /** Replicas that answered with an error. */
    readonly failed: number,
    /** True if the deadline passed; false if failures made success impossible before it. */
    readonly timedOut: boolean,
  ) {
    const verb = kind === 'write' ? 'acknowledged' : 'answered';
    const when = timedOut ? 'before the deadline' : `and ${failed} failed`;
    super(`${required} of ${replicas} replicas needed, ${acks} ${verb} ${when}`);
    this.name = 'UnavailableError';
  }

  /** Same as `acks`, under the name a read's caller expects. */
  get responses(): number {
    return this.acks;
  }
}

/** A quorum built or fed with arguments that cannot be right (a bug in the driver, never the network's doing). */
export class QuorumArgumentError extends Error {
  readonly code = 'CLUSTER_BAD_QUORUM';
  constructor(message: string) {
    super(message);
    this.name = 'QuorumArgumentError';
  }
}

/** Checks a replica list (non-empty ids, no duplicate) and a required count (integer ≥ 1). */
export function checkReplicas(replicas: readonly string[], required: number, what: string): void {
  if (!Number.isSafeInteger(required) || required < 1) throw new QuorumArgumentError(`${what} must be an integer ≥ 1, got ${String(required)}`);
  const seen = new Set<string>();
  for (const r of replicas) {
    if (typeof r !== 'string' || r === '') throw new QuorumArgumentError('replica ids must be non-empty strings');
    if (seen.has(r)) throw new QuorumArgumentError(`replica ${r} listed twice`);
    seen.add(r);
  }
}
