import t from 'tap';
import { DB } from '../../lsm/db.js';
import { InternalKeyComparator, KIND_DELETION, KIND_VALUE, makeInternalKey } from '../../lsm/dbformat.js';
import { CorruptionError, InvalidArgumentError } from '../../lsm/errors.js';
import { MemFileSystem } from '../../lsm/mem-fs.js';
import { silentLogger } from '../../lsm/options.js';
import { MANIFEST_MAGIC, VersionEdit } from '../../lsm/version-edit.js';
import { VersionSet } from '../../lsm/version-set.js';
import { LogReader } from '../../lsm/wal/log-reader.js';

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');
const ikey = (k: string, seq: number, kind: 0 | 1 = KIND_VALUE): Buffer => makeInternalKey(Buffer.from(k), seq, kind);

/** A new database directory /db on a MemFileSystem, with a VersionSet created and recovered in it. */
async function freshVersionSet(onRelease: () => void = () => {}): Promise<{ fs: MemFileSystem; icmp: InternalKeyComparator; vs: VersionSet }> {
  const fs = new MemFileSystem();
  await fs.mkdir('/db');
  const icmp = new InternalKeyComparator();
  const vs = new VersionSet(fs, '/db', icmp, silentLogger, onRelease);
  await vs.create();
  await vs.recover();
  return { fs, icmp, vs };
}

/** Another VersionSet on /db, as a restart makes it (not yet recovered). */
const reopened = (fs: MemFileSystem, icmp: InternalKeyComparator): VersionSet => new VersionSet(fs, '/db', icmp, silentLogger, () => {});

t.test('encoding matches the documented bytes and round-trips', (t) => {
  const e = new VersionEdit();
  e.logNumber = 7;
  e.nextFileNumber = 9;
  e.lastSequence = 300;
  e.addFile(0, { number: 8, size: 1234, smallest: ikey('a', 5), largest: ikey('b', 9) });
  const bytes = e.encode();
  t.same(bytes, hex('02 07 03 09 04 ac 02 06 00 08 d2 09 09 61 01 05 00 00 00 00 00 00 09 62 01 09 00 00 00 00 00 00'));
  const full = new VersionEdit();
  full.comparator = 'mydatastore.BytewiseComparator';
  full.logNumber = 2 ** 40;
  full.nextFileNumber = 12;
  full.lastSequence = Number.MAX_SAFE_INTEGER;
  full.deleteFile(3, 77);
  full.addFile(6, { number: 11, size: 0, smallest: ikey('', 0, KIND_DELETION), largest: ikey('zz', 1) });
  const back = VersionEdit.decode(full.encode());
  t.same(back, full);
  t.same(VersionEdit.decode(new VersionEdit().encode()), new VersionEdit(), 'an empty edit');
  t.end();
});

t.test('compact pointers: the documented bytes; they survive a restart and a new manifest', async (t) => {
  const e = new VersionEdit();
  e.logNumber = 7;
  e.nextFileNumber = 13;
  e.lastSequence = 200;
  e.setCompactPointer(0, ikey('c', 20));
  e.deleteFile(0, 8);
  e.deleteFile(0, 11);
  e.addFile(1, { number: 12, size: 1000, smallest: ikey('a', 5), largest: ikey('c', 20) });
  const doc = '02 07 03 0d 04 c8 01 07 00 09 63 01 14 00 00 00 00 00 00 05 00 08 05 00 0b 06 01 0c e8 07 09 61 01 05 00 00 00 00 00 00 09 63 01 14 00 00 00 00 00 00';
  t.same(e.encode(), hex(doc), 'the compaction edit of FORMAT.md');
  t.same(VersionEdit.decode(e.encode()), e, 'round-trips');
  t.throws(() => VersionEdit.decode(hex('07 00 02 61 62')), CorruptionError, 'a compact pointer shorter than an internal key');

  const { fs, icmp, vs } = await freshVersionSet();
  const edit = new VersionEdit();
  edit.setCompactPointer(2, ikey('k', 9));
  await vs.logAndApply(edit);
  t.same(vs.compactPointers[2], ikey('k', 9));
  await vs.close();
  for (let i = 0; i < 2; i++) {
    // The second open starts a new manifest whose snapshot edit must carry the pointer.
    const again = reopened(fs, icmp);
    await again.recover();
    t.same(again.compactPointers[2], ikey('k', 9), `after restart ${i + 1}`);
    t.equal(again.compactPointers[1]!.length, 0, 'levels without a pointer have none');
    await again.logAndApply(new VersionEdit());
    await again.close();
  }
});

t.test('anything not understood is CorruptionError', (t) => {
  const good = new VersionEdit();
  good.addFile(1, { number: 3, size: 10, smallest: ikey('a', 1), largest: ikey('b', 2) });
  const enc = good.encode();
  const cases: [string, Buffer][] = [
    ['unknown tag', hex('09 01')],
    ['tag 0', hex('00')],
    ['level 7', hex('05 07 01')],
    ['truncated varint', hex('02 80')],
    ['key shorter than a trailer', hex('06 00 01 01 03 61 62 63 03 61 62 63')],
    ['slice past the end', hex('01 05 61')],
    ['truncated new file', enc.subarray(0, enc.length - 3)],
  ];
  for (const [what, bytes] of cases) {
    t.throws(() => VersionEdit.decode(bytes, 'MANIFEST-000002', 15), CorruptionError, what);
  }
  t.throws(() => VersionEdit.decode(hex('09 01'), 'MANIFEST-000002', 15), /MANIFEST-000002 at byte 15/, 'names file and offset');
  t.end();
});

