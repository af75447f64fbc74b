/**
 * An insert-only skiplist of (key, value) byte strings, the memtable's ordered structure.
 *
 * Layout, for few objects and no per-entry garbage: keys and values are copied into arena chunks
 * (1 MiB each, or a chunk of its own for a large entry). Nodes are records in one Int32Array, a node
 * being the index of its record:
 *
 *   [chunk, offset, key length, value length, next at level 0, next at level 1, ... (height links)]
 *
 * One record per node keeps a search step to two cache lines (the record and the key), where parallel
 * arrays per field cost one miss per field. The head is the record at 0 (MAX_HEIGHT links); since the
 * head is never anyone's successor, 0 also means "none".
 *
 * Nothing is ever removed or moved, so node indices stay valid while entries are added: an iterator
 * keeps working across inserts (it may or may not see entries added after its position).
 *
 * Heights come from an injectable random source (a seeded xorshift by default), so runs are repeatable.
 */

/** Compares a[as, ae) with b[bs, be). */
export interface RangeComparator {
  compareRange(a: Uint8Array, as: number, ae: number, b: Uint8Array, bs: number, be: number): number;
}

export const MAX_HEIGHT = 12;
const BRANCHING = 4;
const CHUNK_SIZE = 1 << 20;
const HEAD = 0;
// Fields of a node record.
const CHUNK = 0;
const OFF = 1;
const KLEN = 2;
const VLEN = 3;
const LINKS = 4;

/** A small deterministic generator in [0, 1) (xorshift32); the default source of node heights. */
export function xorshiftRandom(seed = 0x9e3779b9): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s / 0x100000000;
  };
}

/**
 * A copy of a list's contents that can cross to another thread (postMessage, transferring `arena` and
 * `nodes.buffer`): the arena chunks' bytes concatenated, where each chunk starts in it, and the node
 * records as they are. Node records keep their chunk indexes and offsets, so SkipList.fromImage()
 * rebuilds a working list without touching a single entry.
 */
export interface SkipListImage {
  /** The chunks, back to back from byte 0; bytes past the last chunk's end are unused. */
  arena: ArrayBuffer;
  /** Chunk i is arena[chunkStarts[i], chunkStarts[i + 1]). */
  chunkStarts: Int32Array;
  /** The node records in use (the head's included). */
  nodes: Int32Array<ArrayBuffer>;
  entries: number;
  height: number;
}

export class SkipList {
  private chunks: Buffer[] = [];
  private current = -1; // the chunk small entries are carved from
  private chunkUsed = CHUNK_SIZE; // forces a first chunk on first insert
  private arenaBytes = 0;
  private n = new Int32Array(1 << 12);
  private used = LINKS + MAX_HEIGHT; // the head's record
  private entries = 0;
  private height = 1;
  private readonly splice = new Int32Array(MAX_HEIGHT);
  /** The last node at each level (HEAD where the level is empty): appends in key order skip the search. */
  private readonly tails = new Int32Array(MAX_HEIGHT);

  constructor(
    private readonly cmp: RangeComparator,
    private readonly random: () => number = xorshiftRandom(),
  ) {}

  /**
   * A list over an image made by exportImage(), typically in another thread (flush off the main
   * thread). Its chunks are views of image.arena. It works like any list, inserts included: new entries
   * go to new chunks, and the tails are recomputed here.
   */
  static fromImage(image: SkipListImage, cmp: RangeComparator, random?: () => number): SkipList {
    const starts = image.chunkStarts;
    const n = image.nodes;
    if (starts.length < 1 || starts[starts.length - 1]! > image.arena.byteLength || n.length < LINKS + MAX_HEIGHT) {
      throw new Error('skiplist: malformed image');
    }
    const list = new SkipList(cmp, random);
    for (let i = 0; i + 1 < starts.length; i++) list.chunks.push(Buffer.from(image.arena, starts[i], starts[i + 1]! - starts[i]!));
    list.arenaBytes = starts[starts.length - 1]!;
    list.n = n;
    list.used = n.length;
    list.entries = image.entries;
    list.height = image.height;
    for (let level = 0; level < MAX_HEIGHT; level++) {
      let x = HEAD;
      for (let nx = n[x + LINKS + level]!; nx !== HEAD; nx = n[x + LINKS + level]!) x = nx;
      list.tails[level] = x;
    }
    return list;
  }

