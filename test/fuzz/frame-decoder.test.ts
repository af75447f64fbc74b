/**
 * Fuzz target: the RPC frame decoder (rpc/frame.ts FrameDecoder). Streams are fed in random chunk splits.
 *   - valid streams (preface, then frames with any header values and payloads) decode back to exactly
 *     the frames encoded, and leave nothing buffered;
 *   - mutated valid streams and random bytes: next() only ever returns a well-formed frame or throws
 *     FrameFormatError (nothing else), every frame that lies wholly before the first changed byte is the
 *     one encoded there, and decoding ends: each frame consumes at least a header of input.
 */
import fc from 'fast-check';
import t from 'tap';
import type { Frame } from '../../rpc/frame.js';
import { encodeFrame, encodePreface, Flag, FrameDecoder, FrameFormatError, HEADER_SIZE, PREFACE_SIZE } from '../../rpc/frame.js';
import { checkProperty, fuzzRuns } from './fuzz-runs.js';
import { startWatchdog } from './hang-watchdog.js';
import { applyMutations, firstDifference, mutationsArb, splitAt } from './mutations.js';

/** Cases here cost microseconds: ten times the runs of the other targets. */
const RUNS = fuzzRuns(10);

interface FrameSpec {
  requestId: number;
  method: number;
  flags: number;
  status: number;
  timeoutMs: number;
  payload: Uint8Array;
}

const frameArb: fc.Arbitrary<FrameSpec> = fc.record({
  requestId: fc.nat({ max: 0xffffffff }),
  method: fc.nat({ max: 0xffff }),
  flags: fc.subarray([Flag.RESPONSE, Flag.ERROR, Flag.GOAWAY]).map((bits) => bits.reduce((a, b) => a | b, 0)),
  status: fc.nat({ max: 255 }),
  timeoutMs: fc.nat({ max: 0xffffffff }),
  payload: fc.uint8Array({ maxLength: 300 }),
});

const cutsArb = fc.array(fc.nat(), { maxLength: 12 });

function encode(frames: readonly FrameSpec[], preface: boolean): Buffer {
  const parts = frames.map((f) => encodeFrame(f.requestId, f.method, f.flags, f.status, f.timeoutMs, f.payload));
  return Buffer.concat(preface ? [encodePreface(), ...parts] : parts);
}

interface Decoded {
  frames: Frame[];
  error: FrameFormatError | undefined;
  buffered: number;
}

/**
 * Feeds the chunks and pulls frames until the decoder needs more or fails, as a connection does. Any
 * throw but FrameFormatError escapes (and fails the property). A decoder that returned frames without
 * consuming input would be stopped by the bound on frames.
 */
function decodeAll(chunks: readonly Buffer[], maxFrameSize: number | undefined, preface: boolean): Decoded {
  const d = new FrameDecoder(maxFrameSize, preface);
  const total = chunks.reduce((n, c) => n + c.length, 0);
  const frames: Frame[] = [];
  try {
    for (const c of chunks) {
      d.push(c);
      for (let f = d.next(); f !== undefined; f = d.next()) {
        frames.push(f);
        if (frames.length > total / HEADER_SIZE + 1) throw new Error('the decoder returns frames without consuming input');
      }
    }
  } catch (err) {
    if (err instanceof FrameFormatError) return { frames, error: err, buffered: d.bufferedBytes };
    throw err;
  }
  return { frames, error: undefined, buffered: d.bufferedBytes };
}

function sameFrame(got: Frame, want: FrameSpec): boolean {
  return (
    got.requestId === want.requestId &&
    got.method === want.method &&
    got.flags === want.flags &&
    got.status === want.status &&
    got.timeoutMs === want.timeoutMs &&
    got.payloadLength === want.payload.length &&
    Buffer.from(want.payload).equals(got.payload)
  );
}

/** A frame the decoder may return at all: header fields in range, known flags, payload of its length. */
function wellFormed(f: Frame, maxFrameSize: number): boolean {
  return (
    f.payload.length === f.payloadLength &&
    f.payloadLength <= maxFrameSize &&
    (f.flags & ~(Flag.RESPONSE | Flag.ERROR | Flag.GOAWAY)) === 0 &&
    Number.isInteger(f.requestId) && f.requestId >= 0 && f.requestId <= 0xffffffff &&
    Number.isInteger(f.method) && f.method >= 0 && f.method <= 0xffff &&
    Number.isInteger(f.status) && f.status >= 0 && f.status <= 255 &&
    Number.isInteger(f.timeoutMs) && f.timeoutMs >= 0 && f.timeoutMs <= 0xffffffff
  );
}

