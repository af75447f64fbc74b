/**
 * Fuzz target: the WAL reader (lsm/wal/log-reader.ts). Logs of records of every size (one fragment,
 * several, exactly a block) are written with LogWriter, damaged with byte mutations, and read back with
 * and without salvage:
 *   - the only throw is CorruptionError; damage is otherwise reported as dropped bytes;
 *   - every record read is byte-equal to a record that was written; without duplicated ranges they
 *     come in the order written;
 *   - every record that lies wholly before the first damaged byte is read, in order, before anything else;
 *   - reading ends (the watchdog kills a case that spins).
 * And whole-block damage (a lost, repeated or zeroed 32 KiB block), judged at the write-batch layer: see
 * that test's comment for why the reader alone cannot promise "only written records" there.
 */
import fc from 'fast-check';
import t from 'tap';
import { CorruptionError } from '../../lsm/errors.js';
import { MemFileSystem } from '../../lsm/mem-fs.js';
import { WriteBatch } from '../../lsm/write-batch.js';
import { BLOCK_SIZE } from '../../lsm/wal/format.js';
import { LogReader } from '../../lsm/wal/log-reader.js';
import { LogWriter } from '../../lsm/wal/log-writer.js';
import { checkProperty, fuzzRuns } from './fuzz-runs.js';
import { startWatchdog } from './hang-watchdog.js';
import type { Mutation } from './mutations.js';
import { applyMutations, firstDifference, mutationsArb } from './mutations.js';

const RUNS = fuzzRuns(1);

/** A record to write: its bytes are derived from id and size, so records never look alike. */
interface RecordSpec {
  id: number;
  size: number;
}

function payload({ id, size }: RecordSpec): Buffer {
  const b = Buffer.allocUnsafe(size);
  for (let i = 0; i < size; i++) b[i] = (id * 131 + i * 7 + (i >> 8)) & 0xff;
  return b;
}

const recordArb: fc.Arbitrary<RecordSpec> = fc.record({
  id: fc.nat({ max: 1 << 20 }),
  size: fc.oneof(
    { arbitrary: fc.nat({ max: 64 }), weight: 6 },
    { arbitrary: fc.integer({ min: 65, max: 3000 }), weight: 3 },
    { arbitrary: fc.integer({ min: BLOCK_SIZE - 40, max: 2 * BLOCK_SIZE + 100 }), weight: 1 },
  ),
});

interface Written {
  data: Buffer;
  records: Buffer[];
  /** Where each record's last byte ends in the file. */
  ends: number[];
}

async function writeLog(specs: readonly RecordSpec[]): Promise<Written> {
  return writeLogOf(specs.map(payload));
}

async function writeLogOf(payloads: readonly Buffer[]): Promise<Written> {
  const fs = new MemFileSystem();
  const file = await fs.openWritable('/000001.log');
  const w = new LogWriter(file);
  const records: Buffer[] = [];
  const ends: number[] = [];
  for (const p of payloads) {
    await w.addRecord(p);
    records.push(p);
    ends.push(file.size);
  }
  await w.sync();
  return { data: await fs.readFile('/000001.log'), records, ends };
}

interface Read {
  records: Buffer[];
  error: CorruptionError | undefined;
  reports: number;
}

function readLog(data: Buffer, salvage: boolean): Read {
  let reports = 0;
  const reader = new LogReader(data, {
    file: '/000001.log',
    salvage,
    reporter: (bytes) => {
      if (!Number.isInteger(bytes) || bytes < 0) throw new Error(`reported ${bytes} dropped bytes`);
      reports++;
    },
  });
  const records: Buffer[] = [];
  try {
    for (let r = reader.readRecord(); r !== undefined; r = reader.readRecord()) {
      records.push(Buffer.from(r));
      if (records.length > data.length) throw new Error('the reader returns records without consuming input');
    }
  } catch (err) {
    if (err instanceof CorruptionError) return { records, error: err, reports };
    throw err;
  }
  return { records, error: undefined, reports };
}

/** Checks one damaged log against what was written; throws with the reason when a rule is broken. */
function judge(w: Written, damaged: Buffer, salvage: boolean, reordering: boolean): void {
  const out = readLog(damaged, salvage);
  if (salvage && out.error !== undefined && !/magic|version/.test(out.error.message)) {
    throw new Error(`salvage mode threw ${out.error.message}`);
  }
  // Short records can be equal: each content maps to every position it was written at.
  const written = new Map<string, number[]>();
  w.records.forEach((r, i) => written.set(r.toString('latin1'), [...(written.get(r.toString('latin1')) ?? []), i]));
  let last = -1;
  out.records.forEach((r, k) => {
    const at = written.get(r.toString('latin1'));
    if (at === undefined) throw new Error(`record ${k} read (${r.length} bytes) was never written`);
    const i = at.find((p) => p > last);
    if (!reordering && i === undefined) throw new Error(`record ${k} read is written record ${at.join('/')}, after record ${last}`);
    last = i ?? last;
  });
  const damage = firstDifference(w.data, damaged);
  const intact = damage < 0 ? w.records.length : w.ends.filter((e) => e <= damage).length;
  for (let i = 0; i < intact; i++) {
    if (!w.records[i]!.equals(out.records[i] ?? Buffer.alloc(0)) || out.records[i] === undefined) {
      throw new Error(`record ${i} ends before the first damaged byte (${damage}) but was not read as record ${i}`);
    }
  }
}

