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

  // Flood 1 KiB echo requests until the kernel and the server stop taking them (write() stays false).
  const payload = Methods.Ping.request.encode({ payload: Buffer.alloc(1024, 1) }).finish();
  let sent = 0;
  let peakServerBuffered = 0;
  for (let round = 0; round < 400; round++) {
    let more = true;
    for (let i = 0; i < 256 && more; i++) more = socket.write(encodeFrame(++sent, Methods.Ping.id, 0, 0, 0, payload));
    peakServerBuffered = Math.max(peakServerBuffered, server.stats().bufferedBytes);
    if (!more) {
      const drained = await Promise.race([
        new Promise<boolean>((r) => socket.once('drain', () => r(true))),
        new Promise<boolean>((r) => setTimeout(() => r(false), 500)),
      ]);
      if (!drained) break; // the server stopped reading: backpressure reached us
    }
  }
  await waitFor(() => server.stats().pausedConnections === 1, 20_000, 'the server to pause reading');
  const stats = server.stats();
  peakServerBuffered = Math.max(peakServerBuffered, stats.bufferedBytes);
  const sentBytes = sent * (16 + payload.length);
  t.ok(sentBytes > 4 * 1024 * 1024, `the client pushed ${(sentBytes / 1048576).toFixed(1)} MiB of requests`);
  t.ok(stats.inFlight <= maxInFlight, `in flight (${stats.inFlight}) stays within the cap`);
  // Bound: the writer's 256 KiB high-water mark, the in-flight cap's responses, one unread socket chunk.
  const bound = 256 * 1024 + maxInFlight * 1100 + 128 * 1024;
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
