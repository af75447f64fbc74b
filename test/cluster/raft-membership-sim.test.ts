import t from 'tap';
import { runChaos } from './raft-sim/chaos.js';

// Seeded chaos runs as in raft-safety.test.ts, with membership changes on top; a failing seed replays
// exactly: runChaos(seed, size, ticks, true, true, EXTRAS). `npm run sim` runs many more seeds.
const RUNS = Number(process.env.RAFT_SIM_RUNS ?? 400);
const TICKS = 400;
const RECOVERY_BOUND = 100;
// ~40 s of CPU on a quiet box; a busy CI box can take a few times that (tap's own limit is 300 s).
t.setTimeout(280_000);

// Chaos runs with membership changes (two spare nodes outside the initial configuration, random one-at-a-
// time additions, promotions and removals, the leader's included), compaction at random nodes (so
// lagging and restarted nodes get InstallSnapshot) and leadership transfers. The checker also checks that
// successive configurations differ by at most one voter, that every node's configuration is that of its
// applied log, and that every snapshot is the state the applied entries give — the hash chain and the real
// ClusterStateMachine alike, whose epoch must never go backwards on any node, across snapshot installs
// and restarts included (issue 6).
const EXTRAS = { spares: 2, compaction: true, transfer: true };
for (const size of [3, 5]) {
  t.test(`${size} nodes + conf changes, compaction, transfers: ${RUNS} seeded runs stay safe and recover`, (t) => {
    let worst = 0;
    const sum = { confChanges: 0, snapshots: 0, transfers: 0, commits: 0, epochBumps: 0, staleBumps: 0, epochChecks: 0 };
    for (let seed = 1; seed <= RUNS; seed++) {
      const r = runChaos(seed * 1000 + 700 + size, size, TICKS, true, true, EXTRAS);
      if (r.recoveryTicks < 0 || r.recoveryTicks > RECOVERY_BOUND) t.fail(`seed ${r.seed}: no recovery within ${RECOVERY_BOUND} ticks (${r.recoveryTicks})`);
      worst = Math.max(worst, r.recoveryTicks);
      sum.confChanges += r.confChanges - size; // minus the bootstrap entries
      sum.snapshots += r.snapshots;
      sum.transfers += r.transfers;
      sum.commits += r.commits;
      sum.epochBumps += r.epochBumps;
      sum.staleBumps += r.staleBumps;
      sum.epochChecks += r.epochChecks;
    }
    t.ok(sum.confChanges > RUNS, `configurations changed (${sum.confChanges} committed changes)`);
    t.ok(sum.snapshots > RUNS, `snapshots were installed or restarted from (${sum.snapshots})`);
    t.ok(sum.transfers > RUNS / 4, `leadership transfers were started (${sum.transfers})`);
    t.ok(sum.epochBumps > RUNS, `epoch bumps were applied (${sum.epochBumps}; ${sum.staleBumps} stale ones refused)`);
    t.ok(sum.epochChecks > RUNS * 100, `the epoch never went backwards on any node (${sum.epochChecks} checks)`);
    t.comment(`worst recovery ${worst} ticks; ${JSON.stringify(sum)}`);
    t.end();
  });
}

t.test('a seed with membership changes replays exactly', (t) => {
  t.same(runChaos(43, 3, 300, true, true, EXTRAS), runChaos(43, 3, 300, true, true, EXTRAS));
  t.end();
});
