/**
 * A flood beyond capacity (issue 12, "Bad input and limits"): 16 connections pipeline 16,000 Puts of 64 KiB
 * (1 GiB offered at once) at one real node. The node must answer every request (OK or OVERLOADED), keep
 * its memory bounded (RSS growth under FLOOD_RSS_BOUND while the flood lasts), and serve normal traffic
 * afterwards. Without the node-wide in-flight limits (rpc/server.ts) the node holds 1024 requests per
 * connection, about 1 GiB here, and the RSS check fails.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { rssBytes } from '../../bench/lib/proc-usage.js';
import { Client } from '../../client/client.js';
import { encodeFrame, encodePreface, Flag, FrameDecoder } from '../../rpc/frame.js';
import { Status } from '../../rpc/errors.js';
import { Methods } from '../../rpc/methods.js';
import { startNode } from '../support/processes.js';
import { waitFor } from '../support/wait.js';
import { cli, FAST_FLAGS } from './real-cluster.js';

const CONNECTIONS = 16;
const PER_CONNECTION = 1000;
const VALUE_BYTES = 64 * 1024;
/** The node's byte budget for requests in flight (a flag), and the RSS growth we accept over its baseline. */
const IN_FLIGHT_BUDGET = '16MiB';
const FLOOD_RSS_BOUND = 512 * 1024 * 1024;

const rssOf = (pid: number): number => rssBytes(pid) ?? 0;

/** One raw connection that writes `count` Put frames sharing one payload buffer, and counts the answers. */
function flood(port: number, connection: number, counts: { ok: number; overloaded: number; other: number }): Promise<void> {
  const payload = Methods.Put.request.encode({ key: Buffer.from(`flood-${connection}`), value: Buffer.alloc(VALUE_BYTES, connection) }).finish();
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    const decoder = new FrameDecoder(1 << 20);
    let answered = 0;
    socket.on('error', reject);
    socket.on('data', (chunk: Buffer) => {
      decoder.push(chunk);
      for (let f = decoder.next(); f !== undefined; f = decoder.next()) {
        if (f.requestId === 0) continue;
        answered++;
        if ((f.flags & Flag.ERROR) === 0) counts.ok++;
        else if (f.status === (Status.OVERLOADED as number)) counts.overloaded++;
        else counts.other++;
        if (answered === PER_CONNECTION) {
          socket.end();
          resolve();
        }
      }
    });
    socket.write(encodePreface());
    for (let id = 1; id <= PER_CONNECTION; id++) {
      // The header alone, then the shared payload: the flood costs this process almost no memory.
      const header = encodeFrame(id, Methods.Put.id, 0, 0, 60_000, new Uint8Array(0));
      header.writeUInt32BE(payload.length, 0);
      socket.write(header);
      socket.write(payload);
    }
  });
}

t.test('a flood beyond capacity: every request answered, OVERLOADED for the excess, memory bounded, service after', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'mydatastore-flood-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const args = ['server', '--node-id', 'f1', '--listen', '127.0.0.1:0', '--data', join(dir, 'f1'), '--bootstrap', ...FAST_FLAGS];
  args.push('--http', 'off', '--replicas', '1', '--read-quorum', '1', '--write-quorum', '1', '--max-in-flight-bytes', IN_FLIGHT_BUDGET);
  const node = await startNode(t, cli, args, /listening on 127\.0\.0\.1:(\d+)/);
  const port = Number(node.match);
  const client = new Client({ seeds: [`127.0.0.1:${port}`], defaultDeadlineMs: 10_000 });
  t.teardown(() => client.close());
  await waitFor(() => client.put('before', 'flood').then(() => true, () => false), 60_000, 'the node to take writes');

  const pid = node.child.pid!;
  const baseline = rssOf(pid);
  let peak = baseline;
  const sampler = setInterval(() => (peak = Math.max(peak, rssOf(pid))), 50);
  t.teardown(() => clearInterval(sampler));
  const counts = { ok: 0, overloaded: 0, other: 0 };
  const started = Date.now();
  await Promise.all(Array.from({ length: CONNECTIONS }, (_, i) => flood(port, i, counts)));
  clearInterval(sampler);
  const growth = peak - baseline;
  t.comment(`flood: ${counts.ok} ok, ${counts.overloaded} overloaded, ${counts.other} other in ${Date.now() - started} ms; RSS ${(baseline / 2 ** 20).toFixed(0)} MiB → peak ${(peak / 2 ** 20).toFixed(0)} MiB`);

  t.equal(counts.ok + counts.overloaded + counts.other, CONNECTIONS * PER_CONNECTION, 'every request was answered');
  t.equal(counts.other, 0, 'with OK or OVERLOADED only');
  t.ok(counts.overloaded > 0, 'the excess was shed with OVERLOADED');
  t.ok(counts.ok > 0, 'while some writes went through');
  t.ok(growth < FLOOD_RSS_BOUND, `RSS grew ${(growth / 2 ** 20).toFixed(0)} MiB, under the ${FLOOD_RSS_BOUND / 2 ** 20} MiB bound`);

  await client.put('after', 'flood');
  t.equal((await client.get('after'))?.toString(), 'flood', 'normal traffic is served after the flood');
  t.equal((await client.get('before'))?.toString(), 'flood', 'and data from before is intact');
  t.equal(node.child.exitCode, null, 'the node is still running');
});
