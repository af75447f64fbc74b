/**
 * The cluster bench with every node under V8's CPU profiler, each node's main thread drawn by 0x as a
 * flame graph (issue 13: profile the coordinator under load):
 *
 *   npm run profile:cluster [-- bench/cluster.js flags]     default: --quick --workloads A
 *
 * Writes bench/results/profiles/cluster-<time>/<node>/ (the .cpuprofile files of the node's main thread
 * and its LSM worker, and <node>.html, the main thread's flame graph), then prints each node's busiest
 * functions by self time. The nodes write their profiles when they exit, which the bench's graceful stop
 * (SIGTERM) lets them do.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { selfTimeTop, type CpuProfile } from './lib/cpu-profile-summary.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '..', '..');
const stamp = new Date().toISOString().replace(/[:.]/g, '-');
const out = path.join(root, 'bench', 'results', 'profiles', `cluster-${stamp}`);

const rest = process.argv.slice(2);
if (rest.includes('--help')) {
  console.log(`usage: npm run profile:cluster [-- bench:cluster flags]     (default: --quick --workloads A)

Runs the cluster bench with every node under V8's CPU profiler and draws each node's main thread as a
flame graph with 0x, in bench/results/profiles/cluster-<time>/; then prints each node's busiest
functions. The flags are bench:cluster's (npm run bench:cluster -- --help).`);
  process.exit(0);
}
fs.mkdirSync(out, { recursive: true });
const benchArgs = rest.length > 0 ? rest : ['--quick', '--workloads', 'A'];
const bench = spawnSync(process.execPath, [path.join(here, 'cluster.js'), '--no-save', ...benchArgs, '--profile-dir', out], { stdio: 'inherit', cwd: root });
if (bench.status !== 0) {
  console.error(`the cluster bench failed (exit ${bench.status ?? bench.signal})`);
  process.exit(1);
}

/** Node names its profiles CPU.<date>.<time>.<pid>.<thread id>.<seq>.cpuprofile; thread 0 is the main one. */
const MAIN_THREAD = /^CPU\.\d+\.\d+\.\d+\.0\.\d+\.cpuprofile$/;
const zeroX = path.join(root, 'node_modules', '.bin', '0x');
for (const node of fs.readdirSync(out).sort()) {
  const dir = path.join(out, node);
  const main = fs.readdirSync(dir).find((f) => MAIN_THREAD.test(f));
  if (main === undefined) {
    console.error(`${node}: no main-thread profile in ${dir} (did the node exit cleanly?)`);
    continue;
  }
  const file = path.join(dir, main);
  const viz = spawnSync(zeroX, ['--visualize-cpu-profile', file, '--name', node], { cwd: dir, encoding: 'utf8' });
  const html = path.join(dir, `${node}.html`);
  const { busyMs, rows } = selfTimeTop(JSON.parse(fs.readFileSync(file, 'utf8')) as CpuProfile, 15);
  console.log(`\n${node}: ${Math.round(busyMs).toLocaleString('en-US')} ms busy on the main thread; self time:`);
  for (const r of rows) console.log(`  ${(100 * r.share).toFixed(1).padStart(5)}%  ${r.frame}`);
  console.log(viz.status === 0 && fs.existsSync(html) ? `  flame graph: ${html}` : `  0x could not draw it: ${viz.stderr.trim().split('\n').pop() ?? ''}`);
}
