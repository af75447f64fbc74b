import t from 'tap';
import {
  DEFAULT_MAX_FORWARD_DRIFT_MS,
  HlcClockDriftError,
  HlcTimestampError,
  HybridClock,
  MAX_LOGICAL,
  compareTimestamps,
  type Timestamp,
} from '../../cluster/hlc.js';
import { Rng } from '../support/rng.js';

const ts = (physicalMs: number, logical: number, node: string): Timestamp => ({ physicalMs, logical, node });
const fmt = (x: Timestamp): string => `(${x.physicalMs},${x.logical},${x.node})`;

t.test('compareTimestamps: physical, then logical, then node id bytewise in UTF-8', (t) => {
  t.ok(compareTimestamps(ts(2, 0, 'a'), ts(1, 9, 'z')) > 0, 'physical first');
  t.ok(compareTimestamps(ts(1, 2, 'a'), ts(1, 1, 'z')) > 0, 'then logical');
  t.ok(compareTimestamps(ts(1, 1, 'n2'), ts(1, 1, 'n10')) > 0, 'then node id, bytewise (not numeric)');
  t.equal(compareTimestamps(ts(1, 1, 'n1'), ts(1, 1, 'n1')), 0);
  // UTF-16 order puts U+10000 (a surrogate pair, D800…) below U+FFFF; UTF-8 bytes (F0… vs EF…) do not.
  t.ok(compareTimestamps(ts(1, 1, '\uffff'), ts(1, 1, '\u{10000}')) < 0, 'UTF-8 byte order, as every node computes it');
  t.end();
});

t.test('a wall clock jumping backwards never yields a smaller timestamp', (t) => {
  let wall = 10_000_000;
  const clock = new HybridClock('n1', () => wall);
  const a = clock.now();
  t.same(a, ts(10_000_000, 0, 'n1'), 'follows the wall clock');
  t.same(clock.now(), ts(10_000_000, 1, 'n1'), 'same millisecond: logical counts up');
  wall -= 3_600_000; // NTP steps back an hour
  const b = clock.now();
  const c = clock.now();
  t.same(b, ts(10_000_000, 2, 'n1'), 'physical held, logical counts up');
  t.ok(compareTimestamps(c, b) > 0);
  wall = 10_000_001;
  t.same(clock.now(), ts(10_000_001, 0, 'n1'), 'rejoins the wall clock once it passes the last timestamp');
  t.end();
});

t.test('logical counter overflow moves to the next millisecond', (t) => {
  const wall = 5_000;
  const clock = new HybridClock('n1', () => wall);
  const r = clock.update(ts(5_000, MAX_LOGICAL, 'n2'));
  t.same(r, ts(5_001, 0, 'n1'), 'physical bumped, counter reset');
  t.ok(compareTimestamps(r, ts(5_000, MAX_LOGICAL, 'n2')) > 0);
  t.same(clock.now(), ts(5_001, 1, 'n1'), 'and stays ahead of the wall clock afterwards');
  t.end();
});

t.test('update refuses a remote timestamp too far ahead, and the clock stays as it was', (t) => {
  const wall = 10_000;
  const clock = new HybridClock('n1', () => wall, { maxForwardDriftMs: 500 });
  clock.now();
  const err = t.throws(() => clock.update(ts(10_501, 0, 'n2'))) as HlcClockDriftError;
  t.equal(err.code, 'HLC_CLOCK_DRIFT');
  t.ok(err instanceof HlcClockDriftError);
  t.match(err.message, /501 ms ahead/);
  t.same(clock.now(), ts(10_000, 1, 'n1'), 'not dragged forward');
  t.same(clock.update(ts(10_500, 3, 'n2')), ts(10_500, 4, 'n1'), 'exactly at the bound is accepted');
  t.equal(new HybridClock('n', () => 0).node, 'n');
  t.equal(DEFAULT_MAX_FORWARD_DRIFT_MS, 60_000);
  t.end();
});

t.test('malformed input gets HLC_BAD_TIMESTAMP', (t) => {
  const clock = new HybridClock('n1', () => 1);
  const bad: unknown[] = [null, 5, {}, ts(-1, 0, 'a'), ts(1.5, 0, 'a'), ts(1, -1, 'a'), ts(1, MAX_LOGICAL + 1, 'a'), ts(1, 0, ''), ts(1, 0, 'x'.repeat(256)), ts(2 ** 53, 0, 'a')];
  for (const b of bad) t.throws(() => clock.update(b as Timestamp), { code: 'HLC_BAD_TIMESTAMP' }, JSON.stringify(b));
  t.throws(() => new HybridClock('', () => 1), { code: 'HLC_BAD_TIMESTAMP' });
  t.throws(() => new HybridClock('n', () => 1, { maxForwardDriftMs: -1 }), { code: 'HLC_BAD_TIMESTAMP' });
  t.throws(() => new HybridClock('n', () => NaN).now(), HlcTimestampError, 'a broken wall clock is reported, not stored');
  t.same(clock.now(), ts(1, 0, 'n1'), 'refused input left the clock untouched');
  t.end();
});

