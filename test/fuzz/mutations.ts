/**
 * Byte-level mutations of valid encodings, shared by the fuzz targets: flip bits, set a byte, truncate,
 * zero a range, duplicate a range, delete a range, insert or append bytes, and overwrite with
 * "interesting" bytes (huge varints, protobuf tags of every wire type, 0xff runs). Positions are drawn
 * as plain integers and taken modulo the input's length, so they shrink towards the start of the input.
 */
import fc from 'fast-check';

export type Mutation =
  | { readonly kind: 'flip'; readonly at: number; readonly mask: number }
  | { readonly kind: 'set'; readonly at: number; readonly byte: number }
  | { readonly kind: 'truncate'; readonly at: number }
  | { readonly kind: 'zero'; readonly at: number; readonly length: number }
  | { readonly kind: 'duplicate'; readonly at: number; readonly length: number; readonly to: number }
  | { readonly kind: 'delete'; readonly at: number; readonly length: number }
  | { readonly kind: 'insert'; readonly at: number; readonly bytes: Uint8Array }
  | { readonly kind: 'append'; readonly bytes: Uint8Array }
  | { readonly kind: 'overwrite'; readonly at: number; readonly bytes: Uint8Array };

/** Byte strings that break parsers more often than random ones do. */
export const INTERESTING_BYTES: readonly Uint8Array[] = [
  Uint8Array.of(0xff, 0xff, 0xff, 0xff, 0x0f), // varint 2^32-1: a huge length
  Uint8Array.of(0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01), // varint 2^64-1
  Uint8Array.of(0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80), // a varint that never ends
  Uint8Array.of(0x0b), // field 1, wire type 3 (start group)
  Uint8Array.of(0x0c), // field 1, wire type 4 (end group)
  Uint8Array.of(0x0e), // field 1, wire type 6 (invalid)
  Uint8Array.of(0x0f), // field 1, wire type 7 (invalid)
  Uint8Array.of(0x0d, 0xff, 0xff, 0xff, 0xff), // field 1, fixed32
  Uint8Array.of(0x09, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff), // field 1, fixed64
  Uint8Array.of(0x12, 0x7f), // field 2, length 127
  Uint8Array.of(0x00), // tag 0
  Uint8Array.of(0xff, 0xff, 0xff, 0xff),
  Uint8Array.of(0x7f, 0xff, 0xff, 0xff),
  Uint8Array.of(0x80, 0x00, 0x00, 0x00),
  Uint8Array.of(0x00, 0x00, 0x00, 0x00),
];

const at = fc.nat({ max: 1 << 20 });
const length = fc.integer({ min: 1, max: 64 });
const smallBytes = fc.uint8Array({ minLength: 1, maxLength: 32 });

export const mutationArb: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant('flip' as const), at, mask: fc.integer({ min: 1, max: 255 }) }),
  fc.record({ kind: fc.constant('set' as const), at, byte: fc.integer({ min: 0, max: 255 }) }),
  fc.record({ kind: fc.constant('truncate' as const), at }),
  fc.record({ kind: fc.constant('zero' as const), at, length }),
  fc.record({ kind: fc.constant('duplicate' as const), at, length, to: at }),
  fc.record({ kind: fc.constant('delete' as const), at, length }),
  fc.record({ kind: fc.constant('insert' as const), at, bytes: smallBytes }),
  fc.record({ kind: fc.constant('append' as const), bytes: smallBytes }),
  fc.record({ kind: fc.constant('overwrite' as const), at, bytes: fc.constantFrom(...INTERESTING_BYTES) }),
);

/** One to `max` mutations, applied in order. */
export function mutationsArb(max = 4): fc.Arbitrary<Mutation[]> {
  return fc.array(mutationArb, { minLength: 1, maxLength: max });
}

/** A new buffer: `input` with the mutation applied (the input is never changed). */
export function applyMutation(input: Uint8Array, m: Mutation): Buffer {
  const b = Buffer.from(input);
  const n = b.length;
  const pos = (p: number, span = n): number => (span === 0 ? 0 : p % span);
  switch (m.kind) {
    case 'flip':
      if (n > 0) b[pos(m.at)] = b[pos(m.at)]! ^ m.mask;
      return b;
    case 'set':
      if (n > 0) b[pos(m.at)] = m.byte;
      return b;
    case 'truncate':
      return b.subarray(0, pos(m.at, n + 1));
    case 'zero': {
      const from = pos(m.at);
      b.fill(0, from, Math.min(n, from + m.length));
      return b;
    }
    case 'duplicate': {
      const from = pos(m.at);
      const range = b.subarray(from, Math.min(n, from + m.length));
      const to = pos(m.to, n + 1);
      return Buffer.concat([b.subarray(0, to), range, b.subarray(to)]);
    }
    case 'delete': {
      const from = pos(m.at);
      return Buffer.concat([b.subarray(0, from), b.subarray(Math.min(n, from + m.length))]);
    }
    case 'insert': {
      const to = pos(m.at, n + 1);
      return Buffer.concat([b.subarray(0, to), m.bytes, b.subarray(to)]);
    }
    case 'append':
      return Buffer.concat([b, m.bytes]);
    case 'overwrite': {
      const to = pos(m.at);
      for (let i = 0; i < m.bytes.length && to + i < n; i++) b[to + i] = m.bytes[i]!;
      return b;
    }
  }
}

export function applyMutations(input: Uint8Array, ms: readonly Mutation[]): Buffer {
  let b: Buffer = Buffer.from(input);
  for (const m of ms) b = applyMutation(b, m);
  return b;
}

/** The first offset where the two differ (the shorter length when one is a prefix of the other). */
export function firstDifference(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return i;
  return a.length === b.length ? -1 : n;
}

/** Cuts `bytes` into consecutive chunks at the given points (taken modulo its length, any order). */
export function splitAt(bytes: Buffer, cuts: readonly number[]): Buffer[] {
  if (bytes.length === 0) return [];
  const points = [...new Set(cuts.map((c) => c % bytes.length))].filter((p) => p > 0).sort((x, y) => x - y);
  const chunks: Buffer[] = [];
  let from = 0;
  for (const p of points) {
    chunks.push(bytes.subarray(from, p));
    from = p;
  }
  chunks.push(bytes.subarray(from));
  return chunks;
}
