/**
 * The wire format: a connection preface, then length-prefixed frames. rpc/PROTOCOL.md mirrors this.
 *
 * Preface (8 bytes, each side sends it once, first):
 *
 *   +----+----+----+----+---------+----+----+----+
 *   | 'M'| 'D'| 'S'| 'P'| version | 0  | 0  | 0  |
 *   +----+----+----+----+---------+----+----+----+
 *
 * Frame = 16-byte header + payload, all integers big-endian:
 *
 *    0               4               8       10  11  12              16
 *   +---------------+---------------+-------+---+---+---------------+------------------+
 *   | payload len   | request id    |method |flg|sts| timeout ms    | payload (len B)  |
 *   | u32           | u32           | u16   |u8 |u8 | u32           | protobuf message |
 *   +---------------+---------------+-------+---+---+---------------+------------------+
 *
 * Worked example: a Ping request (method 1), request id 7, 250 ms timeout, payload = PingRequest with
 * payload "hi" (protobuf bytes 0a 02 68 69):
 *
 *   00 00 00 04  00 00 00 07  00 01  00  00  00 00 00 fa  0a 02 68 69
 *
 * Request id 0 means "the connection itself": connection errors and GOAWAY use it.
 */

import protobuf from 'protobufjs/minimal.js';

const { Writer } = protobuf;
type Writer = protobuf.Writer;

export const PREFACE_MAGIC = 0x4d445350; // "MDSP"
export const PROTOCOL_VERSION = 1;
export const PREFACE_SIZE = 8;
export const HEADER_SIZE = 16;
export const DEFAULT_MAX_FRAME_SIZE = 16 * 1024 * 1024;

/** Flag bits of the header's flags byte. Bits not named here must be zero. */
export const Flag = {
  /** The frame answers the request with the same id. */
  RESPONSE: 0x01,
  /** The payload is an ErrorDetail; the status byte is not OK. */
  ERROR: 0x02,
  /** The sender accepts no new requests on this connection (request id 0, method 0). */
  GOAWAY: 0x04,
} as const;
const KNOWN_FLAGS = Flag.RESPONSE | Flag.ERROR | Flag.GOAWAY;

export interface FrameHeader {
  payloadLength: number;
  requestId: number;
  method: number;
  flags: number;
  status: number;
  timeoutMs: number;
}

export interface Frame extends FrameHeader {
  payload: Buffer;
}

export function encodePreface(): Buffer {
  const b = Buffer.alloc(PREFACE_SIZE);
  b.writeUInt32BE(PREFACE_MAGIC, 0);
  b.writeUInt8(PROTOCOL_VERSION, 4);
  return b;
}

/** Builds one frame (header and payload in one buffer, so the socket gets a single write). */
export function encodeFrame(
  requestId: number,
  method: number,
  flags: number,
  status: number,
  timeoutMs: number,
  payload: Uint8Array,
): Buffer {
  const b = Buffer.allocUnsafe(HEADER_SIZE + payload.length);
  b.set(payload, HEADER_SIZE);
  return writeFrameHeader(b, requestId, method, flags, status, timeoutMs);
}

/**
 * A protobuf message encoded behind HEADER_SIZE bytes of room for its frame header: writeFrameHeader()
 * then makes it a frame in place. The payload is not copied a second time (a 1 KiB value crosses a
 * node several times per write; each copy is garbage the collector pays for).
 */
export function encodeBehindHeader<In>(codec: { encode(message: In, writer?: Writer): Writer }, message: In): Buffer {
  const w = Writer.create();
  for (let i = 0; i < HEADER_SIZE; i += 4) w.fixed32(0);
  const out = codec.encode(message, w).finish();
  return Buffer.isBuffer(out) ? out : Buffer.from(out.buffer, out.byteOffset, out.length);
}

/** Fills in the header of a frame built by encodeBehindHeader (its payload is the rest of `b`). */
export function writeFrameHeader(b: Buffer, requestId: number, method: number, flags: number, status: number, timeoutMs: number): Buffer {
  b.writeUInt32BE(b.length - HEADER_SIZE, 0);
  b.writeUInt32BE(requestId, 4);
  b.writeUInt16BE(method, 8);
  b[10] = flags;
  b[11] = status;
  b.writeUInt32BE(timeoutMs, 12);
  return b;
}

/** Why a byte stream could not be decoded. The connection is closed after any of these. */
export type FrameErrorKind = 'BAD_PREFACE' | 'BAD_VERSION' | 'BAD_FLAGS' | 'TOO_LARGE';

