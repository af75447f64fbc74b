import t from 'tap';
import { LRUCache } from '../../lsm/cache.js';

t.test('evicts least recently used entries by charge', (t) => {
  const evicted: string[] = [];
  const c = new LRUCache<string>(100, { onEvict: (v) => evicted.push(v) });
  c.insert(1, 0, 'a', 40);
  c.insert(1, 10, 'b', 40);
  t.equal(c.usage, 80);
  t.equal(c.get(1, 0), 'a', 'touch a: b is now the oldest');
  c.insert(2, 0, 'c', 40);
  t.same(evicted, ['b']);
  t.equal(c.get(1, 10), undefined);
  t.equal(c.usage, 80);
  t.equal(c.size, 2);
  c.insert(2, 5, 'big', 90);
  t.same(evicted, ['b', 'a', 'c'], 'one big entry pushes out several');
  t.equal(c.usage, 90);
  c.insert(3, 0, 'huge', 500);
  t.same(evicted, ['b', 'a', 'c', 'big', 'huge'], 'an entry above capacity is not kept');
  t.equal(c.usage, 0);
  const s = c.stats();
  t.equal(s.hits, 1);
  t.equal(s.misses, 1);
  t.equal(s.inserts, 5);
  t.equal(s.evictions, 5);
  t.end();
});

t.test('namespaces keep equal keys apart; newId() never collides with caller ids', (t) => {
  const c = new LRUCache<string>(10);
  c.insert(7, 100, 'file7');
  c.insert(8, 100, 'file8');
  t.equal(c.get(7, 100), 'file7');
  t.equal(c.get(8, 100), 'file8');
  const a = c.newId();
  const b = c.newId();
  t.not(a, b);
  t.ok(a < 0 && b < 0);
  t.end();
});

t.test('insert replaces, erase and eraseNamespace remove, onEvict each time', (t) => {
  const evicted: string[] = [];
  const c = new LRUCache<string>(100, { onEvict: (v) => evicted.push(v) });
  c.insert(1, 1, 'x', 10);
  c.insert(1, 1, 'y', 20);
  t.same(evicted, ['x']);
  t.equal(c.usage, 20);
  t.equal(c.get(1, 1), 'y');
  t.ok(c.erase(1, 1));
  t.notOk(c.erase(1, 1));
  t.same(evicted, ['x', 'y']);
  for (let i = 0; i < 5; i++) c.insert(2, i, `n2.${i}`, 1);
  c.insert(3, 0, 'n3', 1);
  t.equal(c.eraseNamespace(2), 5);
  t.equal(c.size, 1);
  t.equal(c.get(3, 0), 'n3');
  c.clear();
  t.equal(c.size, 0);
  t.equal(c.usage, 0);
  t.equal(evicted.length, 2 + 5 + 1);
  t.end();
});

t.test('pinned entries are not evicted; onEvict waits for the last release', (t) => {
  const evicted: string[] = [];
  const c = new LRUCache<string>(2, { onEvict: (v) => evicted.push(v) });
  const h = c.insertAndAcquire(0, 1, 'table1');
  c.insert(0, 2, 'table2');
  c.insert(0, 3, 'table3');
  t.same(evicted, ['table2'], 'the pinned entry is skipped');
  t.equal(c.get(0, 1), 'table1');
  const h2 = c.acquire(0, 1);
  t.ok(h2);
  c.erase(0, 1);
  t.equal(c.get(0, 1), undefined, 'erased: no longer found');
  t.same(evicted, ['table2'], 'but not evicted while pinned');
  c.release(h);
  t.same(evicted, ['table2']);
  c.release(h2!);
  t.same(evicted, ['table2', 'table1'], 'evicted at the last release');
  t.throws(() => c.release(h2!), 'double release');

  // Pinned entries may hold the cache over capacity; releasing one while cached puts it back on the
  // LRU list, and the eviction it triggers takes the oldest unpinned entry.
  const ev: string[] = [];
  const d = new LRUCache<string>(1, { onEvict: (v) => ev.push(v) });
  const ha = d.insertAndAcquire(0, 1, 'a');
  const hb = d.insertAndAcquire(0, 2, 'b');
  t.equal(d.usage, 2, 'over capacity while pinned');
  t.same(ev, []);
  d.release(ha);
  t.same(ev, ['a'], 'released entry is the only evictable one');
  t.equal(d.get(0, 2), 'b');
  d.release(hb);
  t.same(ev, ['a'], 'b fits the capacity');
  t.equal(d.get(0, 2), 'b');
  t.end();
});

t.test('capacity changes and bad arguments', (t) => {
  const c = new LRUCache<number>(10);
  for (let i = 0; i < 10; i++) c.insert(0, i, i);
  c.setCapacity(3);
  t.equal(c.size, 3);
  t.same([c.get(0, 7), c.get(0, 8), c.get(0, 9)], [7, 8, 9]);
  t.throws(() => new LRUCache(-1));
  t.throws(() => c.insert(0, 0, 0, -5));
  t.end();
});

t.test('O(1) operations: 200k inserts and gets stay fast', (t) => {
  const c = new LRUCache<number>(50_000);
  const start = performance.now();
  for (let i = 0; i < 200_000; i++) {
    c.insert(i & 7, i, i, 1);
    c.get(i & 7, i - 1000);
  }
  const ms = performance.now() - start;
  t.equal(c.size, 50_000);
  t.ok(ms < 2000, `${ms.toFixed(0)} ms`);
  t.end();
});
