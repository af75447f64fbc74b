/**
 * RPC benchmark: echo requests over loopback through our RPC layer, and the same load over a bare
 * Node `net` ping-pong in the same run (the machine's physical limit for this shape of traffic).
 * The server runs in a child process, so client and server each have a core, as in a real deployment.
 *
 *   npm run bench:rpc [-- --seconds 3 --rounds 3 --results-file FILE]
 *
 * Each (scenario, system) runs `rounds` times, the two systems alternating, and the table shows the
 * round with the median throughput of each: on a shared 2-core machine single runs vary by ±20%.
 *
 * Bare baseline: the server writes every received chunk straight back (no parsing at all); the client
 * sends 4-byte-length-prefixed messages, one socket write each, and keeps `inFlight` outstanding.
 */
import { fork } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import net from 'node:net';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { RpcClient } from '../rpc/client.js';
import { Methods } from '../rpc/methods.js';
import { RpcServer } from '../rpc/server.js';
import { numberFlag, parseFlags } from './lib/cli-flags.js';
import { percentile, printTable, writeResults } from './lib/report.js';

const TARGET_RATIO = 0.7; // our throughput / bare baseline, 64 in flight

export interface Scenario {
  inFlight: number;
  payloadBytes: number;
}

/** One (scenario, system) round; the saved `medians` are these (the bench suite reads them). */
export interface Result extends Scenario {
  system: 'mydatastore-rpc' | 'bare-net';
  requests: number;
  seconds: number;
  rps: number;
  p50us: number;
  p99us: number;
}

// ---- server side (child process) -----------------------------------------------------------------------

async function serve(kind: string): Promise<void> {
  let port: number;
  if (kind === 'rpc') {
    const server = new RpcServer();
    server.handle(Methods.Ping, (req) => ({ payload: req.payload }));
    port = (await server.listen(0)).port;
  } else {
    const server = net.createServer({ noDelay: true }, (s) => s.on('data', (d) => s.write(d)));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    port = (server.address() as net.AddressInfo).port;
  }
  process.send?.({ port });
  process.on('disconnect', () => process.exit(0));
}

function startServer(kind: 'rpc' | 'bare'): Promise<{ child: ChildProcess; port: number }> {
  const child = fork(fileURLToPath(import.meta.url), ['--serve', kind], { stdio: 'inherit' });
  return new Promise((resolve, reject) => {
    child.once('message', (m: { port: number }) => resolve({ child, port: m.port }));
    child.once('exit', (code) => reject(new Error(`bench server exited with ${code}`)));
  });
}

// ---- load generators ---------------------------------------------------------------------------------------

/** Runs `inFlight` concurrent loops of `once()` for `seconds` after a warm-up; returns latencies in µs. */
async function drive(once: () => Promise<void>, inFlight: number, seconds: number): Promise<{ count: number; elapsed: number; lat: Float64Array }> {
  const lat = new Float64Array(4_000_000);
  let count = 0;
  let recording = false;
  let stop = false;
  const worker = async () => {
    while (!stop) {
      const t0 = performance.now();
      await once();
      if (recording && count < lat.length) lat[count++] = (performance.now() - t0) * 1000;
    }
  };
  const workers = Array.from({ length: inFlight }, worker);
  await new Promise((r) => setTimeout(r, 500)); // warm-up: JIT, connection, buffers
  recording = true;
  const start = performance.now();
  await new Promise((r) => setTimeout(r, seconds * 1000));
  recording = false;
  const elapsed = (performance.now() - start) / 1000;
  stop = true;
  await Promise.all(workers);
  return { count, elapsed, lat: lat.subarray(0, count) };
}

async function runRpc(port: number, s: Scenario, seconds: number): Promise<Result> {
  const client = new RpcClient();
  const addr = `127.0.0.1:${port}`;
  const payload = Buffer.alloc(s.payloadBytes, 0x61);
  const req = { payload };
  await client.call(addr, Methods.Ping, req);
  const r = await drive(async () => {
    await client.call(addr, Methods.Ping, req);
  }, s.inFlight, seconds);
  client.destroy();
  return summarize('mydatastore-rpc', s, r);
}

/** A bare length-prefixed ping-pong client: one write per message, responses matched in order. */
async function runBare(port: number, s: Scenario, seconds: number): Promise<Result> {
  const socket = net.connect({ port, host: '127.0.0.1', noDelay: true });
  await new Promise<void>((r) => socket.once('connect', () => r()));
  const msg = Buffer.alloc(4 + s.payloadBytes, 0x61);
  msg.writeUInt32BE(s.payloadBytes, 0);
  const waiting: (() => void)[] = [];
  let buf: Buffer = Buffer.alloc(0);
  socket.on('data', (d: Buffer) => {
    buf = buf.length === 0 ? d : Buffer.concat([buf, d]);
    let off = 0;
    while (buf.length - off >= 4) {
      const len = buf.readUInt32BE(off);
      if (buf.length - off < 4 + len) break;
      off += 4 + len;
      waiting.shift()!();
    }
    buf = buf.subarray(off);
  });
  const r = await drive(
    () =>
      new Promise<void>((resolve) => {
        waiting.push(resolve);
        socket.write(msg);
      }),
    s.inFlight,
    seconds,
  );
  socket.destroy();
  return summarize('bare-net', s, r);
}