  /**
   * Copies the list's contents into buffers that can be transferred to another thread (one memcpy of
   * the arena and one of the node records: no per-entry work). The list itself is unchanged. The arena
   * is `reuse` when it is large enough (an earlier image's, given back), else a new one with a chunk's
   * room to spare, so that the next memtable's image fits it too.
   */
  exportImage(reuse?: ArrayBuffer): SkipListImage {
    const starts = new Int32Array(this.chunks.length + 1);
    let total = 0;
    for (let i = 0; i < this.chunks.length; i++) {
      starts[i] = total;
      total += i === this.current ? this.chunkUsed : this.chunks[i]!.length;
    }
    starts[this.chunks.length] = total;
    // Not zero-filled (every byte in use is overwritten below) and not pooled: transferable as a whole.
    const arena = reuse !== undefined && reuse.byteLength >= total ? reuse : Buffer.allocUnsafeSlow(total + CHUNK_SIZE).buffer;
    const bytes = Buffer.from(arena, 0, total);
    for (let i = 0; i < this.chunks.length; i++) bytes.set(this.chunks[i]!.subarray(0, starts[i + 1]! - starts[i]!), starts[i]);
    return { arena, chunkStarts: starts, nodes: this.n.slice(0, this.used), entries: this.entries, height: this.height };
  }

  /** Number of entries. */
  get count(): number {
    return this.entries;
  }

  /** Bytes held: arena chunks plus node records. */
  memoryUsage(): number {
    return this.arenaBytes + this.n.length * 4;
  }

  /**
   * Copies key[0, keyLength) and value[valueStart, valueEnd) in and links them in order. Keys must be
   * distinct (internal keys are: each carries its own sequence number); inserting an equal key is a
   * caller bug, refused.
   */
  insert(key: Uint8Array, keyLength: number, value: Uint8Array, valueStart = 0, valueEnd = value.length): void {
    const klen = keyLength;
    const vlen = valueEnd - valueStart;
    const h = this.randomHeight();
    const node = this.allocNode(h, klen, vlen);
    const n = this.n;
    const buf = this.chunks[n[node + CHUNK]!]!;
    const off = n[node + OFF]!;
    if (klen <= 64) {
      for (let i = 0; i < klen; i++) buf[off + i] = key[i]!; // cheaper than a view for short keys
    } else {
      buf.set(keyLength === key.length ? key : key.subarray(0, keyLength), off);
    }
    if (vlen > 0) {
      if (Buffer.isBuffer(value)) value.copy(buf, off + klen, valueStart, valueEnd);
      else buf.set(valueStart === 0 && valueEnd === value.length ? value : value.subarray(valueStart, valueEnd), off + klen);
    }

    const splice = this.splice;
    const tails = this.tails;
    if (this.entries > 0 && this.compareNode(tails[0]!, buf, off, off + klen) < 0) {
      // Past the last key (sequential loads, batches in key order): the tails are the predecessors.
      this.link(node, h, tails);
      return;
    }
    // Find the predecessor at every level.
    let x = HEAD;
    let after = HEAD; // a node already known to sort after the key (see searchBefore)
    for (let level = this.height - 1; level >= 0; level--) {
      for (;;) {
        const nx = n[x + LINKS + level]!;
        if (nx === HEAD || nx === after) break;
        const c = this.compareNode(nx, buf, off, off + klen);
        if (c > 0) {
          after = nx;
          break;
        }
        if (c === 0) {
          this.used = node; // undo the allocation (the arena bytes stay, unused)
          throw new Error('skiplist: duplicate key');
        }
        x = nx;
      }
      splice[level] = x;
    }
    this.link(node, h, splice);
  }

  /** Links a node of height h after preds[level] at each of its levels; keeps height and tails. */
  private link(node: number, h: number, preds: Int32Array): void {
    const n = this.n;
    if (h > this.height) {
      for (let level = this.height; level < h; level++) preds[level] = HEAD;
      this.height = h;
    }
    const tails = this.tails;
    for (let level = 0; level < h; level++) {
      const prev = preds[level]! + LINKS + level;
      const next = n[prev]!;
      n[node + LINKS + level] = next;
      n[prev] = node;
      if (next === HEAD) tails[level] = node;
    }
    this.entries++;
  }

