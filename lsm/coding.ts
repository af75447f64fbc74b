/**
 * Integer encodings shared by the engine's formats: little-endian fixed-width integers and LEB128
 * varints (7 bits a byte, low bits first, high bit set on every byte but the last).
 * 64-bit values (sequence numbers, file sizes) are JavaScript numbers below 2^53.
 */
import { CorruptionError } from './errors.js';

export const MAX_VARINT32_BYTES = 5;
export const MAX_VARINT64_BYTES = 10;

export function varintLength(v: number): number {
  let n = 1;
  while (v >= 0x80) {
    v = Math.floor(v / 128);
    n++;
  }
  return n;
}

/** Writes v (0 <= v < 2^53) at buf[pos]; returns the position after it. */
export function putVarint(buf: Uint8Array, pos: number, v: number): number {
  while (v >= 0x80) {
    buf[pos++] = (v & 0x7f) | 0x80;
    v = Math.floor(v / 128);
  }
  buf[pos++] = v;
  return pos;
}

/** A decoded varint and the position after it. */
export interface Decoded {
  value: number;
  next: number;
}

/** Reads a varint at buf[pos] (up to `limit`); throws CorruptionError if it runs past the limit or 2^53. */
export function getVarint(buf: Uint8Array, pos: number, limit = buf.length): Decoded {
  let value = 0;
  let scale = 1;
  for (let i = 0; i < MAX_VARINT64_BYTES && pos < limit; i++) {
    const b = buf[pos++]!;
    value += (b & 0x7f) * scale;
    if (b < 0x80) {
      if (value > Number.MAX_SAFE_INTEGER) break;
      return { value, next: pos };
    }
    scale *= 128;
  }
  throw new CorruptionError('bad varint');
}

export function putFixed32(buf: Uint8Array, pos: number, v: number): void {
  buf[pos] = v & 0xff;
  buf[pos + 1] = (v >>> 8) & 0xff;
  buf[pos + 2] = (v >>> 16) & 0xff;
  buf[pos + 3] = (v >>> 24) & 0xff;
}

export function getFixed32(buf: Uint8Array, pos: number): number {
  return (buf[pos]! | (buf[pos + 1]! << 8) | (buf[pos + 2]! << 16) | (buf[pos + 3]! << 24)) >>> 0;
}

/** 64-bit little-endian as two 32-bit halves; v must be below 2^53. */
export function putFixed64(buf: Uint8Array, pos: number, v: number): void {
  putFixed32(buf, pos, v >>> 0);
  putFixed32(buf, pos + 4, Math.floor(v / 0x100000000));
}

export function getFixed64(buf: Uint8Array, pos: number): number {
  const hi = getFixed32(buf, pos + 4);
  if (hi > 0x1fffff) throw new CorruptionError('64-bit value above 2^53');
  return hi * 0x100000000 + getFixed32(buf, pos);
}
