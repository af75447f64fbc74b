import { mkdtemp, rm } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isDeepStrictEqual } from 'node:util';
import t from 'tap';
import { DB, MemFileSystem, WriteBatch } from '../../lsm/index.js';
import { RaftStorage } from '../../cluster/raft/storage.js';
import {
  HARD_STATE_KEY,
  META_KEY,
  SNAPSHOT_KEY,
  encodeEntry,
  encodeHardState,
  encodeMeta,
  encodeSnapshot,
  entryKey,
} from '../../cluster/raft/storage-format.js';
import type { Entry, Snapshot } from '../../cluster/raft/types.js';
import { Rng } from '../support/rng.js';

const DIR = '/raft';
const ent = (index: number, term: number, data = `e${index}t${term}`, type: Entry['type'] = 'normal'): Entry => ({
  index,
  term,
  type,
  data: Uint8Array.from(Buffer.from(data)),
});
const range = (from: number, to: number, term: number): Entry[] => Array.from({ length: to - from + 1 }, (_, i) => ent(from + i, term));
const snap = (index: number, term: number, data = 'state'): Snapshot => ({
  index,
  term,
  conf: { voters: ['n1', 'n2', 'n3'], learners: ['n4'] },
  data: Uint8Array.from(Buffer.from(data)),
});
const indexes = (s: RaftStorage): number[] => s.load().entries.map((e) => e.index);

async function reopen(fs: MemFileSystem, s?: RaftStorage): Promise<RaftStorage> {
  await s?.close();
  return RaftStorage.open(DIR, { fs });
}

t.test('persist then reopen gives back the hard state and entries, conf entries included', async (t) => {
  const fs = new MemFileSystem();
  let s = await RaftStorage.open(DIR, { fs });
  t.same(s.load(), { hardState: { term: 0, vote: '', commit: 0 }, entries: [] }, 'a new store is empty');
  const entries = [ent(1, 1, ''), ent(2, 1, 'conf!', 'conf'), ent(3, 2)];
  await s.persist({ hardState: { term: 2, vote: 'nœud-1', commit: 2 }, entries });
  await s.persist({ hardState: { term: 2, vote: 'nœud-1', commit: 3 }, entries: [] });
  s = await reopen(fs, s);
  t.same(s.load(), { hardState: { term: 2, vote: 'nœud-1', commit: 3 }, entries });
  t.equal(s.firstIndex(), 1);
  t.equal(s.lastIndex(), 3);
  await s.close();
});

t.test('entries at index i overwrite the stored suffix from i on', async (t) => {
  const fs = new MemFileSystem();
  let s = await RaftStorage.open(DIR, { fs });
  await s.persist({ entries: range(1, 6, 1) });
  await s.persist({ entries: range(3, 4, 2) });
  t.same(indexes(s), [1, 2, 3, 4]);
  s = await reopen(fs, s);
  t.same(s.load().entries, [...range(1, 2, 1), ...range(3, 4, 2)], 'entries 5 and 6 of the old term are gone from disk too');
  await s.persist({ entries: range(5, 5, 3) });
  s = await reopen(fs, s);
  t.same(indexes(s), [1, 2, 3, 4, 5]);
  await s.close();
});

t.test('compaction stores the snapshot and drops the entries it covers', async (t) => {
  const fs = new MemFileSystem();
  let s = await RaftStorage.open(DIR, { fs });
  await s.persist({ hardState: { term: 2, vote: 'n1', commit: 5 }, entries: [...range(1, 3, 1), ...range(4, 6, 2)] });
  await s.compact(snap(4, 2));
  await s.compact(snap(2, 1)); // older: a no-op
  s = await reopen(fs, s);
  t.same(s.load().snapshot, snap(4, 2));
  t.same(indexes(s), [5, 6]);
  t.equal(s.firstIndex(), 5);
  await t.rejects(s.compact(snap(5, 1)), { code: 'RAFT_STORAGE_BAD_WRITE' }, 'term must match the entry');
  await t.rejects(s.compact(snap(9, 2)), { code: 'RAFT_STORAGE_BAD_WRITE' }, 'cannot compact past the log');
  await s.compact(snap(6, 2));
  s = await reopen(fs, s);
  t.same(s.load(), { hardState: { term: 2, vote: 'n1', commit: 5 }, snapshot: snap(6, 2), entries: [] });
  await s.persist({ entries: range(7, 8, 3) });
  s = await reopen(fs, s);
  t.same(indexes(s), [7, 8], 'the log continues after the snapshot');
  await s.close();
});

