import net from 'node:net';
import t from 'tap';
import { encodeFrame, encodePreface, FrameDecoder } from '../../rpc/frame.js';
import { Methods } from '../../rpc/methods.js';
import { RpcServer } from '../../rpc/server.js';
import { waitFor } from '../support/wait.js';

t.test('a client that stops reading cannot make the server buffer without bound', async (t) => {
  const maxInFlight = 64;
  const server = new RpcServer({ maxInFlightPerConnection: maxInFlight });
  server.handle(Methods.Ping, (req) => ({ payload: req.payload }));
  const { port } = await server.listen(0);
  t.teardown(() => server.stop());

  const socket = net.connect(port, '127.0.0.1');
  t.teardown(() => socket.destroy());
  await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
  socket.pause(); // never read, for now
  socket.write(encodePreface());

  // Flood 1 KiB echo requests until backpressure reaches us: the server has paused reading and our
  // socket no longer accepts writes. Both are conditions, polled with a generous deadline.
  const payload = Methods.Ping.request.encode({ payload: Buffer.alloc(1024, 1) }).finish();
  const bound = 256 * 1024 + maxInFlight * 1100 + 128 * 1024; // writer mark + in-flight answers + one read
  let sent = 0;
  let writable = true;
  let peakServerBuffered = 0;
  socket.on('drain', () => (writable = true));
  const deadline = Date.now() + 60_000;
  for (;;) {
    for (let i = 0; i < 256 && writable; i++) writable = socket.write(encodeFrame(++sent, Methods.Ping.id, 0, 0, 0, payload));
    const stats = server.stats();
    peakServerBuffered = Math.max(peakServerBuffered, stats.bufferedBytes);
    if (!writable && stats.pausedConnections === 1) break;
    if (Date.now() > deadline) throw new Error(`no backpressure after sending ${sent} requests`);
    await new Promise((r) => setTimeout(r, 5));
  }
  const stats = server.stats();
  const sentBytes = sent * (16 + payload.length);
  t.ok(sentBytes > 4 * bound, `the client pushed ${(sentBytes / 1048576).toFixed(1)} MiB, far more than the server may hold`);
  t.ok(stats.inFlight <= maxInFlight, `in flight (${stats.inFlight}) stays within the cap`);
  t.ok(peakServerBuffered <= bound, `server buffered at most ${peakServerBuffered} bytes (bound ${bound})`);

  // Once the client reads again, every request is answered: backpressure delayed work, lost none.
  const decoder = new FrameDecoder();
  let answered = 0;
  socket.on('data', (d: Buffer) => {
    decoder.push(d);
    while (decoder.next() !== undefined) answered++;
  });
  socket.resume();
  await waitFor(() => answered === sent, 60_000, `all ${sent} answers`);
  t.equal(answered, sent, 'every request was answered');
});

t.test('a bad frame behind a connection paused by backpressure closes it, and the server lives on', async (t) => {
  // The connection pauses because its client does not read; when the client starts reading, the server's
  // drain callback must not pump the stream it gave up on (it used to recurse into the bad header).
  const server = new RpcServer({ maxInFlightPerConnection: 64, maxFrameSize: 64 * 1024 });
  server.handle(Methods.Ping, (req) => ({ payload: req.payload }));
  const { port } = await server.listen(0);
  t.teardown(() => server.stop());
  const socket = net.connect(port, '127.0.0.1');
  t.teardown(() => socket.destroy());
  await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
  socket.pause();
  socket.write(encodePreface());
  const payload = Methods.Ping.request.encode({ payload: Buffer.alloc(16 * 1024, 1) }).finish();
  let id = 0;
  await waitFor(
    () => {
      for (let i = 0; i < 64; i++) socket.write(encodeFrame(++id, Methods.Ping.id, 0, 0, 0, payload));
      return server.stats().pausedConnections === 1;
    },
    60_000,
    'the connection to pause',
  );
  const oversize = encodeFrame(++id, Methods.Ping.id, 0, 0, 0, new Uint8Array(0));
  oversize.writeUInt32BE(1 << 30, 0);
  socket.write(oversize);
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  socket.on('data', () => {});
  socket.resume();
  await closed;
  t.pass('the connection was closed');
  const client = net.connect(port, '127.0.0.1');
  t.teardown(() => client.destroy());
  const decoder = new FrameDecoder();
  const answered = new Promise<boolean>((resolve) => {
    client.on('data', (d: Buffer) => {
      decoder.push(d);
      if (decoder.next() !== undefined) resolve(true);
    });
  });
  client.write(encodePreface());
  client.write(encodeFrame(1, Methods.Ping.id, 0, 0, 0, Methods.Ping.request.encode({}).finish()));
  t.ok(await answered, 'and the server still answers a new connection');
});