function summarize(system: Result['system'], s: Scenario, r: { count: number; elapsed: number; lat: Float64Array }): Result {
  return {
    system,
    ...s,
    requests: r.count,
    seconds: r.elapsed,
    rps: r.count / r.elapsed,
    p50us: percentile(r.lat, 50),
    p99us: percentile(r.lat, 99),
  };
}

// ---- main ------------------------------------------------------------------------------------------------

const USAGE = `usage: npm run bench:rpc [-- options]

Echo requests over loopback through our RPC layer and over a bare Node net ping-pong in the same run,
1 and 64 in flight, 16-byte and 1 KiB payloads; the median round of each. A table on stdout, results
in bench/results/.

  --seconds S          seconds per scenario and system (default 3)
  --rounds N           rounds of every scenario (default 3)
  --results-file F     write the JSON results to F
  --help               this text`;

async function main(): Promise<void> {
  const flags = parseFlags('bench:rpc', USAGE, { seconds: { type: 'string' }, rounds: { type: 'string' }, 'results-file': { type: 'string' } }).values;
  const seconds = numberFlag('bench:rpc', USAGE, 'seconds', flags.seconds, 3, { min: 0.1 });
  const rounds = numberFlag('bench:rpc', USAGE, 'rounds', flags.rounds, 3, { whole: true });
  const scenarios: Scenario[] = [];
  for (const inFlight of [1, 64]) for (const payloadBytes of [16, 1024]) scenarios.push({ inFlight, payloadBytes });

  const rpc = await startServer('rpc');
  const bare = await startServer('bare');
  const results: Result[] = [];
  const all: Result[] = [];
  try {
    for (const s of scenarios) {
      const runs: Record<'bare' | 'rpc', Result[]> = { bare: [], rpc: [] };
      for (let round = 1; round <= rounds; round++) {
        for (const system of ['bare', 'rpc'] as const) {
          process.stdout.write(`  [round ${round}/${rounds}] ${system} ${s.inFlight} in flight, ${s.payloadBytes} B ... `);
          const r = system === 'rpc' ? await runRpc(rpc.port, s, seconds) : await runBare(bare.port, s, seconds);
          console.log(`${Math.round(r.rps).toLocaleString('en-US')} req/s`);
          runs[system].push(r);
          all.push(r);
        }
      }
      for (const system of ['bare', 'rpc'] as const) {
        const sorted = runs[system].sort((a, b) => a.rps - b.rps);
        results.push(sorted[Math.floor(sorted.length / 2)]!);
      }
    }
  } finally {
    rpc.child.disconnect();
    bare.child.disconnect();
  }

  console.log(`\nRPC echo over loopback, 1 connection, server in its own process; median of ${rounds} rounds of ${seconds} s\n`);
  const rows: (string | number)[][] = [];
  const verdicts: { scenario: string; ratio: number; target: number | null; pass: boolean | null }[] = [];
  for (const s of scenarios) {
    const ours = results.find((r) => r.system === 'mydatastore-rpc' && r.inFlight === s.inFlight && r.payloadBytes === s.payloadBytes)!;
    const base = results.find((r) => r.system === 'bare-net' && r.inFlight === s.inFlight && r.payloadBytes === s.payloadBytes)!;
    const ratio = ours.rps / base.rps;
    const target = s.inFlight === 64 ? TARGET_RATIO : null;
    const pass = target === null ? null : ratio >= target;
    verdicts.push({ scenario: `${s.inFlight} in flight, ${s.payloadBytes} B`, ratio, target, pass });
    rows.push([
      `${s.inFlight}`,
      `${s.payloadBytes} B`,
      ours.rps,
      ours.p50us,
      ours.p99us,
      base.rps,
      base.p50us,
      base.p99us,
      `${(ratio * 100).toFixed(0)}%`,
      target === null ? '-' : `>= ${target * 100}%: ${pass ? 'pass' : 'MISS'}`,
    ]);
  }
  printTable(['in flight', 'payload', 'rpc req/s', 'rpc p50 µs', 'rpc p99 µs', 'bare req/s', 'bare p50 µs', 'bare p99 µs', 'rpc/bare', 'target'], rows);
  // --results-file: the bench suite collects it there.
  const path = writeResults('rpc', { seconds, rounds, medians: results, verdicts, allRuns: all }, flags['results-file']);
  console.log(`\nresults written to ${path}`);
}

if (process.argv[2] === '--serve') await serve(process.argv[3] ?? 'rpc');
else await main();
