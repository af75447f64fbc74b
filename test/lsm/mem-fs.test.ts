import t from 'tap';
import { CorruptionError, IOError, LockedError } from '../../lsm/errors.js';
import { MemFileSystem } from '../../lsm/mem-fs.js';

const b = (s: string): Buffer => Buffer.from(s);

async function setup(): Promise<MemFileSystem> {
  const fs = new MemFileSystem();
  await fs.mkdir('/db');
  return fs;
}

t.test('files read back what was appended', async (t) => {
  const fs = await setup();
  const f = await fs.openWritable('/db/a');
  await f.append(b('hello '));
  await f.append(b('world'));
  t.equal(f.size, 11);
  t.equal((await fs.readFile('/db/a')).toString(), 'hello world');
  t.equal(await fs.size('/db/a'), 11);
  const r = await fs.openRandomAccess('/db/a');
  t.equal(r.size, 11);
  t.equal((await r.read(6, 5)).toString(), 'world');
  t.equal(r.readSync(0, 5).toString(), 'hello');
  await t.rejects(r.read(8, 5), CorruptionError, 'a short read is corruption');
  t.same(await fs.list('/db'), ['a']);
  t.same(await fs.list('/nowhere'), []);
  t.ok(await fs.exists('/db/a'));
  t.notOk(await fs.exists('/db/b'));
  await t.rejects(fs.readFile('/db/b'), IOError);
  await t.rejects(fs.openWritable('/nodir/x'), IOError, 'no such directory');
  await fs.remove('/db/b'); // missing: fine
});

t.test('crash cuts every file back to its synced length', async (t) => {
  const fs = await setup();
  const f = await fs.openWritable('/db/log');
  await fs.syncDir('/db');
  await f.append(b('durable.'));
  await f.sync();
  await f.append(b('lost'));
  t.equal(fs.syncedSize('/db/log'), 8);
  fs.crash();
  t.equal((await fs.readFile('/db/log')).toString(), 'durable.');
  // Bytes dropped by the crash do not come back when the file grows again.
  fs.truncate('/db/log', 12);
  t.same([...(await fs.readFile('/db/log')).subarray(8)], [0, 0, 0, 0]);
});

t.test('crash undoes directory changes not followed by syncDir', async (t) => {
  const fs = await setup();
  const cur = await fs.openWritable('/db/CURRENT');
  await cur.append(b('MANIFEST-1'));
  await cur.sync();
  await fs.syncDir('/db');

  // An un-synced create vanishes even though its data was synced.
  const tmp = await fs.openWritable('/db/CURRENT.tmp');
  await tmp.append(b('MANIFEST-2'));
  await tmp.sync();
  await fs.rename('/db/CURRENT.tmp', '/db/CURRENT');
  t.equal((await fs.readFile('/db/CURRENT')).toString(), 'MANIFEST-2');
  await fs.remove('/db/other');
  fs.crash();
  t.equal((await fs.readFile('/db/CURRENT')).toString(), 'MANIFEST-1', 'the un-synced rename is undone');
  t.same(await fs.list('/db'), ['CURRENT'], 'the temp file is gone too');

  // With syncDir the rename survives.
  const tmp2 = await fs.openWritable('/db/CURRENT.tmp');
  await tmp2.append(b('MANIFEST-3'));
  await tmp2.sync();
  await fs.rename('/db/CURRENT.tmp', '/db/CURRENT');
  await fs.syncDir('/db');
  fs.crash();
  t.equal((await fs.readFile('/db/CURRENT')).toString(), 'MANIFEST-3');
  t.same(await fs.list('/db'), ['CURRENT']);
});

t.test('crash undoes an un-synced remove, and a synced rename of unsynced data keeps only synced bytes', async (t) => {
  const fs = await setup();
  const f = await fs.openWritable('/db/a');
  await f.append(b('abc'));
  await f.sync();
  await fs.syncDir('/db');
  await fs.remove('/db/a');
  t.notOk(await fs.exists('/db/a'));
  fs.crash();
  t.equal((await fs.readFile('/db/a')).toString(), 'abc', 'the removal was not durable');

  const g = await fs.openWritable('/db/g');
  await g.append(b('xyz'));
  await fs.rename('/db/g', '/db/h');
  await fs.syncDir('/db');
  fs.crash();
  t.equal((await fs.readFile('/db/h')).toString(), '', 'the name survived, the unsynced data did not');
});

t.test('re-creating a file over an old one: the old contents return after a crash without syncDir', async (t) => {
  const fs = await setup();
  const f = await fs.openWritable('/db/x');
  await f.append(b('old'));
  await f.sync();
  await fs.syncDir('/db');
  const g = await fs.openWritable('/db/x');
  await g.append(b('new'));
  await g.sync();
  t.equal((await fs.readFile('/db/x')).toString(), 'new');
  fs.crash();
  t.equal((await fs.readFile('/db/x')).toString(), 'old');
});

t.test('handles from before a crash fail; locks are freed by it', async (t) => {
  const fs = await setup();
  const f = await fs.openWritable('/db/a');
  await fs.syncDir('/db');
  const lock = await fs.lock('/db/LOCK');
  await t.rejects(fs.lock('/db/LOCK'), LockedError, 'held within the instance');
  fs.crash();
  await t.rejects(f.append(b('x')), IOError, 'a pre-crash handle');
  const again = await fs.lock('/db/LOCK');
  await lock.release(); // a stale release must not free the new holder's lock
  await t.rejects(fs.lock('/db/LOCK'), LockedError);
  await again.release();
  const third = await fs.lock('/db/LOCK');
  await third.release();
});

t.test('corrupt() flips a byte and truncate() cuts a file', async (t) => {
  const fs = await setup();
  const f = await fs.openWritable('/db/t');
  await f.append(b('abcdef'));
  fs.corrupt('/db/t', 2);
  const got = await fs.readFile('/db/t');
  t.equal(got[2], 'c'.charCodeAt(0) ^ 0xff);
  t.equal(got.toString('latin1', 3), 'def');
  t.throws(() => fs.corrupt('/db/t', 6), IOError);
  fs.truncate('/db/t', 4);
  t.equal(await fs.size('/db/t'), 4);
  await f.append(b('Z'));
  t.equal((await fs.readFile('/db/t')).toString('latin1', 3), 'dZ', 'appends continue at the new end');
});

t.test('closed files refuse appends; directories list their subdirectories', async (t) => {
  const fs = await setup();
  const f = await fs.openWritable('/db/a');
  await f.close();
  await t.rejects(f.append(b('x')), IOError);
  await fs.mkdir('/db/sub/deeper');
  t.same(await fs.list('/db'), ['a', 'sub']);
  t.ok(await fs.exists('/db/sub'));
  await t.rejects(fs.syncDir('/missing'), IOError);
});
