/**
 * The engine's fast paths (issue 4) give the same answers as the slow ones: the skiplist's append
 * shortcut for keys past the last one, write batches inserted by byte ranges, and DBIterator.nextv()
 * pages against next() one by one — with flushes and tables in play.
 */
import t from 'tap';
import { KIND_DELETION, KIND_VALUE } from '../../lsm/dbformat.js';
import { DB, MemFileSystem, WriteBatch } from '../../lsm/index.js';
import { Memtable } from '../../lsm/memtable.js';

const key = (i: number): Buffer => Buffer.from(String(i).padStart(8, '0'));

t.test('memtable: appends in key order mixed with random inserts stay sorted and findable', (t) => {
  const mem = new Memtable();
  const latest = new Map<string, string>();
  let seq = 1;
  let x = 12345;
  for (let round = 0; round < 20; round++) {
    // A run in increasing order past every key so far (the append shortcut), then random keys.
    for (let i = 0; i < 50; i++) {
      const k = key(10_000 + round * 100 + i);
      mem.add(seq++, KIND_VALUE, k, Buffer.from(`a${round}`));
      latest.set(k.toString(), `a${round}`);
    }
    for (let i = 0; i < 50; i++) {
      x = (x * 1103515245 + 12345) % 2 ** 31;
      const k = key(x % 12_000);
      const del = x % 7 === 0;
      mem.add(seq++, del ? KIND_DELETION : KIND_VALUE, k, Buffer.from(`r${round}`));
      latest.set(k.toString(), del ? '' : `r${round}`);
    }
  }
  const it = mem.iterator();
  let prev: Buffer | undefined;
  let n = 0;
  for (it.seekToFirst(); it.valid(); it.next()) {
    const k = Buffer.from(it.key());
    if (prev !== undefined) t.ok(mem.comparator.compare(prev, k) < 0, `entry ${n} sorts after the one before`);
    prev = k;
    n++;
  }
  t.equal(n, seq - 1, 'every insert is in the list');
  for (const [k, v] of latest) {
    const r = mem.get(Buffer.from(k));
    if (v === '') t.same(r, { kind: 'deleted' }, `${k} deleted`);
    else t.equal(r?.kind === 'value' ? r.value.toString() : undefined, v, `${k} = ${v}`);
  }
  t.end();
});

t.test('DB: batches of puts and deletes read back through get, next() and nextv() alike', async (t) => {
  const db = await DB.open('/db', { fs: new MemFileSystem(), writeBufferSize: 16 << 10 });
  t.teardown(() => db.close());
  const model = new Map<string, string>();
  for (let b = 0; b < 30; b++) {
    const batch = new WriteBatch();
    for (let i = 0; i < 40; i++) {
      const k = key((b * 37 + i * 11) % 700);
      if ((b + i) % 9 === 0) {
        batch.del(k);
        model.delete(k.toString());
      } else {
        const v = `v${b}-${i}`.repeat(1 + (i % 3));
        batch.put(k, Buffer.from(v));
        model.set(k.toString(), v);
      }
    }
    await db.write(batch);
  }
  await db.waitForFlush();
  t.ok(db.stats().levelFiles.some((n) => n > 0), 'some data is in tables');
  for (const [k, v] of model) t.equal((await db.get(Buffer.from(k)))?.toString(), v, `get ${k}`);
  const expected = [...model.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));

  const oneByOne: string[][] = [];
  for await (const [k, v] of db.iterator()) oneByOne.push([k.toString(), v.toString()]);
  t.same(oneByOne, expected, 'next() yields the model in order');

  for (const size of [1, 7, 1000]) {
    const it = db.iterator({ gte: key(100), lt: key(600), limit: 150 });
    const paged: string[][] = [];
    for (let page = await it.nextv(size); page.length > 0; page = await it.nextv(size)) {
      t.ok(page.length <= size, `a page holds at most ${size}`);
      for (const [k, v] of page) paged.push([k.toString(), v.toString()]);
    }
    const want = expected.filter(([k]) => k >= key(100).toString() && k < key(600).toString()).slice(0, 150);
    t.same(paged, want, `nextv(${size}) pages give the range and limit in order`);
    t.same(await it.nextv(size), [], 'and nothing after the end');
  }
  await t.rejects(db.iterator().nextv(0), { code: 'LSM_INVALID_ARGUMENT' }, 'a page size below 1 is refused');
});
