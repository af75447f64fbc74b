/**
 * Fuzz target: the SSTable reader (lsm/table/: footer, block handles, blocks, restart arrays, Snappy).
 * Tables of random sorted entries (any block size, restart interval, compression, filter or none) are
 * damaged two ways and opened from a MemFileSystem:
 *   - byte mutations of the file: every block is checksummed, so opening and reading either fail with
 *     CorruptionError or answer exactly what was written (a forward scan is a prefix of the entries;
 *     get(key) finds the key's own value);
 *   - a block's contents mutated and its checksum recomputed (the damage a checksum cannot see: the
 *     block parser, the restart array and the Snappy decoder get the bytes): open, scans in both
 *     directions, seeks and gets throw only LsmError subclasses (never TypeError or RangeError) and end.
 */
import fc from 'fast-check';
import t from 'tap';
import { bytewiseComparator } from '../../lsm/comparator.js';
import { LsmError } from '../../lsm/errors.js';
import type { InternalIterator } from '../../lsm/iterator.js';
import { MemFileSystem } from '../../lsm/mem-fs.js';
import { CompressionType, decodeBlockHandle, decodeFooter, FOOTER_SIZE, putBlockTrailer } from '../../lsm/table/format.js';
import type { BlockHandle } from '../../lsm/table/format.js';
import { Block } from '../../lsm/table/block.js';
import { Table } from '../../lsm/table/table.js';
import { TableBuilder } from '../../lsm/table/table-builder.js';
import { checkProperty, fuzzRuns } from './fuzz-runs.js';
import { startWatchdog } from './hang-watchdog.js';
import type { Mutation } from './mutations.js';
import { applyMutation, applyMutations, mutationsArb } from './mutations.js';

const RUNS = fuzzRuns(1);

interface Entry {
  key: Buffer;
  value: Buffer;
}

interface Shape {
  blockSize: number;
  restartInterval: number;
  compression: CompressionType;
  bitsPerKey: number;
}

/** Sorted, distinct keys; values repetitive enough that Snappy keeps its compressed blocks. */
const entriesArb: fc.Arbitrary<Entry[]> = fc
  .uniqueArray(fc.tuple(fc.uint8Array({ minLength: 1, maxLength: 12 }), fc.nat({ max: 120 }), fc.nat({ max: 255 })), {
    minLength: 1,
    maxLength: 60,
    selector: ([k]) => Buffer.from(k).toString('hex'),
  })
  .map((rows) =>
    rows
      .map(([k, n, fill]) => ({ key: Buffer.from(k), value: Buffer.alloc(n, fill) }))
      .sort((a, b) => Buffer.compare(a.key, b.key)),
  );

const shapeArb: fc.Arbitrary<Shape> = fc.record({
  blockSize: fc.integer({ min: 16, max: 1024 }),
  restartInterval: fc.integer({ min: 1, max: 16 }),
  compression: fc.constantFrom<CompressionType[]>(CompressionType.None, CompressionType.Snappy),
  bitsPerKey: fc.constantFrom(0, 10),
});

async function build(entries: readonly Entry[], shape: Shape): Promise<Buffer> {
  const fs = new MemFileSystem();
  const file = await fs.openWritable('/t.sst');
  const b = new TableBuilder(file, { comparator: bytewiseComparator, ...shape });
  for (const e of entries) b.add(e.key, e.value);
  await b.finish();
  await file.close();
  return fs.readFile('/t.sst');
}

async function open(bytes: Buffer): Promise<Table> {
  const fs = new MemFileSystem();
  const file = await fs.openWritable('/t.sst');
  await file.append(bytes);
  await file.close();
  return Table.open(await fs.openRandomAccess('/t.sst'), '/t.sst', { comparator: bytewiseComparator });
}

/** Runs `read`; an LsmError is an acceptable answer (returned), anything else propagates. */
async function typed<T>(read: () => T | Promise<T>): Promise<T | LsmError> {
  try {
    return await read();
  } catch (err) {
    if (err instanceof LsmError) return err;
    throw err;
  }
}

/** Steps through an iterator, failing if it yields more entries than the bound (an endless iterator). */
function drain(it: InternalIterator, forward: boolean, bound: number): Entry[] {
  const out: Entry[] = [];
  for (forward ? it.seekToFirst() : it.seekToLast(); it.valid(); forward ? it.next() : it.prev()) {
    out.push({ key: Buffer.from(it.key()), value: Buffer.from(it.value()) });
    if (out.length > bound) throw new Error(`the iterator yields more than ${bound} entries`);
  }
  return out;
}

