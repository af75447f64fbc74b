/**
 * Catches a fuzz case that hangs. A synchronous reader stuck in an endless loop blocks the event loop,
 * so no timer of the test itself can fire: a worker thread keeps the clock instead. Each guarded case
 * tells it when it starts and ends; a case still running after the limit gets the whole process killed,
 * after a line on stderr (written straight to fd 2, not through the blocked main thread) naming the
 * target, the seed and the case's fast-check path, which MYDATASTORE_FUZZ_PATH replays.
 */
import { Worker } from 'node:worker_threads';
import { fuzzSeed } from './fuzz-runs.js';

/** Longer than any case takes on a busy box (the slowest, a database open, takes milliseconds). */
export const HANG_LIMIT_MS = 60_000;

// CommonJS source of the worker (eval: true), so the watchdog needs no file of its own in dist/.
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const { writeSync } = require('node:fs');
let timer;
parentPort.on('message', (m) => {
  clearTimeout(timer);
  if (m === null) return;
  timer = setTimeout(() => {
    writeSync(2, 'fuzz target "' + workerData.target + '": case ' + m + ' still running after ' + workerData.limitMs +
      ' ms: a hang. Replay with MYDATASTORE_FUZZ_SEED=' + workerData.seed + ' MYDATASTORE_FUZZ_PATH=' + m + '\\n');
    process.kill(process.pid, 'SIGKILL');
  }, workerData.limitMs);
});
`;

export interface Watchdog {
  /** The predicate, timed: each call is one case (numbered as fast-check's path of a first run). */
  guard<A extends unknown[], R>(predicate: (...args: A) => R): (...args: A) => R;
  close(): Promise<void>;
}

export function startWatchdog(target: string, limitMs = HANG_LIMIT_MS): Watchdog {
  const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { target, limitMs, seed: fuzzSeed() } });
  worker.unref();
  let cases = 0;
  return {
    guard<A extends unknown[], R>(predicate: (...args: A) => R): (...args: A) => R {
      return (...args: A): R => {
        worker.postMessage(String(cases++));
        let result: R;
        try {
          result = predicate(...args);
        } catch (err) {
          worker.postMessage(null);
          throw err;
        }
        if (result instanceof Promise) {
          const settled = result.finally(() => worker.postMessage(null));
          return settled as R;
        }
        worker.postMessage(null);
        return result;
      };
    },
    close: async () => {
      await worker.terminate();
    },
  };
}
