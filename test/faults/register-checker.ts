/**
 * The checker of the register workload: each key has one writer, which writes 1, 2, 3, ... in order (the
 * next only after the previous completed). A read at R with R + W > N must never return a value older than
 * the last write of that key acknowledged before the read was invoked (README, "Guarantees" 2), and never
 * a value no one wrote. Writes whose outcome is unknown may be seen or not. Pure: the test records the
 * history, this judges it.
 */
import type { Op } from './history.js';

export interface StaleRead {
  key: string;
  /** What the read returned (null: not found). */
  got: number | null;
  /** The last acknowledged write before the read began. */
  expectedAtLeast: number;
  readInvokedAt: number;
}

export interface RegisterVerdict {
  reads: number;
  writesAcknowledged: number;
  stale: StaleRead[];
  /** Reads that returned a value no write of the key carried. */
  phantoms: { key: string; got: string }[];
}

export function checkRegisters(ops: readonly Op[]): RegisterVerdict {
  const written = new Map<string, Set<string>>();
  const acks = new Map<string, { value: number; at: number }[]>();
  const pending = new Map<string, string>(); // writer process/key → value in flight
  const invokedAt = new Map<string, number>(); // reader process/key → invoke time
  const v: RegisterVerdict = { reads: 0, writesAcknowledged: 0, stale: [], phantoms: [] };
  const readsDone: { key: string; got: string | null; at: number }[] = [];
  for (const op of ops) {
    const id = `${op.process}/${op.key}`;
    if (op.f === 'write') {
      if (op.type === 'invoke') {
        pending.set(id, op.value ?? '');
        if (!written.has(op.key)) written.set(op.key, new Set());
        written.get(op.key)!.add(op.value ?? '');
      } else if (op.type === 'ok') {
        v.writesAcknowledged++;
        if (!acks.has(op.key)) acks.set(op.key, []);
        acks.get(op.key)!.push({ value: Number(pending.get(id)), at: op.time });
      }
    } else if (op.f === 'read') {
      if (op.type === 'invoke') invokedAt.set(id, op.time);
      else if (op.type === 'ok') readsDone.push({ key: op.key, got: op.value ?? null, at: invokedAt.get(id) ?? op.time });
    }
  }
  for (const r of readsDone) {
    v.reads++;
    let floor = 0;
    for (const a of acks.get(r.key) ?? []) if (a.at < r.at && a.value > floor) floor = a.value;
    if (r.got !== null && !(written.get(r.key)?.has(r.got) ?? false)) {
      v.phantoms.push({ key: r.key, got: r.got });
      continue;
    }
    const got = r.got === null ? null : Number(r.got);
    if ((got ?? 0) < floor) v.stale.push({ key: r.key, got, expectedAtLeast: floor, readInvokedAt: r.at });
  }
  return v;
}