t.test("a leader's snapshot keeps the log after it only when the log agrees at its index", async (t) => {
  const fs = new MemFileSystem();
  let s = await RaftStorage.open(DIR, { fs });
  await s.persist({ entries: range(1, 6, 1) });
  await s.persist({ snapshot: snap(4, 1), hardState: { term: 1, vote: '', commit: 4 }, entries: [] });
  s = await reopen(fs, s);
  t.same(indexes(s), [5, 6], 'matching term: the suffix is kept');
  await s.persist({ snapshot: snap(5, 3), hardState: { term: 3, vote: '', commit: 5 }, entries: [] });
  s = await reopen(fs, s);
  t.same(s.load(), { hardState: { term: 3, vote: '', commit: 5 }, snapshot: snap(5, 3), entries: [] }, 'other term: the whole log goes');
  await s.persist({ snapshot: snap(20, 3), entries: [ent(19, 3), ent(20, 3), ent(21, 3)] });
  t.same(indexes(s), [21], 'a snapshot past the log; entries it covers are dropped');
  s = await reopen(fs, s);
  t.same(indexes(s), [21]);
  t.equal(s.load().snapshot?.index, 20);
  await s.close();
});

t.test('writes that would break the log are refused and write nothing', async (t) => {
  const fs = new MemFileSystem();
  let s = await RaftStorage.open(DIR, { fs });
  await s.persist({ hardState: { term: 2, vote: 'n1', commit: 1 }, entries: range(1, 3, 2) });
  const before = s.load();
  await t.rejects(s.persist({ entries: range(5, 6, 2) }), { code: 'RAFT_STORAGE_BAD_WRITE', message: /gap/ });
  await t.rejects(s.persist({ entries: [ent(4, 2), ent(6, 2)] }), { code: 'RAFT_STORAGE_BAD_WRITE', message: /contiguous/ });
  await t.rejects(s.persist({ entries: [ent(4, 1)] }), { code: 'RAFT_STORAGE_BAD_WRITE', message: /term/ });
  await t.rejects(s.persist({ hardState: { term: 2, vote: 'n1', commit: 9 }, entries: [ent(4, 2)] }), { code: 'RAFT_STORAGE_BAD_WRITE', message: /commit/ });
  t.same(s.load(), before);
  s = await reopen(fs, s);
  t.same(s.load(), before);
  await s.close();
  await t.rejects(s.persist({ entries: [ent(4, 2)] }), { code: 'RAFT_STORAGE_CLOSED' });
});

t.test('a crash keeps every write persist() resolved, and a torn one is all or nothing', async (t) => {
  const fs = new MemFileSystem();
  let s = await RaftStorage.open(DIR, { fs });
  await s.persist({ hardState: { term: 1, vote: 'n2', commit: 0 }, entries: range(1, 50, 1) });
  await s.compact(snap(10, 1));
  await s.persist({ hardState: { term: 2, vote: 'n3', commit: 30 }, entries: range(40, 60, 2) });
  const resolved = s.load();
  const inFlight = s.persist({ hardState: { term: 3, vote: 'n1', commit: 60 }, entries: range(61, 70, 3) });
  inFlight.catch(() => undefined);
  fs.crash();
  s = await RaftStorage.open(DIR, { fs });
  const after = s.load();
  const applied = { ...resolved, hardState: { term: 3, vote: 'n1', commit: 60 }, entries: [...resolved.entries, ...range(61, 70, 3)] };
  const same = (a: unknown, b: unknown): boolean => isDeepStrictEqual(a, b);
  t.ok(same(after, resolved) || same(after, applied), 'the in-flight batch is all or nothing');
  t.equal(after.snapshot?.index, 10);
  t.same(after.entries.slice(0, 50), resolved.entries, 'every resolved write survived');
  await s.close();
});

t.test('recovery refuses inconsistent state with typed errors', async (t) => {
  async function tampered(edit: (b: WriteBatch) => void): Promise<unknown> {
    const fs = new MemFileSystem();
    const s = await RaftStorage.open(DIR, { fs });
    await s.persist({ hardState: { term: 1, vote: '', commit: 2 }, entries: range(1, 5, 1) });
    await s.close();
    const db = await DB.open(DIR, { fs });
    const b = new WriteBatch();
    edit(b);
    await db.write(b, { sync: true });
    await db.close();
    return RaftStorage.open(DIR, { fs }).then(
      async (ok) => {
        await ok.close();
        return undefined;
      },
      (err: unknown) => err,
    );
  }
  t.match(await tampered((b) => b.del(entryKey(3))), { code: 'RAFT_STORAGE_CORRUPT', message: /gap in the log: entry 4 follows 2/ });
  t.match(await tampered((b) => b.del(entryKey(1))), { code: 'RAFT_STORAGE_CORRUPT', message: /gap/ }, 'the log must start at 1 without a snapshot');
  t.match(await tampered((b) => b.put(entryKey(4), encodeEntry(ent(4, 0)))), { code: 'RAFT_STORAGE_CORRUPT', message: /term/ });
  t.match(await tampered((b) => b.put(entryKey(2), Buffer.of(1, 2, 3))), { code: 'RAFT_STORAGE_CORRUPT', message: /key 65/ });
  t.match(await tampered((b) => b.put(HARD_STATE_KEY, Buffer.alloc(30))), { code: 'RAFT_STORAGE_CORRUPT', message: /trailing/ });
  t.match(await tampered((b) => b.put(SNAPSHOT_KEY, Buffer.alloc(5))), { code: 'RAFT_STORAGE_CORRUPT' });
  t.match(await tampered((b) => b.del(entryKey(5)).del(entryKey(4)).del(entryKey(3)).del(entryKey(2))), { code: 'RAFT_STORAGE_CORRUPT', message: /commit 2 beyond/ });
  t.match(await tampered((b) => b.put(Buffer.from('zz'), Buffer.of(0))), { code: 'RAFT_STORAGE_CORRUPT', message: /unknown key/ });
  t.match(await tampered((b) => b.del(META_KEY)), { code: 'RAFT_STORAGE_CORRUPT', message: /magic/ });
  const v2 = Buffer.concat([Buffer.from('MDSRAFT\0', 'latin1'), Buffer.of(0, 0, 0, 2)]);
  t.match(await tampered((b) => b.put(META_KEY, v2)), { code: 'RAFT_STORAGE_VERSION', version: 2 });
  t.equal(await tampered(() => undefined), undefined, 'the untampered store opens');
});

