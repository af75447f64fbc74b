import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import t, { type Test } from 'tap';
import { CorruptionError, IOError, LockedError } from '../../lsm/errors.js';
import { NodeFileSystem } from '../../lsm/node-fs.js';

function tempDir(t: Test): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mds-nodefs-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

const b = (s: string): Buffer => Buffer.from(s);
const nfs = new NodeFileSystem();

t.test('append, fdatasync, close, then read back whole and at offsets', async (t) => {
  const dir = tempDir(t);
  const p = path.join(dir, '000001.log');
  const f = await nfs.openWritable(p);
  await f.append(b('hello '));
  await Promise.all([f.append(b('wor')), f.append(b('ld'))]); // positions are taken in call order
  t.equal(f.size, 11);
  await f.sync();
  await f.close();
  await f.close(); // twice is harmless
  await t.rejects(f.append(b('x')), IOError, 'closed');
  t.equal((await nfs.readFile(p)).toString(), 'hello world');
  t.equal(await nfs.size(p), 11);
  const r = await nfs.openRandomAccess(p);
  t.equal(r.size, 11);
  t.equal((await r.read(6, 5)).toString(), 'world');
  t.equal(r.readSync(0, 5).toString(), 'hello');
  await t.rejects(r.read(8, 5), CorruptionError, 'a short read is corruption');
  t.throws(() => r.readSync(10, 2), CorruptionError);
  await r.close();
});

t.test('a large append is written completely', async (t) => {
  const dir = tempDir(t);
  const p = path.join(dir, 'big');
  const data = Buffer.alloc(8 << 20);
  for (let i = 0; i < data.length; i += 4096) data[i] = i & 0xff;
  const f = await nfs.openWritable(p);
  await f.append(data);
  await f.sync();
  await f.close();
  t.ok((await nfs.readFile(p)).equals(data));
});

t.test('directory operations: list, exists, rename, remove, mkdir, syncDir', async (t) => {
  const dir = tempDir(t);
  const sub = path.join(dir, 'a', 'b');
  await nfs.mkdir(sub);
  await nfs.mkdir(sub); // existing: fine
  const f = await nfs.openWritable(path.join(sub, 'CURRENT.tmp'));
  await f.append(b('MANIFEST-000001\n'));
  await f.sync();
  await f.close();
  await nfs.rename(path.join(sub, 'CURRENT.tmp'), path.join(sub, 'CURRENT'));
  await nfs.syncDir(sub);
  t.same(await nfs.list(sub), ['CURRENT']);
  t.ok(await nfs.exists(path.join(sub, 'CURRENT')));
  t.notOk(await nfs.exists(path.join(sub, 'CURRENT.tmp')));
  await nfs.remove(path.join(sub, 'CURRENT'));
  await nfs.remove(path.join(sub, 'CURRENT')); // missing: fine
  t.same(await nfs.list(sub), []);
  t.same(await nfs.list(path.join(dir, 'missing')), []);
});

t.test('OS errors become IOError naming the path, with the cause kept', async (t) => {
  const dir = tempDir(t);
  const missing = path.join(dir, 'nope');
  const err = (await nfs.readFile(missing).catch((e: unknown) => e)) as IOError;
  t.type(err, IOError);
  t.equal(err.code, 'LSM_IO');
  t.match(err.message, missing);
  t.equal((err.cause as NodeJS.ErrnoException).code, 'ENOENT');
  await t.rejects(nfs.openRandomAccess(missing), IOError);
  await t.rejects(nfs.openWritable(path.join(missing, 'x')), IOError);
  await t.rejects(nfs.rename(missing, path.join(dir, 'y')), IOError);
  await t.rejects(nfs.size(missing), IOError);
  await t.rejects(nfs.syncDir(missing), IOError);
});

t.test('lock: a second lock in the same process is refused until released', async (t) => {
  const dir = tempDir(t);
  const p = path.join(dir, 'LOCK');
  const lock = await nfs.lock(p);
  t.equal(fs.readFileSync(p, 'utf8').trim(), String(process.pid), 'LOCK holds our pid');
  await t.rejects(nfs.lock(p), LockedError);
  await t.rejects(new NodeFileSystem().lock(path.join(dir, '.', 'LOCK')), LockedError, 'another instance, another spelling');
  // Two concurrent attempts: exactly one fails.
  await lock.release();
  const results = await Promise.allSettled([nfs.lock(p), nfs.lock(p)]);
  t.same(results.map((r) => r.status).sort(), ['fulfilled', 'rejected']);
  for (const r of results) if (r.status === 'fulfilled') await r.value.release();
  const again = await nfs.lock(p);
  await again.release();
  await again.release(); // idempotent
  t.notOk(fs.existsSync(p), 'release removes the LOCK file');
});

t.test('lock: a LOCK left by a dead process is taken over', async (t) => {
  const dir = tempDir(t);
  const p = path.join(dir, 'LOCK');
  const child = spawnSync(process.execPath, ['-e', '']);
  t.equal(child.status, 0);
  fs.writeFileSync(p, `${child.pid}\n`);
  const lock = await nfs.lock(p);
  t.equal(fs.readFileSync(p, 'utf8').trim(), String(process.pid), 'now ours');
  await lock.release();
  fs.writeFileSync(p, ''); // a crash between creating and writing the LOCK
  const l2 = await nfs.lock(p);
  await l2.release();
});

t.test('lock: a LOCK held by another live process is refused', async (t) => {
  const dir = tempDir(t);
  const p = path.join(dir, 'LOCK');
  const child = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
  t.teardown(() => {
    child.kill('SIGKILL');
  });
  await new Promise((resolve) => child.once('spawn', resolve));
  fs.writeFileSync(p, `${child.pid}\n`);
  const err = (await nfs.lock(p).catch((e: unknown) => e)) as LockedError;
  t.type(err, LockedError);
  t.equal(err.code, 'LSM_LOCKED');
  t.match(err.message, String(child.pid));
  t.equal(fs.readFileSync(p, 'utf8').trim(), String(child.pid), 'the holder keeps its LOCK');
  child.kill('SIGKILL');
  await new Promise((resolve) => child.once('exit', resolve));
  const lock = await nfs.lock(p);
  await lock.release();
});