t.test('valid streams in any chunking decode to the frames encoded', async (t) => {
  const dog = startWatchdog('frame-decoder/valid');
  t.teardown(() => dog.close());
  const property = fc.property(fc.array(frameArb, { maxLength: 8 }), fc.boolean(), cutsArb, dog.guard((frames: FrameSpec[], preface: boolean, cuts: number[]) => {
    const stream = encode(frames, preface);
    const out = decodeAll(splitAt(stream, cuts), undefined, preface);
    if (out.error !== undefined) throw new Error(`a valid stream failed to decode: ${out.error.message}`);
    if (out.frames.length !== frames.length) throw new Error(`decoded ${out.frames.length} frames of ${frames.length}`);
    out.frames.forEach((f, i) => {
      if (!sameFrame(f, frames[i]!)) throw new Error(`frame ${i} decoded differently`);
    });
    if (out.buffered !== 0) throw new Error(`${out.buffered} bytes left buffered`);
  }));
  await checkProperty('frame-decoder/valid', property, RUNS);
  t.pass(`${RUNS} valid streams`);
});

t.test('mutated streams: frames before the damage are intact, then frames or FrameFormatError only', async (t) => {
  const dog = startWatchdog('frame-decoder/mutated');
  t.teardown(() => dog.close());
  const maxFrameSizeArb = fc.option(fc.integer({ min: 0, max: 400 }), { nil: undefined });
  const property = fc.property(
    fc.array(frameArb, { minLength: 1, maxLength: 6 }),
    fc.boolean(),
    mutationsArb(),
    cutsArb,
    maxFrameSizeArb,
    dog.guard((frames: FrameSpec[], preface: boolean, mutations, cuts: number[], maxFrameSize: number | undefined) => {
      const stream = encode(frames, preface);
      const mutated = applyMutations(stream, mutations);
      const limit = maxFrameSize ?? Number.MAX_SAFE_INTEGER;
      const out = decodeAll(splitAt(mutated, cuts), maxFrameSize, preface);
      for (const f of out.frames) if (!wellFormed(f, limit)) throw new Error('a malformed frame came out');
      // Frames that end before the first changed byte (and fit the limit) must be exactly what was encoded.
      const damage = firstDifference(stream, mutated);
      let end = preface ? PREFACE_SIZE : 0;
      for (let i = 0; i < frames.length; i++) {
        const f = frames[i]!;
        end += HEADER_SIZE + f.payload.length;
        if (damage >= 0 && end > damage) break;
        if (f.payload.length > limit) break;
        const got = out.frames[i];
        if (got === undefined || !sameFrame(got, f)) throw new Error(`frame ${i}, before the damage at byte ${damage}, was not decoded as encoded`);
      }
      // Without an error every byte is accounted for: in a frame, or still buffered.
      if (out.error === undefined) {
        const used = out.frames.reduce((n, f) => n + HEADER_SIZE + f.payloadLength, 0) + (preface && mutated.length >= PREFACE_SIZE ? PREFACE_SIZE : 0);
        if (used + out.buffered !== mutated.length) throw new Error(`${used} bytes in frames + ${out.buffered} buffered != ${mutated.length} received`);
      }
    }),
  );
  await checkProperty('frame-decoder/mutated', property, RUNS);
  t.pass(`${RUNS} mutated streams`);
});

t.test('random bytes: frames or FrameFormatError only', async (t) => {
  const dog = startWatchdog('frame-decoder/random');
  t.teardown(() => dog.close());
  const property = fc.property(
    fc.uint8Array({ maxLength: 600 }),
    fc.boolean(),
    cutsArb,
    fc.option(fc.integer({ min: 0, max: 1 << 20 }), { nil: undefined }),
    dog.guard((bytes: Uint8Array, withPreface: boolean, cuts: number[], maxFrameSize: number | undefined) => {
      // Half the streams start with a good preface so the frame header parsing is reached too.
      const stream = withPreface ? Buffer.concat([encodePreface(), bytes]) : Buffer.from(bytes);
      const out = decodeAll(splitAt(stream, cuts), maxFrameSize, true);
      for (const f of out.frames) if (!wellFormed(f, maxFrameSize ?? Number.MAX_SAFE_INTEGER)) throw new Error('a malformed frame came out');
    }),
  );
  await checkProperty('frame-decoder/random', property, RUNS);
  t.pass(`${RUNS} random streams`);
});