  /** The first node with key >= target[0, targetLength), or 0. */
  seekGE(target: Uint8Array, targetLength = target.length): number {
    return this.n[this.searchBefore(target, 0, targetLength) + LINKS]!;
  }

  /** The last node with key < target, or 0. */
  seekLT(target: Uint8Array): number {
    return this.searchBefore(target, 0, target.length);
  }

  first(): number {
    return this.n[HEAD + LINKS]!;
  }

  last(): number {
    const n = this.n;
    let x = HEAD;
    for (let level = this.height - 1; level >= 0; level--) {
      for (;;) {
        const nx = n[x + LINKS + level]!;
        if (nx === HEAD) break;
        x = nx;
      }
    }
    return x;
  }

  next(node: number): number {
    return this.n[node + LINKS]!;
  }

  /** The node before `node`, or 0: a search, as the list has no back links (LevelDB does the same). */
  prev(node: number): number {
    const off = this.n[node + OFF]!;
    return this.searchBefore(this.chunkOf(node), off, off + this.n[node + KLEN]!);
  }

  /** The arena chunk holding a node's key and value; see keyOffset/keyLength/valueLength. */
  chunkOf(node: number): Buffer {
    return this.chunks[this.n[node + CHUNK]!]!;
  }

  keyOffset(node: number): number {
    return this.n[node + OFF]!;
  }

  keyLength(node: number): number {
    return this.n[node + KLEN]!;
  }

  valueLength(node: number): number {
    return this.n[node + VLEN]!;
  }

  key(node: number): Buffer {
    const off = this.n[node + OFF]!;
    return this.chunkOf(node).subarray(off, off + this.n[node + KLEN]!);
  }

  value(node: number): Buffer {
    const off = this.n[node + OFF]! + this.n[node + KLEN]!;
    return this.chunkOf(node).subarray(off, off + this.n[node + VLEN]!);
  }

  /** The last node whose key is < t[ts, te), or the head. */
  private searchBefore(t: Uint8Array, ts: number, te: number): number {
    const n = this.n;
    let x = HEAD;
    // The node that stopped the search one level up is often the next one down too: it is known to
    // be >= t, so it is not compared again (each comparison is a likely cache miss into the arena).
    let after = HEAD;
    for (let level = this.height - 1; level >= 0; level--) {
      for (;;) {
        const nx = n[x + LINKS + level]!;
        if (nx === HEAD || nx === after) break;
        if (this.compareNode(nx, t, ts, te) >= 0) {
          after = nx;
          break;
        }
        x = nx;
      }
    }
    return x;
  }

  /** Compares node's key with t[ts, te). */
  private compareNode(node: number, t: Uint8Array, ts: number, te: number): number {
    const n = this.n;
    const off = n[node + OFF]!;
    return this.cmp.compareRange(this.chunks[n[node + CHUNK]!]!, off, off + n[node + KLEN]!, t, ts, te);
  }

  private randomHeight(): number {
    let h = 1;
    while (h < MAX_HEIGHT && this.random() * BRANCHING < 1) h++;
    return h;
  }

  /** Allocates a node record of height h and arena space for its key and value. */
  private allocNode(h: number, klen: number, vlen: number): number {
    const size = LINKS + h;
    if (this.used + size > this.n.length) {
      const grown = new Int32Array(this.n.length * 2);
      grown.set(this.n);
      this.n = grown;
    }
    const node = this.used;
    this.used += size;
    const n = this.n;
    n.fill(0, node + LINKS, node + size); // a record undone after a duplicate may be reused
    n[node + KLEN] = klen;
    n[node + VLEN] = vlen;
    const bytes = klen + vlen;
    if (bytes > CHUNK_SIZE / 4) {
      // A large entry gets a chunk of its own; the current chunk keeps taking small entries.
      this.chunks.push(Buffer.allocUnsafe(bytes));
      this.arenaBytes += bytes;
      n[node + CHUNK] = this.chunks.length - 1;
      n[node + OFF] = 0;
      return node;
    }
    if (this.chunkUsed + bytes > CHUNK_SIZE) {
      this.chunks.push(Buffer.allocUnsafe(CHUNK_SIZE));
      this.arenaBytes += CHUNK_SIZE;
      this.current = this.chunks.length - 1;
      this.chunkUsed = 0;
    }
    n[node + CHUNK] = this.current;
    n[node + OFF] = this.chunkUsed;
    this.chunkUsed += bytes;
    return node;
  }
}
