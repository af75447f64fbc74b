import t from 'tap';
import { SyncPolicy } from '../../lsm/sync-policy.js';

t.test('fast syncs stay on the calling thread', (t) => {
  const p = new SyncPolicy(1, 4);
  for (let i = 0; i < 100; i++) {
    t.ok(p.inline(), `sync ${i} inline`);
    p.record(0.1);
  }
  t.notOk(p.pooled);
  t.end();
});

t.test('a slow disk moves syncs to the pool, and they come back when it is fast again', (t) => {
  const p = new SyncPolicy(1, 4);
  t.ok(p.inline());
  p.record(5); // one 5 ms fdatasync: the average is above 1 ms
  t.ok(p.pooled, 'pooled after a slow sync');
  const decisions: boolean[] = [];
  for (let i = 0; i < 5; i++) decisions.push(p.inline());
  t.same(decisions, [false, false, false, false, true], 'four syncs on the pool, then one inline attempt');
  p.record(0.2); // the disk is fast again
  t.notOk(p.pooled, 'back inline');
  t.ok(p.inline());
  t.end();
});

t.test('one slow sync among fast ones does not move a fast disk off the thread', (t) => {
  const p = new SyncPolicy(1, 4);
  for (let i = 0; i < 20; i++) {
    p.inline();
    p.record(0.1);
  }
  p.inline();
  p.record(2); // 0.1 + (2 - 0.1) / 16 = 0.22: still under 1 ms
  t.notOk(p.pooled);
  t.end();
});

t.test("a fast disk's rare slow syncs keep it on the calling thread", (t) => {
  // This machine's disk: fdatasync p50 0.4 ms, with a few of 2-4 ms in every thousand.
  const p = new SyncPolicy(1, 256);
  let pooled = 0;
  for (let i = 0; i < 5000; i++) {
    if (!p.inline()) pooled++;
    p.record(i % 250 === 249 ? 4 : 0.4);
  }
  t.equal(pooled, 0, 'no sync went to the pool');
  t.end();
});

t.test('a disk that turns slow moves to the pool within a few syncs', (t) => {
  const p = new SyncPolicy(1, 256);
  for (let i = 0; i < 100; i++) {
    p.inline();
    p.record(0.4);
  }
  let inlineSlow = 0;
  while (p.inline()) {
    p.record(5);
    inlineSlow++;
  }
  t.ok(inlineSlow <= 3, `${inlineSlow} slow syncs ran inline before the move`);
  t.end();
});
