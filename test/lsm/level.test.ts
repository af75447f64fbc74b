/**
 * What a user of the abstract-level adapter cares about beyond abstract-level's shared suite
 * (level-suite.test.ts): data survives a reopen, a second open of the same directory is refused with
 * the code classic-level uses, encodings round-trip, engine errors carry LEVEL_* codes.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import t from 'tap';
import { DB, LsmLevel, type WriteOptions } from '../../lsm/index.js';

type Tap = Parameters<Parameters<typeof t.test>[0]>[0];

function tmpDir(t: Tap): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mds-level-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** The error a promise rejects with (fails the test if it resolves). */
async function rejection(t: Tap, p: Promise<unknown>): Promise<{ code?: unknown; message?: unknown; cause?: { code?: unknown; message?: unknown } }> {
  try {
    await p;
  } catch (err) {
    return err as { code?: unknown; cause?: { code?: unknown } };
  }
  t.fail('expected a rejection');
  return {};
}

t.test('data written through the adapter survives close and reopen (memtable and tables)', async (t) => {
  const dir = tmpDir(t);
  const db = new LsmLevel(dir, { writeBufferSize: 4096 });
  await db.put('a', '1', { sync: true });
  await db.batch([
    { type: 'put', key: 'b', value: '2' },
    { type: 'put', key: 'c', value: '3' },
    { type: 'del', key: 'a' },
  ]);
  // Enough to fill several memtables: these land in tables.
  const ops = [];
  for (let i = 0; i < 500; i++) ops.push({ type: 'put' as const, key: `k${String(i).padStart(4, '0')}`, value: 'x'.repeat(50) });
  await db.batch(ops, { sync: true });
  await db.del('k0007');
  await db.close();

  const again = new LsmLevel(dir);
  t.equal(await again.get('a'), undefined, 'deleted key stays deleted (get of a missing key resolves undefined)');
  t.same(await again.getMany(['b', 'c', 'k0000', 'k0007', 'k0499']), ['2', '3', 'x'.repeat(50), undefined, 'x'.repeat(50)]);
  const keys = await again.keys({ gte: 'k', lt: 'l' }).all();
  t.equal(keys.length, 499);
  t.equal(keys[0], 'k0000');
  t.equal(keys[498], 'k0499');
  await again.close();
});

t.test('a second open of the same location fails with LEVEL_LOCKED (as classic-level)', async (t) => {
  const dir = tmpDir(t);
  const first = new LsmLevel(dir);
  await first.open();
  const second = new LsmLevel(dir);
  const err = await rejection(t, second.open());
  t.equal(err.code, 'LEVEL_DATABASE_NOT_OPEN');
  t.equal(err.cause?.code, 'LEVEL_LOCKED');
  t.equal(second.status, 'closed');
  await first.put('k', 'v');
  await first.close();
  // Once the first has closed, the second can open and sees its data.
  await second.open();
  t.equal(await second.get('k'), 'v');
  await second.close();
});

t.test('utf8 and json encodings round-trip, also through iterators and after reopen', async (t) => {
  const dir = tmpDir(t);
  const text = 'grüße, 日本語, emoji 🎉';
  const doc = { n: 1, s: text, list: [true, null, { x: 2.5 }] };
  const db = new LsmLevel<string, unknown>(dir, { valueEncoding: 'json' });
  await db.put(text, doc);
  await db.put('plain', 'a string', { valueEncoding: 'utf8' });
  t.same(await db.get(text), doc);
  t.equal(await db.get('plain', { valueEncoding: 'utf8' }), 'a string');
  t.same(await db.iterator({ gte: text, lte: text }).all(), [[text, doc]]);
  const raw = await db.get(text, { valueEncoding: 'buffer' });
  t.ok(Buffer.isBuffer(raw));
  t.same(JSON.parse(String(raw)), doc, 'stored as the JSON text in UTF-8');
  await db.close();

  const utf8 = new LsmLevel(dir); // default: utf8 keys and values
  t.equal(await utf8.get(text), JSON.stringify(doc));
  t.same(await utf8.keys().all(), [text, 'plain'], 'bytewise order');
  await utf8.close();
});