t.test('byte-damaged logs: written records only, in order, intact prefix, CorruptionError or reports', async (t) => {
  const dog = startWatchdog('wal-reader/bytes');
  t.teardown(() => dog.close());
  const property = fc.asyncProperty(
    fc.array(recordArb, { minLength: 1, maxLength: 12 }),
    mutationsArb(),
    fc.boolean(),
    dog.guard(async (specs: RecordSpec[], mutations: Mutation[], salvage: boolean) => {
      const w = await writeLog(specs);
      const reordering = mutations.some((m) => m.kind === 'duplicate');
      judge(w, applyMutations(w.data, mutations), salvage, reordering);
    }),
  );
  await checkProperty('wal-reader/bytes', property, RUNS);
  t.pass(`${RUNS} damaged logs`);
});

type BlockDamage = { kind: 'drop' | 'repeat' | 'zero'; block: number };

function damageBlock(data: Buffer, d: BlockDamage): Buffer {
  const blocks = Math.ceil(data.length / BLOCK_SIZE);
  const b = d.block % blocks;
  const from = b * BLOCK_SIZE;
  const to = Math.min(data.length, from + BLOCK_SIZE);
  switch (d.kind) {
    case 'drop':
      return Buffer.concat([data.subarray(0, from), data.subarray(to)]);
    case 'repeat':
      return Buffer.concat([data.subarray(0, to), data.subarray(from, to), data.subarray(to)]);
    case 'zero': {
      const z = Buffer.from(data);
      z.fill(0, from, to);
      return z;
    }
  }
}

/** A write batch of `entries` puts whose values are `size` bytes derived from id: a WAL record as the DB writes it. */
function batchPayload(id: number, entries: number, size: number): Buffer {
  const batch = new WriteBatch();
  for (let e = 0; e < entries; e++) batch.put(Buffer.from(`key-${id}-${e}`), payload({ id: id * 7 + e, size }));
  batch.setSequence(id + 1);
  return batch.encode();
}

/**
 * The log format cannot see a lost or repeated whole block inside a record of three or more fragments
 * (FIRST, MIDDLE..., LAST: every fragment checks out, and no fragment says how many there are), so the
 * reader may return such a record spliced. The engine's guarantee rests on the next layer: a WAL record
 * is a write batch, validated end to end (count, kinds, lengths). Here: every record the reader returns
 * that was not written must fail WriteBatch.decode; what decodes is a batch that was written.
 */
t.test('block-damaged logs (lost, repeated or zeroed 32 KiB blocks): no unwritten write batch decodes', async (t) => {
  const dog = startWatchdog('wal-reader/blocks');
  t.teardown(() => dog.close());
  const batchArb = fc.record({ entries: fc.integer({ min: 1, max: 4 }), size: fc.oneof(fc.nat({ max: 100 }), fc.integer({ min: 1000, max: BLOCK_SIZE * 2 })) });
  const property = fc.asyncProperty(
    fc.array(batchArb, { minLength: 1, maxLength: 5 }),
    fc.record({ kind: fc.constantFrom<BlockDamage['kind'][]>('drop', 'repeat', 'zero'), block: fc.nat({ max: 16 }) }),
    fc.boolean(),
    dog.guard(async (batches: { entries: number; size: number }[], d: BlockDamage, salvage: boolean) => {
      const payloads = batches.map((b, id) => batchPayload(id, b.entries, b.size));
      const w = await writeLogOf(payloads);
      const out = readLog(damageBlock(w.data, d), salvage);
      const written = new Set(payloads.map((p) => p.toString('latin1')));
      for (const r of out.records) {
        if (written.has(r.toString('latin1'))) continue;
        let decoded = true;
        try {
          WriteBatch.decode(r);
        } catch (err) {
          if (!(err instanceof CorruptionError)) throw err;
          decoded = false;
        }
        if (decoded) throw new Error(`a spliced record of ${r.length} bytes decodes as a write batch that was never written`);
      }
    }),
  );
  await checkProperty('wal-reader/blocks', property, Math.max(1, Math.round(RUNS / 2)));
  t.pass('block-damaged logs');
});