export class FrameFormatError extends Error {
  constructor(
    readonly kind: FrameErrorKind,
    message: string,
    /** Request id of the offending frame when its header was readable, else 0. */
    readonly requestId = 0,
  ) {
    super(message);
    this.name = 'FrameFormatError';
  }
}

/**
 * Incremental decoder: push() socket chunks, pull frames with next(). It holds at most one partial
 * frame plus whatever chunk is not consumed yet, so the caller bounds memory by pausing the socket
 * while it stops pulling. A frame that lies within one chunk is returned as a view, without a copy;
 * the only allocation per frame is that view (the decoder reads headers in place at an offset).
 */
export class FrameDecoder {
  private chunks: Buffer[] = [];
  /** Read position within chunks[0]. */
  private pos = 0;
  private buffered = 0;
  private prefaceSeen: boolean;

  constructor(
    private readonly maxFrameSize: number = DEFAULT_MAX_FRAME_SIZE,
    expectPreface = true,
  ) {
    this.prefaceSeen = !expectPreface;
  }

  push(chunk: Buffer): void {
    if (chunk.length === 0) return;
    this.chunks.push(chunk);
    this.buffered += chunk.length;
  }

  /** Bytes received but not yet returned as frames. */
  get bufferedBytes(): number {
    return this.buffered;
  }

  /** The next whole frame, or undefined when more bytes are needed. Throws FrameFormatError. */
  next(): Frame | undefined {
    if (!this.prefaceSeen) {
      if (this.buffered < PREFACE_SIZE) return undefined;
      const p = this.contiguous(PREFACE_SIZE);
      const magic = p.readUInt32BE(this.pos);
      const version = p[this.pos + 4];
      this.consume(PREFACE_SIZE);
      if (magic !== PREFACE_MAGIC) {
        throw new FrameFormatError('BAD_PREFACE', 'the peer does not speak the MyDataStore protocol');
      }
      if (version !== PROTOCOL_VERSION) {
        throw new FrameFormatError('BAD_VERSION', `unsupported protocol version ${version}, expected ${PROTOCOL_VERSION}`);
      }
      this.prefaceSeen = true;
    }
    if (this.buffered < HEADER_SIZE) return undefined;
    const h = this.contiguous(HEADER_SIZE);
    const at = this.pos;
    const payloadLength = h.readUInt32BE(at);
    const requestId = h.readUInt32BE(at + 4);
    const flags = h[at + 10]!;
    if ((flags & ~KNOWN_FLAGS) !== 0) {
      throw new FrameFormatError('BAD_FLAGS', `unknown flag bits 0x${flags.toString(16)}`, requestId);
    }
    if (payloadLength > this.maxFrameSize) {
      throw new FrameFormatError(
        'TOO_LARGE',
        `frame payload of ${payloadLength} bytes exceeds the limit of ${this.maxFrameSize}`,
        requestId,
      );
    }
    if (this.buffered < HEADER_SIZE + payloadLength) return undefined;
    const method = h.readUInt16BE(at + 8);
    const status = h[at + 11]!;
    const timeoutMs = h.readUInt32BE(at + 12);
    this.consume(HEADER_SIZE);
    return { payloadLength, requestId, method, flags, status, timeoutMs, payload: this.take(payloadLength) };
  }

  /** Makes the first n buffered bytes contiguous in chunks[0] from pos (merging chunks if needed). */
  private contiguous(n: number): Buffer {
    const first = this.chunks[0]!;
    if (first.length - this.pos >= n) return first;
    const merged = Buffer.concat([first.subarray(this.pos), ...this.chunks.slice(1)], this.buffered);
    this.chunks = [merged];
    this.pos = 0;
    return merged;
  }

  private consume(n: number): void {
    this.pos += n;
    this.buffered -= n;
    while (this.chunks.length > 0 && this.pos >= this.chunks[0]!.length) {
      this.pos -= this.chunks[0]!.length;
      this.chunks.shift();
    }
  }

  /** Removes n bytes (n <= buffered) from the front: a view when they lie within one chunk. */
  private take(n: number): Buffer {
    if (n === 0) return EMPTY;
    const first = this.chunks[0]!;
    if (first.length - this.pos >= n) {
      const out = first.subarray(this.pos, this.pos + n);
      this.consume(n);
      return out;
    }
    const out = Buffer.allocUnsafe(n);
    let filled = 0;
    while (filled < n) {
      const c = this.chunks[0]!;
      const len = Math.min(c.length - this.pos, n - filled);
      c.copy(out, filled, this.pos, this.pos + len);
      filled += len;
      this.consume(len);
    }
    return out;
  }
}

const EMPTY = Buffer.alloc(0);
