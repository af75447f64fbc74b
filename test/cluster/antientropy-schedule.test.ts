/**
 * The pure parts of the anti-entropy service: RepairSchedule (due ranges, lag, cap, backoff, forgetting),
 * the token bucket, and the verified-ranges file (bytes of ANTIENTROPY.md's example, damage detection,
 * atomic save and reload on a MemFileSystem).
 */
import t from 'tap';
import { RepairSchedule } from '../../cluster/antientropy/schedule.js';
import { TokenBucket } from '../../cluster/antientropy/token-bucket.js';
import { decodeVerified, encodeVerified } from '../../cluster/antientropy/verified-format.js';
import { VerifiedStore } from '../../cluster/antientropy/verified-store.js';
import { MemFileSystem } from '../../lsm/index.js';

t.test('a partition is due for [verifiedThrough+1, E-2], most lagging first', (t) => {
  const s = new RepairSchedule(new Map([[1, 5], [2, 8]]));
  t.same(s.due(2, [0, 1, 2], 0), [], 'nothing is due before epoch 3');
  t.same(s.due(3, [0, 1, 2], 0), [{ partition: 0, from: 1, to: 1 }]);
  t.same(s.due(10, [0, 1, 2], 0), [
    { partition: 0, from: 1, to: 8 },
    { partition: 1, from: 6, to: 8 },
  ], 'partition 2 is verified through 8 = E-2 already');
  t.same(s.due(10, [0, 1, 2], 0, new Set([0])), [{ partition: 1, from: 6, to: 8 }], 'a partition in flight is left out');
  t.end();
});

t.test('a range is capped, and succeeded() moves the marker forward only', (t) => {
  const s = new RepairSchedule(new Map(), { maxEpochsPerRange: 100 });
  const [r] = s.due(1000, [4], 0);
  t.same(r, { partition: 4, from: 1, to: 100 });
  s.succeeded(r!);
  t.equal(s.verifiedThrough(4), 100);
  t.same(s.takeChanged(), new Map([[4, 100]]));
  t.equal(s.takeChanged(), undefined, 'unchanged since');
  s.succeeded({ partition: 4, from: 1, to: 50 });
  t.equal(s.verifiedThrough(4), 100, 'never backwards');
  t.same(s.due(1000, [4], 0), [{ partition: 4, from: 101, to: 200 }]);
  t.end();
});

t.test('a failed range backs off doubling to the cap; a success clears it', (t) => {
  const s = new RepairSchedule(new Map(), { retryBaseMs: 100, retryMaxMs: 350 });
  const r = { partition: 0, from: 1, to: 3 };
  t.equal(s.failed(r, 1000), 100);
  t.same(s.due(5, [0], 1099), []);
  t.equal(s.due(5, [0], 1100).length, 1);
  t.equal(s.failed(r, 2000), 200);
  t.equal(s.failed(r, 3000), 350, 'capped');
  t.equal(s.failing, 1);
  s.succeeded(r);
  t.equal(s.failing, 0);
  t.equal(s.due(6, [0], 3001)[0]?.from, 4);
  t.end();
});

t.test('a range whose peer tree moved, or whose peer was unreachable, is retried after the base delay, without doubling', (t) => {
  const s = new RepairSchedule(new Map(), { retryBaseMs: 100, retryMaxMs: 10_000 });
  const r = { partition: 0, from: 1, to: 3 };
  s.retrySoon(r, 1000);
  t.same(s.due(5, [0], 1099), [], 'waits the base delay');
  t.equal(s.due(5, [0], 1100).length, 1);
  s.retrySoon(r, 2000);
  t.equal(s.due(5, [0], 2100).length, 1, 'again only the base delay');
  t.equal(s.failed(r, 3000), 100, 'a later failure starts its doubling from the base');
  t.end();
});

t.test('a partition no longer replicated forgets its marker (everything is compared if it comes back)', (t) => {
  const s = new RepairSchedule(new Map([[1, 5], [2, 5]]));
  s.due(10, [2], 0);
  t.equal(s.verifiedThrough(1), 0);
  t.same(s.takeChanged(), new Map([[2, 5]]));
  t.same(s.due(10, [1, 2], 0)[0], { partition: 1, from: 1, to: 8 });
  t.end();
});