t.test('byte-damaged tables: CorruptionError or exactly the entries written', async (t) => {
  const dog = startWatchdog('sstable-reader/bytes');
  t.teardown(() => dog.close());
  const property = fc.asyncProperty(entriesArb, shapeArb, mutationsArb(), dog.guard(async (entries: Entry[], shape: Shape, mutations: Mutation[]) => {
    const bytes = applyMutations(await build(entries, shape), mutations);
    const table = await typed(() => open(bytes));
    if (table instanceof LsmError) return;
    const scan = await typed(() => drain(table.iterator(), true, entries.length));
    if (!(scan instanceof LsmError)) {
      scan.forEach((e, i) => {
        const want = entries[i]!;
        if (!e.key.equals(want.key) || !e.value.equals(want.value)) throw new Error(`scan entry ${i} is not the entry written`);
      });
    }
    for (const want of entries) {
      const got = await typed(() => table.get(want.key));
      if (got instanceof LsmError) continue;
      if (got === undefined || !got.key.equals(want.key) || !got.value.equals(want.value)) throw new Error(`get(${want.key.toString('hex')}) answered wrong data`);
    }
    await table.close();
  }));
  await checkProperty('sstable-reader/bytes', property, RUNS);
  t.pass(`${RUNS} damaged tables`);
});

/** The handles of every block of a sound table: data blocks (from the index), filter, metaindex, index. */
function blockHandles(bytes: Buffer): BlockHandle[] {
  const footer = decodeFooter(bytes.subarray(bytes.length - FOOTER_SIZE));
  const handles = [footer.metaindex, footer.index];
  const index = new Block(bytes.subarray(footer.index.offset, footer.index.offset + footer.index.size));
  const it = index.iterator(bytewiseComparator);
  for (it.seekToFirst(); it.valid(); it.next()) handles.push(decodeBlockHandle(it.value()));
  const meta = new Block(bytes.subarray(footer.metaindex.offset, footer.metaindex.offset + footer.metaindex.size));
  const mit = meta.iterator(bytewiseComparator);
  for (mit.seekToFirst(); mit.valid(); mit.next()) handles.push(decodeBlockHandle(mit.value()));
  return handles;
}

/** Length-preserving damage to one block's stored bytes, with the trailer's checksum made to match. */
function damageBlockContents(bytes: Buffer, h: BlockHandle, mutations: readonly Mutation[]): Buffer {
  const out = Buffer.from(bytes);
  let stored: Buffer = out.subarray(h.offset, h.offset + h.size);
  for (const m of mutations) {
    if (m.kind === 'flip' || m.kind === 'set' || m.kind === 'zero' || m.kind === 'overwrite') stored = applyMutation(stored, m);
  }
  out.set(stored, h.offset);
  putBlockTrailer(out, h.offset + h.size, stored, out[h.offset + h.size]! as CompressionType);
  return out;
}

t.test('blocks damaged under a valid checksum: LsmError or entries, never TypeError/RangeError or a hang', async (t) => {
  const dog = startWatchdog('sstable-reader/blocks');
  t.teardown(() => dog.close());
  const probeArb = fc.array(fc.uint8Array({ maxLength: 12 }), { maxLength: 6 });
  const property = fc.asyncProperty(
    entriesArb,
    shapeArb,
    fc.nat(),
    mutationsArb(6),
    probeArb,
    dog.guard(async (entries: Entry[], shape: Shape, which: number, mutations: Mutation[], probes: Uint8Array[]) => {
      const sound = await build(entries, shape);
      const handles = blockHandles(sound);
      const damaged = damageBlockContents(sound, handles[which % handles.length]!, mutations);
      const table = await typed(() => open(damaged));
      if (table instanceof LsmError) return;
      // A block's entries can at most be as many as its bytes allow (3 bytes each at least).
      const bound = damaged.length;
      await typed(() => drain(table.iterator(), true, bound));
      await typed(() => drain(table.iterator(), false, bound));
      for (const p of [...probes, ...entries.slice(0, 4).map((e) => e.key)]) {
        await typed(() => table.get(p));
        await typed(() => {
          const it = table.iterator();
          it.seek(p);
          for (let steps = 0; it.valid() && steps < 4; steps++) it.next();
          return it.valid();
        });
        await typed(() => {
          const it = table.iterator();
          it.seek(p);
          for (let steps = 0; it.valid() && steps < 4; steps++) it.prev();
          return it.valid();
        });
        await typed(() => table.approximateOffsetOf(p));
      }
      await table.close();
    }),
  );
  await checkProperty('sstable-reader/blocks', property, RUNS);
  t.pass(`${RUNS} tables with a re-checksummed damaged block`);
});

