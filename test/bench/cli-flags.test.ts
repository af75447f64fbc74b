/**
 * Every bench script explains itself on `--help` instead of starting a run (a full bench:lsm is half an
 * hour, bench:rpc used to start on any flag at all), and refuses a mistyped flag with the usage and exit
 * code 2 instead of a stack trace or, worse, ignoring it and running the defaults.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import t from 'tap';

const script = (name: string) => fileURLToPath(new URL(`../../bench/${name}.js`, import.meta.url));
const run = (name: string, ...args: string[]) => spawnSync(process.execPath, [script(name), ...args], { encoding: 'utf8', timeout: 60_000 });

/** Script file, the command its usage names. */
const SCRIPTS: [string, string][] = [
  ['lsm', 'npm run bench:lsm'],
  ['cluster', 'npm run bench:cluster'],
  ['rpc', 'npm run bench:rpc'],
  ['antientropy', 'npm run bench:antientropy'],
  ['soak', 'npm run soak'],
  ['suite', 'npm run bench'],
  ['loadtest', 'npm run loadtest'],
  ['compression', 'node dist/bench/compression.js'],
  ['profile-lsm', 'npm run profile:lsm'],
  ['profile-cluster', 'npm run profile:cluster'],
];

for (const [name, command] of SCRIPTS) {
  t.test(`${name} --help prints the usage and exits 0 without running`, (t) => {
    const r = run(name, '--help');
    t.equal(r.status, 0, r.stderr);
    t.ok(r.stdout.startsWith(`usage: ${command}`), r.stdout.split('\n')[0] ?? '');
    t.equal(r.stderr, '', 'nothing ran (no progress on stderr)');
    t.end();
  });
}

for (const [name, command] of SCRIPTS.filter(([n]) => n !== 'profile-cluster')) {
  t.test(`${name} refuses an unknown flag with the usage and exit code 2`, (t) => {
    const r = run(name, '--bogus', '1');
    t.equal(r.status, 2, r.stderr);
    t.match(r.stderr, name === 'profile-lsm' ? /unknown workload "--bogus"/ : /unknown argument "--bogus"/);
    t.match(r.stderr, `usage: ${command}`);
    t.notMatch(r.stderr, /^\s+at /m, 'no stack trace');
    t.equal(r.stdout, '', 'nothing ran');
    t.end();
  });
}

t.test('bench:lsm --help lists its variants', (t) => {
  t.match(run('lsm', '--help').stdout, /--engines a,b +only these variants \(ours, ours-level, classic, classic-level\)/);
  t.end();
});

t.test('a bad value for a known flag is refused the same way', (t) => {
  const r = run('cluster', '--workloads', 'D');
  t.equal(r.status, 2);
  t.match(r.stderr, /^bench:cluster: --workloads: unknown workload D \(A, B or C\)/);
  t.match(r.stderr, 'usage: npm run bench:cluster');
  const n = run('lsm', '--num', 'abc');
  t.equal(n.status, 2);
  t.match(n.stderr, /^bench:lsm: --num needs a whole number >= 1, got "abc"/);
  t.notMatch(n.stderr, /^\s+at /m, 'no stack trace');
  t.end();
});
