/**
 * The checker of the unique-key workload (each key written once, with its own value). After the faults
 * are healed, every key is read at R=ALL through every node, and each owner's stored copy is read
 * directly. Verdicts:
 *   - lost: acknowledged, yet a successful R=ALL read found no value or another value. R=ALL asks every
 *     owner, so "not found" means no replica has it. Must be 0.
 *   - neverRead: acknowledged, but no final read of it succeeded (nothing can be said about it).
 *   - appearedUnacknowledged: written with an unknown or failed outcome, and found: allowed (a write that
 *     timed out may have been applied), reported for the record.
 *   - missingCopies: owner replicas without the key after convergence (anti-entropy and hints should
 *     leave none).
 * Pure: the test gathers the reads, this judges them.
 */
import type { Op } from './history.js';

export interface FinalRead {
  via: string;
  /** undefined: the read failed (no verdict from it). null: not found. */
  value: string | null | undefined;
}

export interface ReplicaCopies {
  /** Nodes that own the key (answered ReplicaRead without WRONG_OWNER). */
  owners: number;
  /** Owners whose stored copy holds the written value. */
  holding: number;
}

export interface UniqueWritesVerdict {
  attempted: number;
  acknowledged: number;
  unknown: number;
  failed: number;
  lost: string[];
  neverRead: string[];
  appearedUnacknowledged: number;
  missingCopies: number;
}

export function checkUniqueWrites(ops: readonly Op[], reads: ReadonlyMap<string, readonly FinalRead[]>, copies?: ReadonlyMap<string, ReplicaCopies>): UniqueWritesVerdict {
  const written = new Map<string, string>();
  const outcome = new Map<string, Op['type']>();
  for (const op of ops) {
    if (op.f !== 'write') continue;
    if (op.type === 'invoke') written.set(op.key, op.value ?? '');
    else outcome.set(op.key, op.type);
  }
  const v: UniqueWritesVerdict = { attempted: written.size, acknowledged: 0, unknown: 0, failed: 0, lost: [], neverRead: [], appearedUnacknowledged: 0, missingCopies: 0 };
  for (const [key, value] of written) {
    const o = outcome.get(key) ?? 'info'; // still in flight at the end: unknown
    const answered = (reads.get(key) ?? []).filter((r) => r.value !== undefined);
    if (o === 'ok') {
      v.acknowledged++;
      if (answered.length === 0) v.neverRead.push(key);
      else if (answered.some((r) => r.value !== value)) v.lost.push(key);
      const c = copies?.get(key);
      if (c !== undefined) v.missingCopies += c.owners - c.holding;
    } else {
      if (o === 'fail') v.failed++;
      else v.unknown++;
      if (answered.some((r) => r.value === value)) v.appearedUnacknowledged++;
    }
  }
  return v;
}
