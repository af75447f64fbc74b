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
