/**
 * The block cache carves blocks out of shared slabs (lsm/block-cache.ts). What a user relies on: a
 * cached block reads back as it was read in, a block someone still holds never changes, and the memory
 * the cache keeps alive stays near its capacity, even when a few hot blocks are scattered over many
 * slabs; blocks that fit and keep being hit are not copied around.
 */
import t from 'tap';
import { BlockCache } from '../../lsm/block-cache.js';
import { Block } from '../../lsm/table/block.js';

const CAPACITY = 1 << 20;
const SLAB = 16 << 10;
const BLOCK = 1000;

/** Reads block `i` in: `BLOCK` bytes of (i mod 251), then a one-restart array, as a table read would. */
function readIn(cache: BlockCache, i: number): Block {
  const data = cache.allocate(BLOCK);
  data.fill(i % 251, 0, BLOCK - 8);
  data.writeUInt32LE(0, BLOCK - 8);
  data.writeUInt32LE(1, BLOCK - 4);
  const block = new Block(data, 'x.sst', i * BLOCK);
  cache.insertBlock(0, i, block);
  return block;
}

function holds(block: Block, i: number): boolean {
  for (let p = 0; p < BLOCK - 8; p++) if (block.data[p] !== i % 251) return false;
  return true;
}

t.test('cached blocks read back intact, and slabs of evicted blocks are let go', (t) => {
  const cache = new BlockCache(CAPACITY, SLAB);
  let maxSlabBytes = 0;
  for (let i = 0; i < 5000; i++) {
    readIn(cache, i);
    maxSlabBytes = Math.max(maxSlabBytes, cache.stats().slabBytes);
  }
  t.equal(cache.get(0, 0), undefined, 'the oldest blocks were evicted');
  let intact = 0;
  for (let i = 4000; i < 5000; i++) if (holds(cache.get(0, i)!, i)) intact++;
  t.equal(intact, 1000, 'the newest 1,000 blocks read back as they were read in');
  // Blocks are charged 1,004 bytes (data and restart array); a slab fits 16 of them and 384 bytes spare.
  t.ok(maxSlabBytes <= 1.05 * CAPACITY + 2 * SLAB, `slab memory ${maxSlabBytes} stays within capacity + 5% + 2 slabs`);
  t.end();
});

t.test('hot blocks scattered over many slabs do not keep those slabs alive', (t) => {
  const cache = new BlockCache(CAPACITY, SLAB);
  // One hot block in each of 200 slabs (every 16th block read in), then a stream of one-off reads with
  // the hot blocks used throughout. Left where they were read, they would keep 200 slabs (3.2 MiB).
  const hot: number[] = [];
  /** A reader's get: the cached block, or the block read in again after a miss. */
  const use = (i: number): Block => cache.get(0, i) ?? readIn(cache, i);
  for (let i = 0; i < 3200; i++) {
    readIn(cache, i);
    if (i % 16 === 0) hot.push(i);
    use(hot[i % hot.length]!);
  }
  let maxSlabBytes = 0;
  let hotIntact = 0;
  for (const h of hot) use(h); // those read in late and not used yet were evicted: back in
  const hits = cache.stats().hits;
  for (let i = 3200; i < 20_000; i++) {
    readIn(cache, i);
    const h = hot[i % hot.length]!;
    if (holds(use(h), h)) hotIntact++;
    maxSlabBytes = Math.max(maxSlabBytes, cache.stats().slabBytes);
  }
  t.equal(cache.stats().hits - hits, 20_000 - 3200, `the hot blocks stayed cached (${cache.stats().hits - hits} hits)`);
  t.equal(hotIntact, 20_000 - 3200, 'and intact');
  t.ok(maxSlabBytes <= 1.5 * CAPACITY, `slab memory peaks at ${maxSlabBytes} bytes, within 1.5x the capacity`);
  t.ok(cache.stats().relocations > 0, 'hot blocks were moved out of old slabs');
  t.end();
});

