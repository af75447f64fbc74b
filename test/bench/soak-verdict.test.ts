/** The soak verdict (bench/lib/soak-verdict.ts): flat series pass, a leak does not, restarts are left out. */
import t from 'tap';
import { BOUNDS, judge, steadyPoints, warmupSeconds } from '../../bench/lib/soak-verdict.js';
import type { Point } from '../../bench/lib/soak-verdict.js';

const MiB = 1024 * 1024;
const bound = (m: string) => BOUNDS.find((b) => b.metric === m)!;
const series = (f: (s: number) => number, seconds = 400, every = 5): Point[] => Array.from({ length: seconds / every }, (_, i) => ({ t: i * every, v: f(i * every) }));

t.test('a wandering RSS is flat; a leak of a few MiB a minute is not', (t) => {
  const wandering = series((s) => 250 * MiB + (Math.floor(s / 40) % 2) * 30 * MiB);
  t.equal(judge(wandering, bound('rss')).flat, true);
  const leak = series((s) => 250 * MiB + (s / 60) * 20 * MiB);
  const v = judge(leak, bound('rss'));
  t.equal(v.flat, false);
  t.match(v.reason, /growth .*MiB > 64\.0 MiB/);
  t.end();
});

t.test('file descriptors: a step of +5 is flat, one per minute over ten minutes is not; a fall is always flat', (t) => {
  t.equal(judge(series((s) => 60 + (s > 200 ? 5 : 0)), bound('fds')).flat, true);
  t.equal(judge(series((s) => 60 + Math.floor(s / 60) * 2, 600), bound('fds')).flat, false);
  t.equal(judge(series((s) => 100 - s / 10), bound('fds')).flat, true);
  t.end();
});

t.test('too few samples give no verdict; warm-up and restart windows are left out', (t) => {
  t.equal(judge(series((s) => s, 15), bound('disk')).flat, undefined);
  t.equal(warmupSeconds(600), 180);
  t.equal(warmupSeconds(120), 40);
  const pts = series((s) => s);
  const kept = steadyPoints(pts, 100, [[200, 230]]);
  t.ok(kept.every((p) => p.t >= 100 && (p.t < 200 || p.t >= 230)));
  t.equal(kept.length, pts.filter((p) => p.t >= 100).length - 6);
  t.end();
});
