/**
 * `npm run fuzz [-- --runs N --seed S]`: runs every fuzz target (dist/test/fuzz/*.test.js) through tap
 * for longer than CI does: N cases per target (default 20x CI_RUNS; MYDATASTORE_FUZZ_RUNS if set), from
 * seed S (default: MYDATASTORE_FUZZ_SEED, else a new clock-based seed, printed, so each long run explores
 * new inputs and a failure replays), with no per-file timeout (hangs are caught by each target's
 * watchdog, hang-watchdog.ts). Exits with tap's status.
 */
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CI_RUNS } from './fuzz-runs.js';

function arg(name: string, fallback: number, min: number): number {
  const i = process.argv.indexOf(`--${name}`);
  if (i < 0) return fallback;
  const v = Number(process.argv[i + 1]);
  if (!Number.isSafeInteger(v) || v < min) {
    console.error(`--${name} takes an integer >= ${min}, got ${process.argv[i + 1] ?? 'nothing'}`);
    process.exit(2);
  }
  return v;
}

const envRuns = Number(process.env.MYDATASTORE_FUZZ_RUNS ?? '');
const envSeed = Number(process.env.MYDATASTORE_FUZZ_SEED ?? '');
const runs = arg('runs', Number.isSafeInteger(envRuns) && envRuns > 0 ? envRuns : 20 * CI_RUNS, 1);
const seed = arg('seed', process.env.MYDATASTORE_FUZZ_SEED !== undefined && Number.isSafeInteger(envSeed) ? envSeed : Date.now() % 2 ** 31, -(2 ** 31));
const here = fileURLToPath(new URL('.', import.meta.url));
const files = readdirSync(here).filter((f) => f.endsWith('.test.js')).sort().map((f) => join(here, f));
console.log(`fuzzing ${files.length} targets, ${runs} cases each, seed ${seed} (replay: MYDATASTORE_FUZZ_SEED=${seed} MYDATASTORE_FUZZ_RUNS=${runs})`);
const env = { ...process.env, MYDATASTORE_FUZZ_RUNS: String(runs), MYDATASTORE_FUZZ_SEED: String(seed) };
// One file at a time: the wire targets start a node each, and the box may be shared.
const res = spawnSync('npx', ['tap', '--timeout=0', '--jobs=1', ...files], { env, stdio: 'inherit' });
process.exit(res.status ?? 1);