/**
 * Several nodes with skewed, drifting and jumping wall clocks exchange messages over a network that
 * delays and reorders them. After every step: each node's timestamps strictly increase, a receive is
 * later than its send, and no timestamp runs ahead of the largest wall-clock reading seen so far.
 * At the end, all timestamps are distinct and compareTimestamps is a consistent total order over them.
 */
t.test('property: monotonic per node, happens-before preserved, total order, across clock skew', (t) => {
  let refused = 0;
  let receives = 0;
  for (let seed = 1; seed <= 40; seed++) {
    const rng = new Rng(seed);
    const nodes = 2 + rng.int(4);
    let trueTime = 1_700_000_000_000;
    let maxWall = 0;
    const offset = Array.from({ length: nodes }, () => rng.int(4_000) - 2_000);
    const clocks = offset.map((_, i) => {
      const wall = (): number => {
        const w = trueTime + offset[i]!;
        maxWall = Math.max(maxWall, w);
        return w;
      };
      return new HybridClock(`node-${i}`, wall, { maxForwardDriftMs: 30_000 });
    });
    const last: (Timestamp | undefined)[] = new Array<Timestamp | undefined>(nodes).fill(undefined);
    const inFlight: Timestamp[] = [];
    const all: Timestamp[] = [];
    let failure: string | undefined;
    const record = (i: number, x: Timestamp, what: string): void => {
      const prev = last[i];
      if (prev !== undefined && compareTimestamps(x, prev) <= 0) failure ??= `seed ${seed}: node ${i} ${what} ${fmt(x)} not after ${fmt(prev)}`;
      if (x.physicalMs > maxWall) failure ??= `seed ${seed}: ${fmt(x)} ahead of every wall clock (${maxWall})`;
      last[i] = x;
      all.push(x);
    };
    for (let step = 0; step < 1500 && failure === undefined; step++) {
      trueTime += rng.int(3); // often 0: many events share a millisecond
      const i = rng.int(nodes);
      const roll = rng.next();
      if (roll < 0.03) offset[i] = offset[i]! - rng.int(5_000); // the wall clock jumps back (NTP step)
      else if (roll < 0.06) offset[i] = offset[i]! + rng.int(50); // or drifts forward
      else if (roll < 0.4) record(i, clocks[i]!.now(), 'local event');
      else if (roll < 0.7) {
        const sent = clocks[i]!.now();
        record(i, sent, 'send');
        inFlight.push(sent);
      } else if (inFlight.length > 0) {
        const sent = inFlight.splice(rng.int(inFlight.length), 1)[0]!; // any message: reordering
        const ahead = sent.physicalMs - (trueTime + offset[i]!);
        let received: Timestamp;
        try {
          received = clocks[i]!.update(sent);
        } catch (err) {
          if (!(err instanceof HlcClockDriftError) || ahead <= 30_000) throw err;
          refused++; // too far ahead of this node's clock: refused, the message is dropped
          continue;
        }
        if (ahead > 30_000) failure ??= `seed ${seed}: accepted a timestamp ${ahead} ms ahead`;
        if (compareTimestamps(received, sent) <= 0) failure ??= `seed ${seed}: receive ${fmt(received)} not after send ${fmt(sent)}`;
        record(i, received, 'receive');
        receives++;
      }
    }
    if (failure !== undefined) {
      t.fail(failure);
      continue;
    }
    const sorted = [...all].sort(compareTimestamps);
    let orderOk = true;
    for (let k = 1; k < sorted.length; k++) if (compareTimestamps(sorted[k - 1]!, sorted[k]!) >= 0) orderOk = false;
    for (let k = 0; k < 300; k++) {
      const a = all[rng.int(all.length)]!;
      const b = all[rng.int(all.length)]!;
      if (Math.sign(compareTimestamps(a, b)) !== -Math.sign(compareTimestamps(b, a))) orderOk = false;
    }
    if (!orderOk) t.fail(`seed ${seed}: not a strict total order over ${all.length} timestamps`);
  }
  t.ok(receives > 10_000, `${receives} messages received`);
  t.pass(`40 seeds × 1500 steps: every invariant held (${refused} messages refused for drift)`);
  t.end();
});
