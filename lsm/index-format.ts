/**
 * How IndexedDB (lsm/indexed-db.ts) lays its data out in the key space of one DB. Three disjoint
 * namespaces, told apart by the first byte:
 *
 *   meta key     := 00 ‖ "indexes"                              value: meta value (below)
 *   primary key  := 01 ‖ key                                    value: the record's value
 *   index entry  := 02 ‖ u8 nameLen ‖ name ‖ escape(indexKey) ‖ 00 01 ‖ key      value: empty, or the cover
 *   escape(b)    := every 00 byte of b written as 00 ff, every other byte as it is
 *   meta value   := "IDX" (49 44 58) ‖ version u8 (1) ‖ varint count ‖ (varint nameLen ‖ name)*
 *
 * Why the escape and the 00 01 terminator: bytewise order of the encoded entries must be index-key
 * order first, primary-key order second, even when one index key is a prefix of another. After the
 * common part, a shorter index key continues with 00 01 and a longer one with a byte >= 01 or with
 * 00 ff, so the shorter sorts first — as it does bytewise — whatever primary key follows. A range on
 * index keys is a range on entry keys: gte x → gte P‖esc(x)‖00 01, gt x → gte P‖esc(x)‖00 02, and the
 * same two bounds as exclusive upper bounds for lt x and lte x.
 *
 * Worked example (index "ep", index key 01 00 07, primary key "k1"): 02 02 65 70 01 00 ff 07 00 01 6b 31.
 * Byte by byte in lsm/FORMAT.md ("Secondary indexes").
 */
import { getVarint, putVarint, varintLength } from './coding.js';
import { CorruptionError, InvalidArgumentError } from './errors.js';

export const NS_META = 0x00;
export const NS_PRIMARY = 0x01;
export const NS_INDEX = 0x02;
export const META_KEY: Buffer = Buffer.from([NS_META, ...Buffer.from('indexes')]);
const META_MAGIC = Buffer.from('IDX');
const META_VERSION = 1;
const MAX_NAME_BYTES = 255;

/** Range bounds on user keys (primary keys or index keys), as the iterators take them. */
export interface KeyBounds {
  gt?: Uint8Array;
  gte?: Uint8Array;
  lt?: Uint8Array;
  lte?: Uint8Array;
}

/** The same range as bounds on engine keys: an inclusive or exclusive lower bound, an exclusive upper. */
export interface EngineBounds {
  gt?: Buffer;
  gte?: Buffer;
  lt?: Buffer;
  lte?: Buffer;
}

export function checkIndexName(name: unknown): string {
  if (typeof name !== 'string' || name === '') throw new InvalidArgumentError('an index name must be a non-empty string');
  if (Buffer.byteLength(name) > MAX_NAME_BYTES) throw new InvalidArgumentError(`index name "${name.slice(0, 40)}…" is longer than ${MAX_NAME_BYTES} bytes`);
  return name;
}

export function encodePrimaryKey(key: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(key.length + 1);
  out[0] = NS_PRIMARY;
  out.set(key, 1);
  return out;
}

/** P in the header: the bytes every entry of one index starts with. */
export function indexPrefix(name: string): Buffer {
  const n = Buffer.from(name);
  return Buffer.concat([Buffer.from([NS_INDEX, n.length]), n]);
}

function escapedLength(b: Uint8Array): number {
  let n = b.length;
  for (const x of b) if (x === 0) n++;
  return n;
}

/** prefix ‖ escape(indexKey) ‖ 00 terminator ‖ tail. */
function withEscaped(prefix: Uint8Array, indexKey: Uint8Array, terminator: number, tail: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(prefix.length + escapedLength(indexKey) + 2 + tail.length);
  out.set(prefix, 0);
  let p = prefix.length;
  for (const x of indexKey) {
    out[p++] = x;
    if (x === 0) out[p++] = 0xff;
  }
  out[p++] = 0x00;
  out[p++] = terminator;
  out.set(tail, p);
  return out;
}

export function encodeIndexEntryKey(prefix: Uint8Array, indexKey: Uint8Array, key: Uint8Array): Buffer {
  return withEscaped(prefix, indexKey, 0x01, key);
}