t.test('fuzz: random record values never crash recovery, only typed errors', async (t) => {
  const rng = new Rng(99);
  const fs = new MemFileSystem();
  const s = await RaftStorage.open(DIR, { fs });
  await s.persist({ hardState: { term: 2, vote: 'n1', commit: 3 }, entries: range(1, 4, 2) });
  await s.compact(snap(2, 2));
  await s.close();
  const keys = [HARD_STATE_KEY, SNAPSHOT_KEY, META_KEY, entryKey(3), entryKey(4)];
  const outcomes = new Map<string, number>();
  for (let i = 0; i < 80; i++) {
    const db = await DB.open(DIR, { fs });
    const key = keys[rng.int(keys.length)]!;
    const old = (await db.get(key)) ?? Buffer.alloc(0);
    const value = rng.chance(0.5) ? rng.bytes(rng.int(40)) : Buffer.from(old).fill(rng.int(256), rng.int(old.length + 1), rng.int(old.length + 1) + 1);
    await db.put(key, value, { sync: true });
    await db.close();
    const code = await RaftStorage.open(DIR, { fs }).then(
      async (ok) => {
        await ok.close();
        return 'opened';
      },
      (err: unknown) => (err as { code?: string }).code ?? `untyped: ${String(err)}`,
    );
    outcomes.set(code, (outcomes.get(code) ?? 0) + 1);
    const db2 = await DB.open(DIR, { fs });
    await db2.put(key, old, { sync: true });
    await db2.close();
  }
  t.comment(JSON.stringify(Object.fromEntries(outcomes)));
  for (const code of outcomes.keys()) t.match(code, /^(opened|RAFT_STORAGE_CORRUPT|RAFT_STORAGE_VERSION)$/, `outcome ${code}`);
  t.ok((outcomes.get('RAFT_STORAGE_CORRUPT') ?? 0) > 25, 'most damage is detected');
});

t.test('works on the real file system', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'raft-storage-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  let s = await RaftStorage.open(dir);
  await s.persist({ hardState: { term: 4, vote: 'n2', commit: 3 }, entries: range(1, 3, 4) });
  await s.compact(snap(2, 4));
  await s.close();
  s = await RaftStorage.open(dir);
  t.same(s.load(), { hardState: { term: 4, vote: 'n2', commit: 3 }, snapshot: snap(2, 4), entries: range(3, 3, 4) });
  await s.close();
});

t.test('the worked examples of STORAGE.md are the bytes the encoders write', (t) => {
  const doc = readFileSync(fileURLToPath(new URL('../../../cluster/raft/STORAGE.md', import.meta.url)), 'utf8');
  // Each example block: a `key` line and `value` lines; the bytes are the leading two-digit hex tokens of each line.
  const blocks = [...doc.matchAll(/```\n([\s\S]*?)```/g)].map((m) => {
    const out: Record<string, string> = { key: '', value: '' };
    let part = 'value';
    for (const line of m[1]!.split('\n')) {
      const words = line.trim().split(/\s+/);
      if (words[0] === 'key' || words[0] === 'value') part = words.shift()!;
      for (const w of words) {
        if (!/^[0-9A-F]{2}$/.test(w)) break;
        out[part] += w.toLowerCase();
      }
    }
    return out;
  });
  t.same(blocks, [
    { key: '68', value: encodeHardState({ term: 2, vote: 'n1', commit: 5 }).toString('hex') },
    { key: entryKey(5).toString('hex'), value: encodeEntry({ index: 5, term: 2, type: 'normal', data: Uint8Array.of(0xab) }).toString('hex') },
    { key: '73', value: encodeSnapshot({ index: 4, term: 1, conf: { voters: ['a'], learners: [] }, data: Uint8Array.of(1, 2) }).toString('hex') },
  ]);
  t.ok(doc.includes('`4D 44 53 52 41 46 54 00`'), 'the magic is documented');
  t.equal(encodeMeta().toString('hex'), '4d4453524146540000000001');
  t.end();
});
