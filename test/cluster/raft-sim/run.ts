/**
 * `npm run sim`: many more seeded chaos runs than the test suite does, with every safety invariant
 * checked after every event. RAFT_SIM_RUNS (default 1000) runs per cluster size and mode, starting at
 * seed RAFT_SIM_SEED (default 1); a failing seed is printed and replays exactly with RAFT_SIM_RUNS=1
 * RAFT_SIM_SEED=<seed>. Exits 1 on any violation or missed recovery.
 */
import { runChaos, type ChaosExtras } from './chaos.js';

const RUNS = Number(process.env.RAFT_SIM_RUNS ?? 1000);
const FIRST = Number(process.env.RAFT_SIM_SEED ?? 1);
const TICKS = 400;
const RECOVERY_BOUND = 100;
const modes: [string, boolean, ChaosExtras][] = [
  ['pre-vote + check-quorum', true, {}],
  ['plain', false, {}],
  ['membership + compaction + transfer', true, { spares: 2, compaction: true, transfer: true }],
];

let failures = 0;
const start = Date.now();
for (const [name, refined, extras] of modes) {
  for (const size of [3, 5]) {
    let worst = 0;
    let bumps = 0;
    for (let seed = FIRST; seed < FIRST + RUNS; seed++) {
      try {
        const r = runChaos(seed, size, TICKS, refined, refined, extras);
        if (r.recoveryTicks < 0 || r.recoveryTicks > RECOVERY_BOUND) {
          failures++;
          console.log(`FAIL ${name} size=${size} seed=${seed}: recovery ${r.recoveryTicks} ticks`);
        }
        worst = Math.max(worst, r.recoveryTicks);
        bumps += r.epochBumps;
      } catch (err) {
        failures++;
        console.log(`FAIL ${name} size=${size} seed=${seed}: ${(err as Error).message}`);
      }
    }
    console.log(`${name}, ${size} nodes: ${RUNS} runs from seed ${FIRST}, worst recovery ${worst} ticks, ${bumps} epoch bumps`);
  }
}
console.log(`${failures} failures in ${((Date.now() - start) / 1000).toFixed(1)} s`);
process.exitCode = failures === 0 ? 0 : 1;
