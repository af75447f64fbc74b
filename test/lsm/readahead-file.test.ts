/**
 * ReadaheadFile (lsm/table/readahead-file.ts): compaction reads its input tables through it. Every read
 * returns exactly the file's bytes, in any order, with far fewer reads of the file when sequential;
 * returned buffers stay valid after later reads refill the window; a read past the end fails as the
 * file's own read does.
 */
import t from 'tap';
import type { RandomAccessFile } from '../../lsm/env.js';
import { CorruptionError } from '../../lsm/errors.js';
import { MemFileSystem } from '../../lsm/index.js';
import { ReadaheadFile } from '../../lsm/table/readahead-file.js';
import { Rng } from './rng.js';

async function fileOf(bytes: Buffer): Promise<{ file: RandomAccessFile; reads: () => number }> {
  const fs = new MemFileSystem();
  const w = await fs.openWritable('/t');
  await w.append(bytes);
  await w.close();
  const inner = await fs.openRandomAccess('/t');
  let reads = 0;
  const file: RandomAccessFile = {
    get size() {
      return inner.size;
    },
    read: (o, l) => inner.read(o, l),
    readSync: (o, l, into) => {
      reads++;
      return inner.readSync(o, l, into);
    },
    close: () => inner.close(),
  };
  return { file, reads: () => reads };
}

const SIZE = 1 << 20;
const content = Buffer.alloc(SIZE);
const rng = new Rng(7);
for (let i = 0; i < SIZE; i++) content[i] = rng.int(256);

t.test('sequential 4 KiB reads: the same bytes, one file read per 64 KiB window', async (t) => {
  const { file, reads } = await fileOf(content);
  const ra = new ReadaheadFile(file, 64 << 10);
  const kept: [number, Buffer][] = [];
  for (let off = 0; off < SIZE; off += 4096) kept.push([off, ra.readSync(off, 4096)]);
  t.equal(reads(), SIZE / (64 << 10), `${reads()} reads of the file for ${SIZE / 4096} blocks`);
  // Checked after every refill: no returned buffer is a view of the window.
  t.ok(kept.every(([off, b]) => b.equals(content.subarray(off, off + 4096))), 'every block read as stored, and still intact');
  t.end();
});

t.test('reads in any order, with and without a scratch buffer, return the stored bytes', async (t) => {
  const { file } = await fileOf(content);
  const ra = new ReadaheadFile(file, 64 << 10);
  const r = new Rng(3);
  const scratch = Buffer.alloc(100_000);
  let bad = 0;
  for (let i = 0; i < 2000; i++) {
    const len = 1 + r.int(i % 10 === 0 ? 80_000 : 9000);
    const off = r.int(SIZE - len);
    const got = i % 2 === 0 ? ra.readSync(off, len, scratch) : ra.readSync(off, len);
    if (!got.equals(content.subarray(off, off + len))) bad++;
  }
  t.equal(bad, 0, '2,000 random reads, some larger than the window');
  t.end();
});

t.test('a read past the end fails as the file does', async (t) => {
  const { file } = await fileOf(content);
  const ra = new ReadaheadFile(file, 64 << 10);
  t.throws(() => ra.readSync(SIZE - 100, 200), CorruptionError);
  t.ok(ra.readSync(SIZE - 100, 100).equals(content.subarray(SIZE - 100)), 'the last bytes read fine');
  t.end();
});
