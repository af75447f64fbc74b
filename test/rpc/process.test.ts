import net from 'node:net';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { RpcClient } from '../../rpc/client.js';
import { ConnectionError, FrameTooLargeError, ProtocolError } from '../../rpc/errors.js';
import { decodeErrorDetail, Status } from '../../rpc/errors.js';
import { encodeFrame, encodePreface, Flag, FrameDecoder } from '../../rpc/frame.js';
import type { Frame } from '../../rpc/frame.js';
import { Methods } from '../../rpc/methods.js';
import { exited, killAndWait, startNode } from '../support/processes.js';
import { waitFor } from '../support/wait.js';

const echoServer = fileURLToPath(new URL('./fixtures/echo-server.js', import.meta.url));

/** Sends raw bytes on a fresh socket and collects the frames the server answers until it closes. */
function rawExchange(port: number, bytes: Buffer, halfClose = false): Promise<Frame[]> {
  return new Promise((resolve, reject) => {
    const frames: Frame[] = [];
    const decoder = new FrameDecoder();
    const s = net.connect({ port, host: '127.0.0.1', allowHalfOpen: true }, () => {
      s.write(bytes);
      if (halfClose) s.end();
    });
    s.on('data', (d) => {
      decoder.push(d);
      for (let f = decoder.next(); f !== undefined; f = decoder.next()) frames.push(f);
    });
    s.on('error', reject);
    s.on('end', () => s.end());
    s.on('close', () => resolve(frames));
    s.setTimeout(20_000, () => reject(new Error('the server did not close the connection')));
  });
}

t.test('a server killed mid-request: the client gets ConnectionError, and reconnects once it is back', async (t) => {
  const first = await startNode(t, echoServer, ['0'], /listening (\d+)/);
  const port = first.match;
  const addr = `127.0.0.1:${port}`;
  const client = new RpcClient({ backoffBaseMs: 20, backoffMaxMs: 200 });
  t.teardown(() => client.destroy());
  const before = await client.call(addr, Methods.Ping, { payload: Buffer.from('x') });
  t.match(before.nodeId, /^pid-/);

  const pending = client.call(addr, Methods.Ping, { payload: Buffer.from('hang') }, { timeoutMs: 60_000 }).catch((e: unknown) => e);
  const started = Date.now();
  await killAndWait(first.child);
  t.ok((await pending) instanceof ConnectionError, 'the in-flight request fails with ConnectionError');
  t.ok(Date.now() - started < 10_000, 'it fails fast, not at its 60 s deadline');

  const second = await startNode(t, echoServer, [port], /listening (\d+)/);
  let answer: string | undefined;
  await waitFor(async () => {
    try {
      answer = (await client.call(addr, Methods.Ping, {}, { timeoutMs: 2000 })).nodeId;
      return true;
    } catch (err) {
      if (!(err instanceof ConnectionError)) throw err;
      return false;
    }
  }, 30_000, 'the client to reconnect');
  t.equal(answer, `pid-${second.child.pid}`, 'the same client talks to the restarted server');
});

t.test('garbage and oversize frames get a typed error frame; the server process stays up', async (t) => {
  const srv = await startNode(t, echoServer, ['0'], /listening (\d+)/);
  const port = Number(srv.match);

  const http = await rawExchange(port, Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n'));
  t.equal(http.length, 1, 'one error frame for a client that is not speaking our protocol');
  t.equal(http[0]!.flags & Flag.ERROR, Flag.ERROR);
  t.ok(decodeErrorDetail(http[0]!.status, http[0]!.payload) instanceof ProtocolError);

  const big = encodeFrame(5, Methods.Ping.id, 0, 0, 0, Buffer.alloc(0));
  big.writeUInt32BE(64 * 1024 * 1024, 0); // header announces 64 MiB; the server's limit is 1 MiB
  const oversize = await rawExchange(port, Buffer.concat([encodePreface(), big]));
  t.equal(oversize.length, 1);
  t.equal(oversize[0]!.requestId, 5, 'the error names the offending request');
  t.ok(decodeErrorDetail(oversize[0]!.status, oversize[0]!.payload) instanceof FrameTooLargeError);

  let seed = 7;
  const rand = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32);
  for (let i = 0; i < 20; i++) {
    const junk = Buffer.alloc(16 + Math.floor(rand() * 4000));
    for (let j = 0; j < junk.length; j++) junk[j] = Math.floor(rand() * 256);
    await rawExchange(port, i % 2 === 0 ? Buffer.concat([encodePreface(), junk]) : junk);
  }
  // A well-framed request whose protobuf payload does not decode is INVALID_ARGUMENT; the connection goes on.
  const mixed = await rawExchange(
    port,
    Buffer.concat([
      encodePreface(),
      encodeFrame(1, Methods.Ping.id, 0, 0, 0, Buffer.from([0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f])),
      encodeFrame(2, Methods.Ping.id, 0, 0, 0, Methods.Ping.request.encode({ payload: Buffer.from('ok') }).finish()),
    ]),
    true,
  );
  t.same(
    mixed.map((f) => [f.requestId, f.status]),
    [
      [1, Status.INVALID_ARGUMENT],
      [2, Status.OK],
    ],
    'a bad payload fails only its own request',
  );

  const client = new RpcClient();
  t.teardown(() => client.destroy());
  const res = await client.call(`127.0.0.1:${port}`, Methods.Ping, { payload: Buffer.from('still here') });
  t.equal(Buffer.from(res.payload).toString(), 'still here', 'the next client is served');
  t.equal(srv.child.exitCode, null, 'the server process did not exit');

  srv.child.kill('SIGTERM');
  t.equal(await exited(srv.child), 0, 'SIGTERM shuts the server down cleanly');
});
