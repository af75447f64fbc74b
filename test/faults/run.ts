/**
 * `npm run test:faults [-- --seconds S --seeds K --seed FIRST]`: runs every fault scenario K times (seeds
 * FIRST, FIRST+1, ...) for S seconds of faults each (defaults 120 s, 3 seeds, a clock-based first seed),
 * through tap, with the history, verdict and latency chart of each run written to bench/results/faults-<date>/.
 * Prints one line per run and exits non-zero if any run failed. CI runs the same scenarios briefly in `npm test`.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  if (i < 0) return fallback;
  const v = Number(process.argv[i + 1]);
  if (!Number.isInteger(v) || v < 0) {
    console.error(`--${name} takes a non-negative integer, got ${process.argv[i + 1] ?? 'nothing'}`);
    process.exit(2);
  }
  return v;
}

const seconds = arg('seconds', 120);
const seeds = arg('seeds', 3);
const first = arg('seed', Date.now() % 1_000_000);
const here = fileURLToPath(new URL('.', import.meta.url));
// The unit tests beside the scenarios (checkers, the proxy, the chart) take no faults and write no report.
const UNIT_TESTS = ['checker', 'link-proxy', 'latency-chart'];
const scenarios = readdirSync(here).filter((f) => f.endsWith('.test.js') && !UNIT_TESTS.some((u) => f.includes(u)));
const dir = join('bench', 'results', `faults-${new Date().toISOString().replace(/[:.]/g, '-')}`);
mkdirSync(dir, { recursive: true });
let failed = 0;
for (let s = 0; s < seeds; s++) {
  const seed = first + s;
  for (const file of scenarios) {
    const env = { ...process.env, FAULTS_SECONDS: String(seconds), FAULTS_SEED: String(seed), FAULTS_REPORT_DIR: dir };
    const res = spawnSync('npx', ['tap', '--timeout', String(seconds + 600), '--reporter', 'terse', join(here, file)], { env, stdio: 'inherit' });
    const ok = res.status === 0;
    if (!ok) failed++;
    const verdictFile = join(dir, `${file.replace(/\.test\.js$/, '')}-seed-${seed}.verdict.json`);
    const verdict = existsSync(verdictFile) ? (JSON.parse(readFileSync(verdictFile, 'utf8')) as Record<string, unknown>) : undefined;
    const parts =
      verdict === undefined
        ? ['no verdict written']
        : [
            `acknowledged ${String(verdict.acknowledged)}`,
            `lost ${Array.isArray(verdict.lost) ? verdict.lost.length : '?'}`,
            ...(verdict.missingCopies === undefined ? [] : [`missing copies ${JSON.stringify(verdict.missingCopies)}`]),
            ...(verdict.convergedMs === undefined ? [] : [`converged in ${JSON.stringify(verdict.convergedMs)} ms`]),
          ];
    const summary = parts.join(', ');
    console.log(`${ok ? 'pass' : 'FAIL'}  ${file}  seed ${seed}: ${summary}`);
  }
}
console.log(`histories, verdicts and latency charts (<scenario>-seed-<seed>.latency.svg) in ${dir}`);
process.exit(failed === 0 ? 0 : 1);