t.test('version set: edits survive a restart; a new manifest per open; CURRENT names it', async (t) => {
  const { fs, icmp, vs } = await freshVersionSet();
  const n1 = vs.newFileNumber();
  const n2 = vs.newFileNumber();
  const e1 = new VersionEdit();
  e1.addFile(0, { number: n1, size: 100, smallest: ikey('a', 1), largest: ikey('m', 2) });
  e1.addFile(1, { number: n2, size: 200, smallest: ikey('n', 3), largest: ikey('z', 4) });
  vs.lastSequence = 42;
  await vs.logAndApply(e1);
  const e2 = new VersionEdit();
  e2.deleteFile(0, n1);
  await vs.logAndApply(e2);
  t.equal(vs.current.describe(), `L1: ${n2}`);
  const current = (await fs.readFile('/db/CURRENT')).toString();
  t.match(current, /^MANIFEST-\d{6}\n$/);
  await vs.close();
  fs.crash(); // everything above was synced

  const vs2 = reopened(fs, icmp);
  await vs2.recover();
  t.equal(vs2.current.describe(), `L1: ${n2}`);
  t.equal(vs2.lastSequence, 42);
  t.ok(vs2.nextFileNumber > n2, 'file numbers are never reused');
  const manifest = current.trim();
  const reader = new LogReader(await fs.readFile(`/db/${manifest}`), { magic: MANIFEST_MAGIC });
  t.equal([...reader].length, 3, 'snapshot edit + two edits');

  const other = new VersionSet(fs, '/db', new InternalKeyComparator({ name: 'reverse', compare: (a, b) => Buffer.compare(b, a) }), silentLogger, () => {});
  await t.rejects(other.recover(), InvalidArgumentError, 'another comparator is refused');
  t.rejects(
    (async () => {
      const w = new LogReader(await fs.readFile(`/db/${manifest}`));
      return [...w];
    })(),
    CorruptionError,
    'a manifest is not a WAL (magic differs)',
  );
});

t.test('a table whose smallest key sorts after its largest is CorruptionError at recovery, and DB.open fails rather than hangs', async (t) => {
  // Found by the manifest fuzz target: a mutated edit under a valid checksum put such a table on L0.
  // Its range overlapped nothing, not even itself, so compaction picked no inputs and retried forever.
  const { fs, icmp, vs } = await freshVersionSet();
  const n = vs.newFileNumber();
  const e = new VersionEdit();
  e.addFile(0, { number: n, size: 100, smallest: ikey('key-2-0', 5), largest: ikey('key-2', 9) });
  await vs.logAndApply(e);
  await vs.close();
  const again = reopened(fs, icmp);
  await t.rejects(again.recover(), { code: 'LSM_CORRUPTION', message: new RegExp(`table ${n}'s smallest key sorts after its largest`) });
  await t.rejects(DB.open('/db', { fs, createIfMissing: false }), { code: 'LSM_CORRUPTION' });
});

t.test('the manifest starts with the documented file header, and FORMAT.md documents it', async (t) => {
  const fs = new MemFileSystem();
  await fs.mkdir('/db');
  const vs = new VersionSet(fs, '/db', new InternalKeyComparator(), silentLogger, () => {});
  await vs.create();
  const bytes = await fs.readFile('/db/MANIFEST-000001');
  t.same(bytes.subarray(0, 15), hex('b2 5a ed 03  08 00  05  4d 44 4d 46  01 00 00 00'));
  t.equal((await fs.readFile('/db/CURRENT')).toString(), 'MANIFEST-000001\n');
  const { readFileSync } = await import('node:fs');
  const doc = readFileSync(new URL('../../../lsm/FORMAT.md', import.meta.url), 'utf8');
  for (const title of ['Manifest and CURRENT', 'Database directory']) t.ok(doc.includes(`\n## ${title}\n`), `section "${title}"`);
  t.ok(doc.includes('b2 5a ed 03  08 00  05  4d 44 4d 46  01 00 00 00'), 'the header bytes are the documented ones');
  t.ok(doc.includes('02 07                         log number 7'), 'the edit example is there');
});

t.test('a file stays live while any referenced version lists it', async (t) => {
  let releasedCalls = 0;
  const { vs } = await freshVersionSet(() => releasedCalls++);
  const n = vs.newFileNumber();
  const add = new VersionEdit();
  add.addFile(0, { number: n, size: 1, smallest: ikey('a', 1), largest: ikey('b', 1) });
  await vs.logAndApply(add);
  const held = vs.current;
  held.ref(); // as a read or an open iterator does
  const del = new VersionEdit();
  del.deleteFile(0, n);
  await vs.logAndApply(del);
  t.equal(vs.current.numFiles(0), 0, 'the current version no longer lists the file');
  t.ok(vs.liveFiles().has(n), 'but it is live while the old version is referenced');
  const before = releasedCalls;
  held.unref();
  t.notOk(vs.liveFiles().has(n), 'obsolete once the last reference is dropped');
  t.equal(releasedCalls, before + 1, 'the owner is told (and deletes obsolete files)');
  await vs.close();
});
