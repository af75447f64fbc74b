/**
 * runPhase's open loop (bench/lib/ycsb.ts, `ratePerSec`): operations follow a schedule, never run ahead
 * of it, and one that waited behind a stalled server counts the wait in its latency (a closed loop
 * would record one slow operation and simply issue fewer).
 */
import t from 'tap';
import type { KvTarget } from '../../bench/lib/kv-target.js';
import { seededRandom } from '../../bench/lib/rng.js';
import { keyOf, runPhase } from '../../bench/lib/ycsb.js';

function fakeTarget(stallFirstMs: number): KvTarget & { puts: number } {
  const target = {
    system: 'fake',
    setting: 'fake',
    puts: 0,
    get: () => Promise.resolve(true),
    put: async () => {
      if (target.puts++ === 0 && stallFirstMs > 0) await new Promise((resolve) => setTimeout(resolve, stallFirstMs));
    },
  };
  return target;
}

const phase = (target: KvTarget, concurrency: number) =>
  runPhase({
    workload: 'half-peak',
    target,
    keys: Array.from({ length: 100 }, (_, i) => keyOf(i)),
    value: Buffer.alloc(8),
    concurrency,
    durationMs: 1000,
    ratePerSec: 100,
    random: seededRandom(1),
  });

t.test('the open loop keeps to its rate, however many workers are free', async (t) => {
  const target = fakeTarget(0);
  const r = await phase(target, 16);
  t.ok(target.puts <= 100, `${target.puts} puts scheduled in 1 s at 100/s (16 workers could have done far more)`);
  t.ok(r.ops >= 50, `${r.ops} counted (a busy machine may lose a few at the window's end)`);
  t.end();
});

t.test('operations queued behind a stall count the wait from their scheduled time', async (t) => {
  // One worker, a 300 ms stall on the first put: the ~30 puts scheduled meanwhile start late.
  const r = await phase(fakeTarget(300), 1);
  t.ok(r.latencyMs.max >= 290, `the stalled put itself: ${r.latencyMs.max} ms`);
  t.ok(r.latencyMs.p90 >= 50, `p90 ${r.latencyMs.p90} ms: the queue behind it shows (a closed loop would show ~0)`);
  t.end();
});

t.test('every operation scheduled inside the window is counted, even one that ends after it', async (t) => {
  // The last put scheduled (at ~990 ms) stalls 500 ms: a closed loop would drop it, and its latency.
  let n = 0;
  const target: KvTarget = {
    system: 'fake',
    setting: 'fake',
    get: () => Promise.resolve(true),
    put: async () => {
      if (++n === 100) await new Promise((resolve) => setTimeout(resolve, 500));
    },
  };
  const r = await phase(target, 4);
  t.equal(n, 100, '100 scheduled in 1 s at 100/s');
  t.equal(r.ops, 100, 'all of them counted');
  t.ok(r.latencyMs.max >= 490, `the late one's latency is in: max ${r.latencyMs.max} ms`);
  t.end();
});
