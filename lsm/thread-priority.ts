/**
 * Lowers the scheduling priority of the calling thread (Linux: each thread has its own nice value).
 * The background thread calls it at start: on a machine with few cores, flushes and compactions then
 * take the CPU the main thread leaves, instead of taking turns with it. Measured on a 2-core box during
 * fillrandom: the main thread spent 800 of 1,250 ms of stretches without an event-loop turn (> 8 ms)
 * runnable but waiting for a core; with the worker at nice +10, 250 of 520 ms, and puts ran 15% faster.
 * (RocksDB offers the same for its background threads.) A background thread that falls behind still
 * gets the CPU: writes then slow down at L0's limits and leave it the cores.
 */
import { getPriority, setPriority } from 'node:os';
import { readlinkSync } from 'node:fs';

export const BACKGROUND_NICE_INCREMENT = 10;

/**
 * Adds `increment` to this thread's nice value (capped at 19). Returns the new value, or undefined where
 * a thread's id cannot be found (no /proc/thread-self: not Linux) or the change is refused.
 */
export function lowerThreadPriority(increment = BACKGROUND_NICE_INCREMENT): number | undefined {
  let tid: number;
  try {
    tid = Number(readlinkSync('/proc/thread-self').split('/').pop());
  } catch {
    return undefined;
  }
  if (!Number.isSafeInteger(tid) || tid <= 0) return undefined;
  try {
    setPriority(tid, Math.min(19, getPriority(tid) + increment));
    return getPriority(tid);
  } catch {
    return undefined;
  }
}