t.test('a late write sends the marker back below its epoch; one stored during a job stops that job\'s success short of it', (t) => {
  const s = new RepairSchedule(new Map([[0, 8], [1, 8]]));
  t.equal(s.stored(0, 9), false, 'epoch 9 is not verified yet: not late');
  t.equal(s.verifiedThrough(0), 8);
  t.equal(s.stored(0, 6), true, 'epoch 6 was verified: late');
  t.equal(s.verifiedThrough(0), 5);
  t.same(s.takeChanged(), new Map([[0, 5], [1, 8]]), 'the lowered marker is saved');
  t.same(s.due(12, [0, 1], 0)[0], { partition: 0, from: 6, to: 10 }, 'epoch 6 is due again, with the rest');

  // Partition 1's next range at committed epoch `at`, run as a job during which records of `epochs` are
  // stored: the range, and which of those records were late writes.
  const job = (at: number, epochs: number[]) => {
    const range = s.due(at, [0, 1], 0)[1]!;
    s.begin(range);
    const late = epochs.map((e) => s.stored(1, e));
    s.succeeded(range);
    s.end(1);
    return { range, late };
  };
  t.same(job(12, [11]), { range: { partition: 1, from: 9, to: 10 }, late: [false] }, 'a write of an epoch above the range');
  t.equal(s.verifiedThrough(1), 10, 'does not hold the job back');
  t.same(job(15, [12, 13]), { range: { partition: 1, from: 11, to: 13 }, late: [false, false] }, 'epochs 12 and 13 arrive while [11, 13] is being compared: not late yet');
  t.equal(s.verifiedThrough(1), 11, 'the job\'s tree may have missed them: verified only below epoch 12');
  t.same(job(15, [3]), { range: { partition: 1, from: 12, to: 13 }, late: [true] }, 'a late write below a job in flight');
  t.equal(s.verifiedThrough(1), 2, 'the job\'s success does not undo it');
  t.end();
});

t.test('bad schedule settings are typed errors', (t) => {
  for (const opts of [{ retryBaseMs: 0 }, { retryMaxMs: -1 }, { maxEpochsPerRange: 1.5 }]) {
    t.throws(() => new RepairSchedule(new Map(), opts), { code: 'ANTIENTROPY_BAD_ARGUMENT' });
  }
  t.throws(() => new TokenBucket(0), { code: 'ANTIENTROPY_BAD_ARGUMENT' });
  t.end();
});

t.test('the token bucket allows a second of burst, then the rate', (t) => {
  const b = new TokenBucket(1000);
  t.equal(b.charge(1000, 0), 0, 'the burst');
  t.equal(b.charge(500, 0), 500, 'then 500 bytes cost 500 ms');
  t.equal(b.charge(0, 500), 0, 'paid back after 500 ms');
  t.equal(b.charge(100, 500), 100);
  t.equal(b.charge(0, 10_000), 0);
  t.equal(b.charge(1000, 10_000), 0, 'idle time refills at most one second');
  t.equal(b.charge(1, 10_000), 1);
  t.end();
});

t.test('the verified-ranges file: the bytes of ANTIENTROPY.md, round trip, damage', (t) => {
  const bytes = encodeVerified(new Map([[9, 260], [3, 7], [5, 0]]));
  t.equal(Buffer.from(bytes).toString('hex'), '4d445654000100000002' + '000000030000000000000007' + '000000090000000000000104' + '542213e2', 'the worked example (a 0 marker is not written)');
  t.same(decodeVerified(bytes), new Map([[3, 7], [9, 260]]));
  t.same(decodeVerified(encodeVerified(new Map())), new Map());
  const damaged: [string, Uint8Array][] = [
    ['short', bytes.subarray(0, 8)],
    ['magic', Uint8Array.from(bytes, (b, i) => (i === 0 ? 0 : b))],
    ['version', Uint8Array.from(bytes, (b, i) => (i === 5 ? 2 : b))],
    ['count', Uint8Array.from(bytes, (b, i) => (i === 9 ? 3 : b))],
    ['a flipped bit', Uint8Array.from(bytes, (b, i) => (i === 20 ? b ^ 1 : b))],
    ['truncated', bytes.subarray(0, bytes.length - 1)],
  ];
  for (const [what, b] of damaged) t.throws(() => decodeVerified(b), { code: 'ANTIENTROPY_VERIFIED_CORRUPT', name: 'VerifiedFileCorruptError' }, what);
  t.end();
});

t.test('VerifiedStore saves atomically and reloads; a damaged file loads as nothing verified', async (t) => {
  const fs = new MemFileSystem();
  const store = new VerifiedStore(fs, '/d/antientropy');
  t.same((await store.load()).markers, new Map(), 'no file yet');
  await store.save(new Map([[1, 4], [2, 9]]));
  await store.save(new Map([[1, 5], [2, 9]]));
  t.same((await new VerifiedStore(fs, '/d/antientropy').load()).markers, new Map([[1, 5], [2, 9]]));
  t.same((await fs.list('/d/antientropy')).sort(), ['VERIFIED'], 'no temporary file left');
  const w = await fs.openWritable('/d/antientropy/VERIFIED');
  await w.append(Buffer.from('garbage!garbage!'));
  await w.close();
  const loaded = await store.load();
  t.same(loaded.markers, new Map());
  t.equal(loaded.corrupt?.code, 'ANTIENTROPY_VERIFIED_CORRUPT');
});
