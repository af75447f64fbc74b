import t from 'tap';
import { encodeBehindHeader, encodeFrame, encodePreface, Flag, FrameDecoder, FrameFormatError, HEADER_SIZE, writeFrameHeader } from '../../rpc/frame.js';
import { Methods } from '../../rpc/methods.js';

t.test('the worked example of PROTOCOL.md encodes byte for byte', (t) => {
  const payload = Methods.Ping.request.encode({ payload: Buffer.from('hi') }).finish();
  const frame = encodeFrame(7, Methods.Ping.id, 0, 0, 250, payload);
  t.equal(frame.toString('hex'), '00000004' + '00000007' + '0001' + '00' + '00' + '000000fa' + '0a026869');
  t.equal(encodePreface().toString('hex'), '4d44535001000000');
  const inPlace = writeFrameHeader(encodeBehindHeader(Methods.Ping.request, { payload: Buffer.from('hi') }), 7, Methods.Ping.id, 0, 0, 250);
  t.equal(inPlace.toString('hex'), frame.toString('hex'), 'a message encoded behind room for its header, the header filled in after: the same bytes');
  const big = { payload: Buffer.alloc(70_000, 3) };
  t.same(writeFrameHeader(encodeBehindHeader(Methods.Ping.request, big), 9, 1, Flag.RESPONSE, 0, 0), encodeFrame(9, 1, Flag.RESPONSE, 0, 0, Methods.Ping.request.encode(big).finish()), 'and for a payload of 70,000 bytes');
  t.end();
});

t.test('frames split at every byte boundary decode the same', (t) => {
  const frames = [
    encodeFrame(1, 1, 0, 0, 0, Buffer.from('a')),
    encodeFrame(2, 2, Flag.RESPONSE, 0, 100, Buffer.alloc(3000, 7)),
    encodeFrame(3, 3, Flag.RESPONSE | Flag.ERROR, 4, 0, Buffer.alloc(0)),
  ];
  const stream = Buffer.concat([encodePreface(), ...frames]);
  for (const chunkSize of [1, 2, 3, 7, 16, 17, 1000, stream.length]) {
    const d = new FrameDecoder();
    const got = [];
    for (let i = 0; i < stream.length; i += chunkSize) {
      d.push(stream.subarray(i, i + chunkSize));
      for (let f = d.next(); f !== undefined; f = d.next()) got.push(f);
    }
    t.same(
      got.map((f) => [f.requestId, f.method, f.flags, f.status, f.timeoutMs, f.payload.length]),
      [
        [1, 1, 0, 0, 0, 1],
        [2, 2, Flag.RESPONSE, 0, 100, 3000],
        [3, 3, Flag.RESPONSE | Flag.ERROR, 4, 0, 0],
      ],
      `chunks of ${chunkSize}`,
    );
    t.equal(got[1]!.payload.every((b) => b === 7), true);
    t.equal(d.bufferedBytes, 0);
  }
  t.end();
});

function decodeError(bytes: Buffer, maxFrameSize?: number): FrameFormatError | undefined {
  const d = new FrameDecoder(maxFrameSize);
  d.push(bytes);
  try {
    while (d.next() !== undefined);
  } catch (err) {
    return err as FrameFormatError;
  }
  return undefined;
}

t.test('an oversize frame is refused from its header, before its payload arrives', (t) => {
  const header = encodeFrame(9, 1, 0, 0, 0, Buffer.alloc(0));
  header.writeUInt32BE(1024 * 1024 + 1, 0);
  const err = decodeError(Buffer.concat([encodePreface(), header]), 1024 * 1024);
  t.equal(err?.kind, 'TOO_LARGE');
  t.equal(err?.requestId, 9, 'the error names the request so the client can fail it');
  t.end();
});

t.test('a wrong preface, a wrong version and unknown flag bits are protocol errors', (t) => {
  t.equal(decodeError(Buffer.from('GET / HTTP/1.1\r\n\r\n'))?.kind, 'BAD_PREFACE');
  const v2 = encodePreface();
  v2[4] = 2;
  t.equal(decodeError(v2)?.kind, 'BAD_VERSION');
  const bad = encodeFrame(1, 1, 0, 0, 0, Buffer.alloc(0));
  bad[10] = 0x80;
  t.equal(decodeError(Buffer.concat([encodePreface(), bad]))?.kind, 'BAD_FLAGS');
  t.end();
});

t.test('random bytes never crash the decoder: they decode or throw FrameFormatError', (t) => {
  let seed = 12345;
  const rand = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32);
  let errors = 0;
  let otherErrors = 0;
  for (let i = 0; i < 2000; i++) {
    const junk = Buffer.alloc(1 + Math.floor(rand() * 200));
    for (let j = 0; j < junk.length; j++) junk[j] = Math.floor(rand() * 256);
    // Half the cases start with a valid preface so the header parser is exercised too.
    const input = i % 2 === 0 ? Buffer.concat([encodePreface(), junk]) : junk;
    const err = decodeError(input, 64 * 1024);
    if (err !== undefined) errors++;
    if (err !== undefined && !(err instanceof FrameFormatError)) otherErrors++;
  }
  t.equal(otherErrors, 0, 'only FrameFormatError is thrown');
  t.ok(errors > 1000, `most junk is rejected (${errors} of 2000)`);
  t.equal(HEADER_SIZE, 16);
  t.end();
});
