/**
 * npm run bench:antientropy — the issue 8 anti-entropy figure at full size: 3 nodes, N=3, hint replay
 * off (1 h), load --keys keys (default 100,000); SIGKILL node3; write --writes new keys (1,000) and
 * delete --deletes old ones (100); restart node3 on its port and data; wait until the three nodes'
 * Merkle roots of every partition over all epochs are equal. Reports the time to converge, the record
 * bytes anti-entropy moved against the bytes node3 missed (and hash bytes apart), and the cost of
 * building trees (ms per 100,000 records, from the nodes' own counters). JSON in bench/results/.
 *
 *   npm run bench:antientropy -- --keys 1000000 --partitions 256 --epoch-interval 2000
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import Long from 'long';
import { TREE_VERSION } from '../cluster/antientropy/merkle-format.js';
import { recordFromPb } from '../cluster/replica-service.js';
import { encodeRecord } from '../cluster/storage/record.js';
import { RpcClient } from '../rpc/client.js';
import { Methods } from '../rpc/methods.js';
import { mydatastore } from '../proto/gen/messages.js';
import { fetchStatus } from '../tools/commands/status.js';

const { values: opt } = parseArgs({
  options: {
    keys: { type: 'string', default: '100000' },
    writes: { type: 'string', default: '1000' },
    deletes: { type: 'string', default: '100' },
    partitions: { type: 'string', default: '256' },
    'value-bytes': { type: 'string', default: '100' },
    'epoch-interval': { type: 'string', default: '2000' },
    'no-save': { type: 'boolean', default: false },
  },
});
const K = Number(opt.keys);
const M = Number(opt.writes);
const D = Number(opt.deletes);
const P = Number(opt.partitions);
const VALUE = Buffer.alloc(Number(opt['value-bytes']), 'v');
const CLUSTER = 'bench-ae';
const CLI = fileURLToPath(new URL('../tools/mydatastore.js', import.meta.url));
const PRELOAD = pathToFileURL(fileURLToPath(new URL('./lib/exit-with-bench.js', import.meta.url))).href;
const enc = (s: string) => Buffer.from(s);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Node {
  id: string;
  address: string;
  http: string;
  child: ChildProcess;
}

const dir = mkdtempSync(join(tmpdir(), 'mydatastore-bench-ae-'));
const rpc = new RpcClient({ connectTimeoutMs: 1000, defaultTimeoutMs: 30_000, backoffMaxMs: 100 });
const running: Node[] = [];

function start(id: string, listen: string, seeds: string[]): Promise<Node> {
  const args = ['--import', PRELOAD, CLI, 'server', '--node-id', id, '--listen', listen, '--data', join(dir, id), '--cluster-id', CLUSTER,
    '--http', '127.0.0.1:0', '--epoch-interval', String(opt['epoch-interval']), '--hint-replay-interval', '3600000', '--partitions', String(P),
    '--probe-interval-ms', '200', '--raft-tick', '50', ...(seeds.length > 0 ? ['--seeds', seeds.join(',')] : ['--bootstrap'])];
  const child = spawn(process.execPath, args, { stdio: ['pipe', 'pipe', 'pipe'] });
  const log = createWriteStream(join(dir, `${id}.log`), { flags: 'a' });
  let out = '';
  return new Promise((resolve, reject) => {
    const onData = (d: Buffer) => {
      log.write(d);
      out += d.toString();
      const m = /listening on 127\.0\.0\.1:(\d+)/.exec(out);
      const h = /http gateway on (\S+)/.exec(out);
      if (m !== null && h !== null) {
        const node = { id, address: `127.0.0.1:${m[1]}`, http: h[1]!.replace(/\/$/, ''), child };
        running.push(node);
        resolve(node);
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.once('exit', (code) => reject(new Error(`${id} exited (${code}) before it listened:\n${out}`)));
  });
}

async function metric(n: Node, name: string): Promise<number> {
  const text = await (await fetch(`${n.http}/metrics`)).text();
  let sum = 0;
  for (const line of text.split('\n')) if (line.startsWith(`${name} `)) sum += Number(line.split(' ')[1]);
  return sum;
}

async function until(what: string, timeoutMs: number, cond: () => Promise<boolean>): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await cond().catch(() => false))) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(200);
  }
}

async function parallel<T>(items: T[], width: number, fn: (x: T) => Promise<unknown>): Promise<void> {
  let i = 0;
  await Promise.all(Array.from({ length: width }, async () => {
    while (i < items.length) await fn(items[i++]!);
  }));
}

async function main(): Promise<void> {
  const n1 = await start('node1', '127.0.0.1:0', []);
  const n2 = await start('node2', '127.0.0.1:0', [n1.address]);
  const n3 = await start('node3', '127.0.0.1:0', [n1.address, n2.address]);
  await until('a ring of 3', 60_000, async () => (await Promise.all([n1, n2, n3].map((n) => fetchStatus(n.address, 1000)))).every((s) => s.ringMembers.length === 3));
  console.log(`3 nodes up in ${dir}`);

  let t0 = Date.now();
  const loaded = Array.from({ length: K }, (_, i) => `key-${i}`);
  await parallel(loaded, 128, (k) => rpc.call(n1.address, Methods.Put, { key: enc(k), value: VALUE }));
  const loadMs = Date.now() - t0;
  console.log(`loaded ${K} keys in ${loadMs} ms`);

  n3.child.kill('SIGKILL');
  await until('node3 dead in gossip', 60_000, async () => {
    const v = await rpc.call(n1.address, Methods.Members, {});
    return v.members.some((m) => m.nodeId === 'node3' && m.state !== mydatastore.cluster.MemberState.ALIVE);
  });
  const added = Array.from({ length: M }, (_, i) => `new-${i}`);
  const deleted = loaded.filter((_, i) => i % Math.floor(K / D) === 0).slice(0, D);
  await parallel(added, 64, (k) => rpc.call(n1.address, Methods.Put, { key: enc(k), value: VALUE }));
  await parallel(deleted, 64, (k) => rpc.call(n2.address, Methods.Delete, { key: enc(k) }));
  let missed = 0;
  for (const k of [...added, ...deleted]) {
    const res = await rpc.call(n1.address, Methods.ReplicaRead, { from: { clusterId: CLUSTER }, key: enc(k) });
    missed += k.length + encodeRecord(recordFromPb(res.record, enc(k)).record).length;
  }
  const counters = async (n: Node) => ({
    records: (await metric(n, 'mydatastore_antientropy_bytes_received_total')) + (await metric(n, 'mydatastore_antientropy_bytes_sent_total')),
    hashes: await metric(n, 'mydatastore_antientropy_hash_bytes_total'),
    treeRecords: await metric(n, 'mydatastore_antientropy_tree_records_total'),
    treeSeconds: await metric(n, 'mydatastore_antientropy_tree_build_seconds_total'),
  });
  const before = await Promise.all([counters(n1), counters(n2)]);

  t0 = Date.now();
  const n3b = await start('node3', n3.address, [n1.address, n2.address]);
  const nodes = [n1, n2, n3b];
  await until('equal roots everywhere', 30 * 60_000, async () => {
    const epoch = Long.fromValue((await rpc.call(n1.address, Methods.Status, {})).epoch ?? 0).toNumber();
    const epochs = { fromEpoch: Long.fromNumber(0, true), toEpoch: Long.fromNumber(epoch, true) };
    for (let p = 0; p < P; p++) {
      const req = { from: { clusterId: CLUSTER }, partition: p, epochs, treeVersion: TREE_VERSION, level: 0, indices: [0] };
      const roots = await Promise.all(nodes.map(async (n) => Buffer.from((await rpc.call(n.address, Methods.TreeHashes, req)).hashes).toString('hex')));
      if (new Set(roots).size !== 1) return false;
    }
    return true;
  });
  const convergeMs = Date.now() - t0;
  for (const k of deleted) {
    for (const n of nodes) {
      const r = await rpc.call(n.address, Methods.ReplicaRead, { from: { clusterId: CLUSTER }, key: enc(k) });
      if (r.record?.tombstone !== true) throw new Error(`${k} is not deleted on ${n.id}`);
    }
  }
  const after = await Promise.all([counters(n1), counters(n2), counters(n3b)]);
  const records = after[0].records - before[0].records + after[1].records - before[1].records + after[2].records;
  const hashes = after[0].hashes - before[0].hashes + after[1].hashes - before[1].hashes + after[2].hashes;
  const treeRecords = after.reduce((a, c) => a + c.treeRecords, 0);
  const treeSeconds = after.reduce((a, c) => a + c.treeSeconds, 0);
  const result = {
    keys: K, writes: M, deletes: D, partitions: P, valueBytes: VALUE.length, epochIntervalMs: Number(opt['epoch-interval']),
    loadMs, convergeMs, missedBytes: missed, recordBytesMoved: records, ratio: Number((records / missed).toFixed(3)), hashBytes: hashes,
    treeRecords, treeBuildMsPer100k: treeRecords === 0 ? 0 : Number(((treeSeconds * 1000 * 100_000) / treeRecords).toFixed(1)),
  };
  console.log(JSON.stringify(result, null, 2));
  console.log(`converged ${convergeMs} ms after restart; moved ${records} record bytes for ${missed} missed (${result.ratio}×) + ${hashes} hash bytes; tree builds ${result.treeBuildMsPer100k} ms per 100,000 records (wall, all nodes)`);
  if (!opt['no-save']) {
    const out = fileURLToPath(new URL('../../bench/results/', import.meta.url));
    mkdirSync(out, { recursive: true });
    writeFileSync(join(out, `antientropy-${new Date().toISOString().replace(/[:.]/g, '-')}.json`), JSON.stringify(result, null, 2) + '\n');
  }
  if (records > 2 * missed) process.exitCode = 1;
}

main()
  .catch((err: unknown) => {
    console.error(err);
    process.exitCode = 1;
  })
  .finally(async () => {
    for (const n of running) if (n.child.exitCode === null && n.child.signalCode === null) n.child.kill('SIGTERM');
    const exits = running.filter((n) => n.child.exitCode === null && n.child.signalCode === null).map((n) => new Promise((r) => n.child.once('exit', r)));
    await Promise.all(exits);
    rpc.destroy();
    rmSync(dir, { recursive: true, force: true });
  });
