/**
 * Table builders' output buffers, kept for reuse within a thread instead of left to the garbage
 * collector. A builder hands its pending bytes (about 1 MiB at a time) to the file and goes on in
 * another buffer; once the append settles, the first one is free again (a WritableFile does not keep
 * the bytes it was given: env.ts). Allocated anew each time, these 1-2 MiB buffers were most of what the
 * background thread allocated, and glibc serves them from that thread's malloc arena, which keeps its
 * high-water mark (THREADS.md, "Costs").
 */

/** Buffers kept per thread: two per builder at work covers a flush and a compaction at once. */
const MAX_KEPT = 4;
const kept: Buffer[] = [];
let allocated = 0;

/** A kept buffer of at least `bytes`, or a new one of exactly that size. Contents are garbage. */
export function takeOutputBuffer(bytes: number): Buffer {
  for (let i = kept.length - 1; i >= 0; i--) {
    const b = kept[i]!;
    if (b.length >= bytes) {
      kept.splice(i, 1);
      return b;
    }
  }
  allocated++;
  return Buffer.allocUnsafe(bytes);
}

/**
 * Gives a buffer nothing refers to any more back for reuse. With enough kept, the smallest of them and
 * it is dropped: a builder grows its buffer from a few KiB, and the small ones must not crowd out the
 * large ones it grows into.
 */
export function returnOutputBuffer(b: Buffer): void {
  if (kept.includes(b)) return;
  if (kept.length < MAX_KEPT) {
    kept.push(b);
    return;
  }
  let smallest = 0;
  for (let i = 1; i < kept.length; i++) if (kept[i]!.length < kept[smallest]!.length) smallest = i;
  if (kept[smallest]!.length < b.length) kept[smallest] = b;
}

/** Buffers allocated in this thread so far (not taken from the kept ones): for tests. */
export function outputBuffersAllocated(): number {
  return allocated;
}
