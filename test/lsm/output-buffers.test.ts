/**
 * Table builders reuse their output buffers (lsm/table/output-buffers.ts): a buffer goes back for reuse
 * only once the file has taken its bytes, so builders writing at the same time, with appends still in
 * flight on the real file system, never write each other's bytes; and tables built one after another
 * stop allocating output buffers.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import t, { type Test } from 'tap';
import { bytewiseComparator } from '../../lsm/comparator.js';
import { outputBuffersAllocated } from '../../lsm/table/output-buffers.js';
import { Table } from '../../lsm/table/table.js';
import { TableBuilder } from '../../lsm/table/table-builder.js';
import { NodeRandomAccessFile, NodeWritableFile } from './fs-for-tests.js';
import { type Entry, Rng } from './iterator-suite.js';

function entries(n: number, seed: number): Entry[] {
  const rng = new Rng(seed);
  const out: Entry[] = [];
  // Random bytes do not compress: ~100 bytes stored per entry, so n = 30,000 makes a ~3 MiB table.
  for (let i = 0; i < n; i++) out.push({ key: Buffer.from(`key${String(i).padStart(8, '0')}`), value: rng.bytes(60 + rng.int(60)) });
  return out;
}

function tempDir(t: Test): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mds-outbuf-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Builds a table of `want` at p; flushes every `every` pending bytes, awaited or left in flight. */
async function build(p: string, want: Entry[], every: number, awaitFlushes: boolean): Promise<void> {
  const w = await NodeWritableFile.create(p);
  const b = new TableBuilder(w, { comparator: bytewiseComparator });
  const inFlight: Promise<void>[] = [];
  for (const e of want) {
    b.add(e.key, e.value);
    if (b.pendingBytes >= every) {
      if (awaitFlushes) await b.flush();
      else inFlight.push(b.flush());
    }
  }
  await Promise.all(inFlight);
  await b.finish();
  await w.close();
}

async function mismatches(p: string, want: Entry[]): Promise<string[]> {
  const table = await Table.open(NodeRandomAccessFile.open(p), p, { comparator: bytewiseComparator });
  const bad: string[] = [];
  const it = table.iterator();
  let i = 0;
  for (it.seekToFirst(); it.valid() && bad.length < 3; it.next(), i++) {
    const e = want[i];
    if (e === undefined || !e.key.equals(it.key()) || !e.value.equals(it.value())) bad.push(`entry ${i} of ${path.basename(p)}`);
  }
  if (i !== want.length && bad.length === 0) bad.push(`${path.basename(p)}: ${i} entries, want ${want.length}`);
  await table.close();
  return bad;
}

t.test('builders writing at once, appends in flight, each write only their own bytes', async (t) => {
  const dir = tempDir(t);
  for (let round = 0; round < 3; round++) {
    const jobs = [0, 1, 2].map((id) => ({ p: path.join(dir, `${round}-${id}.sst`), want: entries(30_000, 10 * round + id) }));
    await Promise.all(jobs.map((j, id) => build(j.p, j.want, (64 << 10) * (id + 1), false)));
    for (const j of jobs) t.same(await mismatches(j.p, j.want), [], `round ${round}: ${path.basename(j.p)} reads back intact`);
  }
});

t.test('tables built one after another reuse the output buffers of the ones before', async (t) => {
  const dir = tempDir(t);
  const want = entries(30_000, 99);
  await build(path.join(dir, 'first.sst'), want, 1 << 20, true);
  const before = outputBuffersAllocated();
  for (let i = 0; i < 3; i++) await build(path.join(dir, `next-${i}.sst`), want, 1 << 20, true);
  t.equal(outputBuffersAllocated(), before, 'no output buffer allocated after the first table');
  for (let i = 0; i < 3; i++) t.same(await mismatches(path.join(dir, `next-${i}.sst`), want), []);
});