/** Splits an index entry key (which starts with `prefix`) into its index key and primary key. */
export function decodeIndexEntryKey(prefix: Uint8Array, entry: Uint8Array): { indexKey: Buffer; key: Buffer } {
  // First pass: find the terminator and count escapes, so an index key without 00 bytes (the common
  // case) is one copy rather than a byte-by-byte rebuild.
  let p = prefix.length;
  let escapes = 0;
  for (;;) {
    p = entry.indexOf(0, p);
    if (p < 0 || p + 1 >= entry.length) throw new CorruptionError('index entry key has no terminator');
    const next = entry[p + 1];
    if (next === 0x01) break;
    if (next !== 0xff) throw new CorruptionError(`index entry key has a bad escape 00 ${String(next)} at byte ${p + 1}`);
    escapes++;
    p += 2;
  }
  const key = Buffer.from(entry.subarray(p + 2));
  if (escapes === 0) return { indexKey: Buffer.from(entry.subarray(prefix.length, p)), key };
  const indexKey = Buffer.allocUnsafe(p - prefix.length - escapes);
  let o = 0;
  for (let i = prefix.length; i < p; i++) {
    indexKey[o++] = entry[i]!;
    if (entry[i] === 0) i++; // skip the ff of an escaped 00
  }
  return { indexKey, key };
}

/** The smallest key greater than every key starting with `prefix` (prefix never ends in ff here). */
export function prefixEnd(prefix: Uint8Array): Buffer {
  const out = Buffer.from(prefix);
  let i = out.length - 1;
  while (i >= 0 && out[i] === 0xff) i--;
  if (i < 0) throw new InvalidArgumentError('prefix has no successor');
  out[i]! += 1;
  return out.subarray(0, i + 1);
}

/** Index-key bounds → entry-key bounds of index `prefix` (gt ranks before gte, lt before lte). */
export function indexBounds(prefix: Buffer, b: KeyBounds): EngineBounds {
  const empty = Buffer.alloc(0);
  const gte = b.gt !== undefined ? withEscaped(prefix, b.gt, 0x02, empty) : b.gte !== undefined ? withEscaped(prefix, b.gte, 0x01, empty) : prefix;
  const lt = b.lt !== undefined ? withEscaped(prefix, b.lt, 0x01, empty) : b.lte !== undefined ? withEscaped(prefix, b.lte, 0x02, empty) : prefixEnd(prefix);
  return { gte, lt };
}

/** Primary-key bounds → engine-key bounds inside the primary namespace. */
export function primaryBounds(b: KeyBounds): EngineBounds {
  const out: EngineBounds = {};
  if (b.gt !== undefined) out.gt = encodePrimaryKey(b.gt);
  else if (b.gte !== undefined) out.gte = encodePrimaryKey(b.gte);
  else out.gte = Buffer.from([NS_PRIMARY]);
  if (b.lt !== undefined) out.lt = encodePrimaryKey(b.lt);
  else if (b.lte !== undefined) out.lte = encodePrimaryKey(b.lte);
  else out.lt = Buffer.from([NS_PRIMARY + 1]);
  return out;
}

export function encodeMeta(names: readonly string[]): Buffer {
  const encoded = names.map((n) => Buffer.from(n));
  let size = META_MAGIC.length + 1 + varintLength(encoded.length);
  for (const n of encoded) size += varintLength(n.length) + n.length;
  const out = Buffer.alloc(size);
  META_MAGIC.copy(out, 0);
  out[3] = META_VERSION;
  let p = putVarint(out, 4, encoded.length);
  for (const n of encoded) {
    p = putVarint(out, p, n.length);
    n.copy(out, p);
    p += n.length;
  }
  return out;
}

export function decodeMeta(value: Uint8Array): string[] {
  const b = Buffer.from(value.buffer, value.byteOffset, value.length);
  if (b.length < 5 || !b.subarray(0, 3).equals(META_MAGIC)) throw new CorruptionError('index metadata: bad magic');
  if (b[3] !== META_VERSION) throw new CorruptionError(`index metadata: unknown version ${String(b[3])}`);
  const names: string[] = [];
  let { value: count, next: p } = getVarint(b, 4);
  while (count-- > 0) {
    const len = getVarint(b, p);
    if (len.next + len.value > b.length) throw new CorruptionError('index metadata: a name runs past the end');
    names.push(b.toString('utf8', len.next, len.next + len.value));
    p = len.next + len.value;
  }
  if (p !== b.length) throw new CorruptionError('index metadata: trailing bytes');
  return names;
}
