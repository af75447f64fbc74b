import t from 'tap';
import { runChaos } from './raft-sim/chaos.js';

// Seeded chaos runs: random partitions, cut links, loss, duplication, reordering, crashes and restarts;
// the SafetyChecker (raft-sim/checker.ts) checks every invariant after every event and throws on a
// violation. A failing seed replays exactly: runChaos(seed, size, ticks). A third of the proposals are
// cluster commands applied to each node's real ClusterStateMachine: the checker also checks that no
// node's epoch ever goes backwards (issue 6) and that nodes at one applied index hold identical state.
const RUNS = Number(process.env.RAFT_SIM_RUNS ?? 400);
const TICKS = 400;
/** A leader must be elected and a proposal applied everywhere within this many ticks of the heal. */
const RECOVERY_BOUND = 100;
// ~40 s of CPU on a quiet box; a busy CI box can take a few times that (tap's own limit is 300 s).
t.setTimeout(280_000);

for (const size of [3, 5]) {
  t.test(`${size} nodes: ${RUNS} seeded chaos runs keep every safety invariant and recover after healing`, (t) => {
    let worst = 0;
    let leaders = 0;
    let commits = 0;
    let epochBumps = 0;
    let staleBumps = 0;
    let epochChecks = 0;
    for (let seed = 1; seed <= RUNS; seed++) {
      const r = runChaos(seed * 1000 + size, size, TICKS);
      if (r.recoveryTicks < 0 || r.recoveryTicks > RECOVERY_BOUND) {
        t.fail(`seed ${r.seed}: no recovery within ${RECOVERY_BOUND} ticks (${r.recoveryTicks})`);
      }
      worst = Math.max(worst, r.recoveryTicks);
      leaders += r.leaders;
      commits += r.commits;
      epochBumps += r.epochBumps;
      staleBumps += r.staleBumps;
      epochChecks += r.epochChecks;
    }
    t.ok(leaders > RUNS, `elections happened (${leaders} leaders)`);
    t.ok(commits > RUNS * 10, `entries were committed (${commits})`);
    t.ok(epochBumps > RUNS, `epoch bumps were applied (${epochBumps}; ${staleBumps} stale ones refused)`);
    t.ok(epochChecks > RUNS * 100, `the epoch never went backwards on any node (${epochChecks} checks)`);
    t.comment(`worst recovery ${worst} ticks; ${leaders} leaders, ${commits} commits, ${epochBumps} epoch bumps`);
    t.end();
  });
}

t.test(`plain Raft (no pre-vote, no check-quorum), 3 and 5 nodes: ${RUNS / 2} runs each`, (t) => {
  let epochBumps = 0;
  let epochChecks = 0;
  for (const size of [3, 5]) {
    for (let seed = 1; seed <= RUNS / 2; seed++) {
      const r = runChaos(seed * 1000 + 500 + size, size, TICKS, false, false);
      if (r.recoveryTicks < 0 || r.recoveryTicks > RECOVERY_BOUND) t.fail(`seed ${r.seed}: no recovery (${r.recoveryTicks})`);
      epochBumps += r.epochBumps;
      epochChecks += r.epochChecks;
    }
  }
  t.ok(epochBumps > 0 && epochChecks > 0, `epochs never went backwards (${epochBumps} bumps, ${epochChecks} checks)`);
  t.pass('safety held in every run');
  t.end();
});

t.test('a seed replays exactly', (t) => {
  t.same(runChaos(42, 5, 300), runChaos(42, 5, 300));
  t.end();
});
