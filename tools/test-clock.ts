/**
 * A test hook for clock skew: when MYDATASTORE_TEST_CLOCK_OFFSET_FILE names a file, the node's wall clock
 * for HLC timestamps is Date.now() plus the signed integer of milliseconds that file holds. The file is
 * read at start and again on SIGUSR2, and every change is logged, so the fault harness
 * (test/faults/) can jump a node's clock forwards or backwards while it runs. Unset in production: the
 * clock is Date.now.
 */
import { readFileSync } from 'node:fs';
import type { Logger } from '../rpc/logger.js';

export const CLOCK_OFFSET_VARIABLE = 'MYDATASTORE_TEST_CLOCK_OFFSET_FILE';

export function readOffset(file: string): number {
  const text = readFileSync(file, 'utf8').trim();
  const ms = /^-?\d+$/.test(text) ? Number(text) : NaN;
  if (!Number.isSafeInteger(ms)) throw new Error(`${CLOCK_OFFSET_VARIABLE}: ${file} must hold an integer number of ms, got ${JSON.stringify(text)}`);
  return ms;
}

/** The wall clock of this node: Date.now, or with the test offset when the variable is set. */
export function wallClock(log: Logger, file = process.env[CLOCK_OFFSET_VARIABLE]): () => number {
  if (file === undefined || file === '') return Date.now;
  let offset = readOffset(file);
  let changes = 0;
  log.warn(`test clock offset ${offset} ms (#${changes}): this node's HLC runs ${offset} ms off the real time`);
  process.on('SIGUSR2', () => {
    try {
      offset = readOffset(file);
      log.warn(`test clock offset ${offset} ms (#${++changes})`);
    } catch (err) {
      log.error((err as Error).message);
    }
  });
  return () => Date.now() + offset;
}