t.test('a block still held elsewhere keeps its bytes after it moves or leaves', (t) => {
  const cache = new BlockCache(CAPACITY, SLAB);
  const held = [readIn(cache, 0), readIn(cache, 1), readIn(cache, 2)];
  for (let i = 3; i < 3000; i++) {
    readIn(cache, i);
    cache.get(0, 1); // block 1 stays hot (and moves); 0 and 2 are evicted
  }
  t.equal(cache.get(0, 0), undefined);
  t.ok(cache.get(0, 1) !== held[1], 'block 1 was moved to a newer slab');
  t.ok(holds(cache.get(0, 1)!, 1), 'the moved copy holds the same bytes');
  t.ok(held.every((b, i) => holds(b, i)), 'the blocks held since they were read still hold their bytes');
  t.end();
});

t.test('blocks that fit in the cache and keep being hit are copied at most once', (t) => {
  const cache = new BlockCache(CAPACITY, SLAB);
  for (let i = 0; i < 600; i++) readIn(cache, i); // ~600 KB in 38 slabs: all of it fits
  let misses = 0;
  for (let i = 0; i < 600; i++) if (cache.get(0, i) === undefined) misses++;
  // The first slabs aged while the rest was read in: their blocks move once, to slabs of their own age.
  const afterFirstRound = cache.stats().relocations;
  for (let round = 0; round < 20; round++) for (let i = 0; i < 600; i++) if (cache.get(0, i) === undefined) misses++;
  t.equal(misses, 0);
  t.ok(afterFirstRound < 600, `${afterFirstRound} blocks moved in the first round`);
  t.equal(cache.stats().relocations, afterFirstRound, 'no block moved after that');
  t.ok(cache.stats().slabBytes <= 1.1 * 600 * 1004 + 2 * SLAB, 'slab memory stays near the blocks\' size');
  t.end();
});

t.test('blocks too big for a slab get memory of their own; a tiny cache uses no slabs', (t) => {
  const cache = new BlockCache(CAPACITY, SLAB);
  t.equal(cache.allocate(SLAB).buffer.byteLength, SLAB, 'a whole-slab block is its own buffer');
  t.equal(cache.stats().slabs, 0);
  const tiny = new BlockCache(1000);
  t.equal(tiny.allocate(100).buffer.byteLength, 100);
  t.equal(tiny.stats().slabs, 0);
  t.end();
});

t.test('blocks inserted pinned (insertAndAcquire) are counted on their slabs like the rest', (t) => {
  const cache = new BlockCache(CAPACITY, SLAB);
  let maxSlabBytes = 0;
  let intact = 0;
  for (let i = 0; i < 5000; i++) {
    const data = cache.allocate(BLOCK);
    data.fill(i % 251, 0, BLOCK - 8);
    data.writeUInt32LE(0, BLOCK - 8);
    data.writeUInt32LE(1, BLOCK - 4);
    const h = cache.insertAndAcquire(0, i, new Block(data, 'x.sst', i * BLOCK));
    if (holds(h.value, i)) intact++;
    cache.release(h);
    maxSlabBytes = Math.max(maxSlabBytes, cache.stats().slabBytes);
  }
  t.equal(intact, 5000, 'each pinned block holds its bytes');
  const s = cache.stats();
  t.equal(cache.get(0, 0), undefined, 'charged their size: the oldest blocks were evicted');
  t.ok(s.entries * BLOCK <= 1.05 * CAPACITY, `${s.entries} blocks cached, within the capacity`);
  t.ok(s.slabBytes >= s.entries * BLOCK, `the slabs counted (${s.slabBytes} bytes) hold every cached block`);
  t.ok(maxSlabBytes <= 1.05 * CAPACITY + 2 * SLAB, `slab memory ${maxSlabBytes} stays within capacity + 5% + 2 slabs`);
  t.end();
});