t.test('open errors: createIfMissing, errorIfExists, corruption', async (t) => {
  const dir = tmpDir(t);
  const missing = new LsmLevel(path.join(dir, 'none'), { createIfMissing: false });
  const e1 = await rejection(t, missing.open());
  t.equal(e1.code, 'LEVEL_DATABASE_NOT_OPEN');
  t.match(String(e1.cause?.message), /does not exist/);

  const db = new LsmLevel(path.join(dir, 'db'));
  await db.put('k', 'v');
  await db.close();
  const e2 = await rejection(t, db.open({ errorIfExists: true }));
  t.equal(e2.code, 'LEVEL_DATABASE_NOT_OPEN');
  t.match(String(e2.cause?.message), /exists/);

  // Engine options are forwarded to the engine, which checks them.
  const e4 = await rejection(t, new LsmLevel(path.join(dir, 'bad'), { writeBufferSize: 10 }).open());
  t.equal(e4.code, 'LEVEL_DATABASE_NOT_OPEN');
  t.equal(e4.cause?.code, 'LSM_INVALID_ARGUMENT');
  t.match(String(e4.cause?.message), /writeBufferSize/);

  // A MANIFEST that fails its checksums is corruption, reported with the Level code.
  const names = fs.readdirSync(path.join(dir, 'db'));
  const manifest = names.find((n) => n.startsWith('MANIFEST'));
  if (manifest === undefined) throw new Error(`no MANIFEST among ${names.join(', ')}`);
  const p = path.join(dir, 'db', manifest);
  const bytes = fs.readFileSync(p);
  for (let i = 0; i < bytes.length; i++) bytes[i] = bytes[i]! ^ 0x5a;
  fs.writeFileSync(p, bytes);
  const e3 = await rejection(t, db.open());
  t.equal(e3.code, 'LEVEL_DATABASE_NOT_OPEN');
  t.equal(e3.cause?.code, 'LEVEL_CORRUPTION');
});

t.test('iterators read the state of their creation; seek() after the end reads again', async (t) => {
  const dir = tmpDir(t);
  const db = new LsmLevel(dir, { writeBufferSize: 1024 });
  await db.batch(['a', 'b', 'c'].map((k) => ({ type: 'put' as const, key: k, value: k })));
  const it = db.iterator();
  // Writes after creation, enough to flush a memtable or two: the iterator must not see them.
  await db.batch(Array.from({ length: 100 }, (_, i) => ({ type: 'put' as const, key: `b${i}`, value: 'y'.repeat(40) })));
  await db.del('c');
  t.same(await it.all(), [['a', 'a'], ['b', 'b'], ['c', 'c']]);

  const keys = db.keys({ lt: 'b0' });
  t.same(await keys.nextv(10), ['a', 'b']);
  t.same(await keys.nextv(10), [], 'end');
  keys.seek('a');
  t.same(await keys.nextv(10), ['a', 'b'], 'seek after the end starts over on the same snapshot');
  await keys.close();
  await db.close();
});

t.test('{ sync: true } on put, del, batch and chained batch reaches the engine', async (t) => {
  const seen: string[] = [];
  const proto = DB.prototype;
  // Unbound on purpose: the spies below call them with .call(this), and teardown puts them back.
  // eslint-disable-next-line @typescript-eslint/unbound-method
  const { put, del, write } = proto;
  const note = (what: string, o: WriteOptions | undefined): void => {
    seen.push(`${what}:${o?.sync === true ? 'sync' : 'nosync'}`);
  };
  proto.put = function (this: DB, k, v, o) {
    note('put', o);
    return put.call(this, k, v, o);
  };
  proto.del = function (this: DB, k, o) {
    note('del', o);
    return del.call(this, k, o);
  };
  proto.write = function (this: DB, b, o) {
    note('write', o);
    return write.call(this, b, o);
  };
  t.teardown(() => Object.assign(proto, { put, del, write }));

  const db = new LsmLevel(tmpDir(t));
  await db.put('a', '1', { sync: true });
  await db.put('a', '2');
  await db.del('a', { sync: true });
  await db.batch([{ type: 'put', key: 'b', value: '1' }], { sync: true });
  await db.batch().put('c', '1').write({ sync: true });
  await db.batch().del('c').write();
  await db.close();
  t.same(seen, ['put:sync', 'put:nosync', 'del:sync', 'write:sync', 'write:sync', 'write:nosync']);
});
