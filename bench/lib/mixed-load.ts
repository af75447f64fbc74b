/**
 * An open-ended YCSB-A-style load for the soak bench: `concurrency` loops, each keeping one request in
 * flight, half gets and half puts (readFraction) of keys chosen with YCSB's scrambled zipfian over a
 * fixed key space, until stop(). Unlike ycsb.ts's timed phases it runs for as long as the caller likes
 * and hands out its counts per interval (take()), so ops/s and errors can be charted over a long run.
 * loadAll() first writes every key once, so that the data set has its full size from the start.
 *
 * Put values are slices of a random pool at random offsets: incompressible, and not one value repeated
 * in every block (which block compression would squeeze, understating the size on disk).
 */
import { errorCode } from './kv-target.js';
import type { KvTarget } from './kv-target.js';
import { ScrambledZipfian } from './zipfian.js';

export interface MixedLoadSpec {
  target: KvTarget;
  keys: readonly Buffer[];
  valueSize: number;
  concurrency: number;
  readFraction: number;
  random: () => number;
}

/** Counts since the previous take(). */
export interface IntervalCounts {
  ok: number;
  reads: number;
  puts: number;
  errors: number;
  errorsByCode: Record<string, number>;
}

const POOL_EXTRA = 64 * 1024;
const ERROR_PAUSE_MS = 10;
const LOAD_TRIES = 5;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export class MixedLoad {
  private counts: IntervalCounts = emptyCounts();
  private stopping = false;
  private workers: Promise<void>[] = [];
  /** The first message seen for each error code over the whole run. */
  readonly errorExamples: Record<string, string> = {};
  private readonly chooser: ScrambledZipfian;
  private readonly pool: Buffer;

  constructor(private readonly spec: MixedLoadSpec) {
    if (spec.keys.length === 0) throw new RangeError('a mixed load needs at least one key');
    this.chooser = new ScrambledZipfian(spec.keys.length, spec.random);
    this.pool = Buffer.alloc(spec.valueSize + POOL_EXTRA);
    for (let i = 0; i < this.pool.length; i++) this.pool[i] = Math.floor(spec.random() * 256);
  }

  /**
   * Puts every key once (key order, `concurrency` in flight), each retried up to LOAD_TRIES times, so
   * the data set has its full size before the run. Returns the keys that could not be written.
   */
  async loadAll(onProgress?: (done: number) => void): Promise<number> {
    const { target, keys, concurrency } = this.spec;
    let next = 0;
    let done = 0;
    let failed = 0;
    const loader = async () => {
      while (next < keys.length) {
        const key = keys[next++]!;
        for (let attempt = 1; ; attempt++) {
          try {
            await target.put(key, this.value());
            break;
          } catch (err) {
            this.errorExamples[`load ${errorCode(err)}`] ??= err instanceof Error ? err.message : String(err);
            if (attempt >= LOAD_TRIES) {
              failed++;
              break;
            }
            await sleep(ERROR_PAUSE_MS * attempt);
          }
        }
        onProgress?.(++done);
      }
    };
    await Promise.all(Array.from({ length: concurrency }, loader));
    return failed;
  }

  start(): void {
    if (this.workers.length > 0) return;
    this.workers = Array.from({ length: this.spec.concurrency }, () => this.worker());
  }

  /** Lets the requests in flight finish, then resolves. */
  async stop(): Promise<void> {
    this.stopping = true;
    await Promise.all(this.workers);
  }

  take(): IntervalCounts {
    const c = this.counts;
    this.counts = emptyCounts();
    return c;
  }

  private value(): Buffer {
    const offset = Math.floor(this.spec.random() * (POOL_EXTRA + 1));
    return this.pool.subarray(offset, offset + this.spec.valueSize);
  }

  private async worker(): Promise<void> {
    const { target, keys, readFraction, random } = this.spec;
    while (!this.stopping) {
      const key = keys[this.chooser.next()]!;
      const isRead = random() < readFraction;
      try {
        if (isRead) {
          // Every key was loaded before the run: a get that finds nothing lost a write.
          if (!(await target.get(key))) {
            this.fail('MISSING_KEY', `a read of loaded key ${key.toString()} found no value`);
            continue;
          }
          this.counts.reads++;
        } else {
          await target.put(key, this.value());
          this.counts.puts++;
        }
        this.counts.ok++;
      } catch (err) {
        this.fail(errorCode(err), err instanceof Error ? err.message : String(err));
        // A failure can come back at once (a refused connection): pause rather than spin.
        await sleep(ERROR_PAUSE_MS);
      }
    }
  }

  private fail(code: string, message: string): void {
    this.counts.errors++;
    this.counts.errorsByCode[code] = (this.counts.errorsByCode[code] ?? 0) + 1;
    this.errorExamples[code] ??= message;
  }
}

function emptyCounts(): IntervalCounts {
  return { ok: 0, reads: 0, puts: 0, errors: 0, errorsByCode: {} };
}
