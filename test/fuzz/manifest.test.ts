/**
 * Fuzz target: the manifest (lsm/version-edit.ts, lsm/version-set.ts recover). Three ways in:
 *   - VersionEdit.decode of random bytes and of mutated valid edits: an edit or CorruptionError, and a
 *     decoded edit encodes back to bytes that decode to the same edit;
 *   - DB.open (on a MemFileSystem) of a real database whose MANIFEST had its bytes mutated: LsmError, or
 *     a database that answers every key with the value written (or, when recovery reported dropping a
 *     manifest tail, with a value written or nothing), or LsmError per read;
 *   - DB.open after one manifest record's edit was mutated and re-framed with a valid checksum (damage a
 *     checksum cannot see): LsmError, or an open database whose reads answer or throw LsmError only.
 * Never TypeError, RangeError or a hang.
 */
import fc from 'fast-check';
import t from 'tap';
import { DB } from '../../lsm/db.js';
import { CorruptionError, LsmError } from '../../lsm/errors.js';
import { MemFileSystem } from '../../lsm/mem-fs.js';
import type { Logger } from '../../lsm/options.js';
import { MANIFEST_MAGIC, VersionEdit } from '../../lsm/version-edit.js';
import { LogReader } from '../../lsm/wal/log-reader.js';
import { LogWriter } from '../../lsm/wal/log-writer.js';
import { checkProperty, fuzzRuns } from './fuzz-runs.js';
import { startWatchdog } from './hang-watchdog.js';
import type { Mutation } from './mutations.js';
import { applyMutations, mutationsArb } from './mutations.js';

const RUNS = fuzzRuns(1);
const DIR = '/db';

const ikeyArb = fc.uint8Array({ minLength: 8, maxLength: 24 }).map((k) => Buffer.from(k));
const editArb: fc.Arbitrary<VersionEdit> = fc
  .record({
    comparator: fc.option(fc.string({ maxLength: 20 }), { nil: undefined }),
    logNumber: fc.option(fc.maxSafeNat(), { nil: undefined }),
    nextFileNumber: fc.option(fc.maxSafeNat(), { nil: undefined }),
    lastSequence: fc.option(fc.maxSafeNat(), { nil: undefined }),
    deleted: fc.array(fc.tuple(fc.nat({ max: 6 }), fc.maxSafeNat()), { maxLength: 3 }),
    added: fc.array(fc.tuple(fc.nat({ max: 6 }), fc.maxSafeNat(), fc.maxSafeNat(), ikeyArb, ikeyArb), { maxLength: 3 }),
    pointers: fc.array(fc.tuple(fc.nat({ max: 6 }), ikeyArb), { maxLength: 2 }),
  })
  .map((r) => {
    const e = new VersionEdit();
    e.comparator = r.comparator;
    e.logNumber = r.logNumber;
    e.nextFileNumber = r.nextFileNumber;
    e.lastSequence = r.lastSequence;
    for (const [level, n] of r.deleted) e.deleteFile(level, n);
    for (const [level, number, size, smallest, largest] of r.added) e.addFile(level, { number, size, smallest, largest });
    for (const [level, key] of r.pointers) e.setCompactPointer(level, key);
    return e;
  });

/** decode, or undefined for CorruptionError; anything else propagates. */
function decodeOrCorrupt(bytes: Uint8Array): VersionEdit | undefined {
  try {
    return VersionEdit.decode(bytes, 'MANIFEST-000001', 0);
  } catch (err) {
    if (err instanceof CorruptionError) return undefined;
    throw err;
  }
}

t.test('version edits: random and mutated bytes decode to an edit or CorruptionError; edits round-trip', async (t) => {
  const dog = startWatchdog('manifest/edits');
  t.teardown(() => dog.close());
  const bytesArb = fc.oneof(
    fc.uint8Array({ maxLength: 200 }).map((b) => Buffer.from(b)),
    fc.tuple(editArb, mutationsArb()).map(([e, ms]) => applyMutations(e.encode(), ms)),
  );
  const property = fc.property(bytesArb, dog.guard((bytes: Buffer) => {
    const edit = decodeOrCorrupt(bytes);
    if (edit === undefined) return;
    const again = VersionEdit.decode(edit.encode());
    if (!again.encode().equals(edit.encode())) throw new Error('a decoded edit does not round-trip');
  }));
  await checkProperty('manifest/edits', property, fuzzRuns(10));
  t.pass('edits');
});

/** A database written, closed, reopened (a flush: tables and several edits) and closed: its files. */
async function sampleDatabase(): Promise<{ files: Map<string, Buffer>; data: Map<string, Buffer> }> {
  const fs = new MemFileSystem();
  const data = new Map<string, Buffer>();
  for (let round = 0; round < 3; round++) {
    const db = await DB.open(DIR, { fs, writeBufferSize: 2048 });
    for (let i = 0; i < 40; i++) {
      const key = `key-${round}-${i}`;
      const value = Buffer.alloc(20 + i, 97 + round);
      await db.put(Buffer.from(key), value);
      data.set(key, value);
    }
    await db.del(Buffer.from(`key-${round}-0`));
    data.delete(`key-${round}-0`);
    await db.close();
  }
  const files = new Map<string, Buffer>();
  for (const name of await fs.list(DIR)) files.set(name, await fs.readFile(`${DIR}/${name}`));
  return { files, data };
}

