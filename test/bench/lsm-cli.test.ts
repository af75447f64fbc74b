/**
 * `npm run bench:lsm -- --help` explains the flags instead of starting a half-hour run, and a mistyped
 * flag is refused instead of being ignored (which ran every workload on every engine).
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import t from 'tap';

const bench = fileURLToPath(new URL('../../bench/lsm.js', import.meta.url));
const run = (...args: string[]) => spawnSync(process.execPath, [bench, ...args], { encoding: 'utf8', timeout: 60_000 });

t.test('--help prints the usage and exits 0 without benchmarking', (t) => {
  const r = run('--help');
  t.equal(r.status, 0);
  t.match(r.stdout, /^usage: npm run bench:lsm/);
  t.match(r.stdout, /--engines a,b +only these variants \(ours, ours-level, classic, classic-level\)/);
  t.notMatch(r.stderr, /fillseq/, 'no workload ran');
  t.end();
});

t.test('an unknown flag is refused with the usage and exit code 2', (t) => {
  const r = run('--engine', 'ours');
  t.equal(r.status, 2);
  t.match(r.stderr, /unknown argument "--engine"/);
  t.match(r.stderr, /usage: npm run bench:lsm/);
  t.end();
});
