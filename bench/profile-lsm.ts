/**
 * One LSM bench workload of our engine under 0x, written as a flame graph to bench/results/profiles/:
 *
 *   npm run profile:lsm -- readrandom [--num 200000 ...]
 *
 * The workload runs in one process (`--in-process`, engine `ours`), after whatever it needs first (a
 * read workload fills its database with fillrandom, which the flame graph then shows too, as its own
 * frames). Extra flags go to bench/lsm.js. Prints the path of flamegraph.html.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { WORKLOADS } from './lib/lsm-workloads.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '..', '..');
const USAGE = `usage: npm run profile:lsm -- <workload> [bench:lsm flags]

Runs one workload of bench:lsm on our engine under 0x and writes the flame graph to
bench/results/profiles/lsm-<workload>-<time>/.
workloads: ${WORKLOADS.join(', ')}`;
const [workload, ...rest] = process.argv.slice(2);
if (workload === '--help') {
  console.log(USAGE);
  process.exit(0);
}
if (workload === undefined || !(WORKLOADS as readonly string[]).includes(workload)) {
  console.error(`profile:lsm: ${workload === undefined ? 'no workload given' : `unknown workload ${JSON.stringify(workload)}`}\n\n${USAGE}`);
  process.exit(2);
}
const stamp = new Date().toISOString().replace(/[:.]/g, '-');
const out = path.join(root, 'bench', 'results', 'profiles', `lsm-${workload}-${stamp}`);
fs.mkdirSync(out, { recursive: true });
const zeroX = path.join(root, 'node_modules', '.bin', '0x');
const args = ['--output-dir', out, '--', process.execPath, path.join(here, 'lsm.js'), '--engines', 'ours', '--in-process', '--no-save', '--only', workload, ...rest];
const r = spawnSync(zeroX, args, { stdio: 'inherit', cwd: root });
if (r.status !== 0) {
  console.error(`0x failed (exit ${r.status ?? r.signal})`);
  process.exit(1);
}
console.log(`flame graph: ${path.join(out, 'flamegraph.html')}`);