async function fileSystemWith(files: ReadonlyMap<string, Buffer>): Promise<MemFileSystem> {
  const fs = new MemFileSystem();
  await fs.mkdir(DIR);
  for (const [name, bytes] of files) {
    const f = await fs.openWritable(`${DIR}/${name}`);
    await f.append(bytes);
    await f.sync();
    await f.close();
  }
  await fs.syncDir(DIR);
  return fs;
}

function manifestName(files: ReadonlyMap<string, Buffer>): string {
  const current = files.get('CURRENT');
  if (current === undefined) throw new Error('the sample database has no CURRENT');
  return current.toString('latin1').trim();
}

interface Opened {
  /** What each key read: a value, undefined, or an LsmError. */
  reads: Map<string, Buffer | undefined | LsmError>;
  /** Warnings the engine logged while opening (dropped manifest or WAL bytes). */
  warnings: string[];
}

/** Opens the database on `files`; LsmError when the open fails (anything else propagates). */
async function openAndRead(files: ReadonlyMap<string, Buffer>, keys: Iterable<string>): Promise<Opened | LsmError> {
  const fs = await fileSystemWith(files);
  const warnings: string[] = [];
  const logger: Logger = { info() {}, warn: (msg) => warnings.push(msg), error: (msg) => warnings.push(msg) };
  let db: DB;
  try {
    db = await DB.open(DIR, { fs, logger, createIfMissing: false });
  } catch (err) {
    if (err instanceof LsmError) return err;
    throw err;
  }
  const reads = new Map<string, Buffer | undefined | LsmError>();
  try {
    for (const k of keys) {
      try {
        reads.set(k, await db.get(Buffer.from(k)));
      } catch (err) {
        if (!(err instanceof LsmError)) throw err;
        reads.set(k, err);
      }
    }
  } finally {
    await db.close().catch((err: unknown) => {
      if (!(err instanceof LsmError)) throw err;
    });
  }
  return { reads, warnings };
}

t.test('DB.open with a byte-damaged MANIFEST: LsmError, or the data written', async (t) => {
  const sample = await sampleDatabase();
  const manifest = manifestName(sample.files);
  const keys = [...sample.data.keys(), 'key-0-0', 'key-1-0', 'key-2-0'];
  const dog = startWatchdog('manifest/db-open-bytes');
  t.teardown(() => dog.close());
  const property = fc.asyncProperty(mutationsArb(), dog.guard(async (mutations: Mutation[]) => {
    const files = new Map(sample.files);
    files.set(manifest, applyMutations(sample.files.get(manifest)!, mutations));
    const out = await openAndRead(files, keys);
    if (out instanceof LsmError) return;
    const dropped = out.warnings.length > 0;
    for (const [k, got] of out.reads) {
      if (got instanceof LsmError) continue;
      const want = sample.data.get(k);
      if (got === undefined && (want === undefined || dropped)) continue;
      if (got !== undefined && want !== undefined && got.equals(want)) continue;
      throw new Error(`key ${k} read ${got === undefined ? 'nothing' : `${got.length} bytes`} after an open that ${dropped ? 'reported' : 'reported nothing'}`);
    }
  }));
  await checkProperty('manifest/db-open-bytes', property, RUNS);
  t.pass(`${RUNS} damaged manifests`);
});

/** The manifest's records, one mutated, written back as a sound log (valid framing and checksums). */
async function reframed(manifest: Buffer, which: number, mutations: readonly Mutation[]): Promise<Buffer> {
  const records: Buffer[] = [...new LogReader(manifest, { magic: MANIFEST_MAGIC })].map((r) => Buffer.from(r));
  const i = which % records.length;
  records[i] = applyMutations(records[i]!, mutations);
  const fs = new MemFileSystem();
  const file = await fs.openWritable('/m');
  const w = new LogWriter(file, { magic: MANIFEST_MAGIC });
  for (const r of records) await w.addRecord(r);
  await file.close();
  return fs.readFile('/m');
}

t.test('DB.open with a mutated edit under a valid checksum: LsmError or answers, never TypeError/RangeError', async (t) => {
  const sample = await sampleDatabase();
  const manifest = manifestName(sample.files);
  const keys = [...sample.data.keys()].slice(0, 20);
  const dog = startWatchdog('manifest/db-open-edits');
  t.teardown(() => dog.close());
  const property = fc.asyncProperty(fc.nat(), mutationsArb(), dog.guard(async (which: number, mutations: Mutation[]) => {
    const files = new Map(sample.files);
    files.set(manifest, await reframed(sample.files.get(manifest)!, which, mutations));
    await openAndRead(files, keys);
  }));
  await checkProperty('manifest/db-open-edits', property, RUNS);
  t.pass(`${RUNS} manifests with a mutated edit`);
});
