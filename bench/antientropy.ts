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
import { cpSync, createWriteStream, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import Long from 'long';
import { TREE_VERSION } from '../cluster/antientropy/merkle-format.js';
import { recordFromPb } from '../cluster/replica-service.js';
import { encodeRecord } from '../cluster/storage/record.js';
import { RpcClient } from '../rpc/client.js';
import { Methods } from '../rpc/methods.js';
import { mydatastore } from '../proto/gen/messages.js';
import { fetchStatus } from '../tools/commands/status.js';
import { numberFlag, parseFlags } from './lib/cli-flags.js';
import { measureTreeCost } from './lib/tree-cost.js';

const USAGE = `usage: npm run bench:antientropy [-- options]

Issue 8's anti-entropy figure: 3 nodes, N=3, hint replay off; load the keys, kill node3, write and
delete while it is down, restart it, and time until every node's Merkle roots agree. Reports the time,
the bytes moved against the bytes node3 missed, and the cost of building trees; JSON in bench/results/.

  --keys N             keys loaded first (default 100000)
  --writes N           new keys written while node3 is down (default 1000)
  --deletes N          old keys deleted while node3 is down (default 100)
  --partitions N       partitions of the ring (default 256)
  --value-bytes N      bytes per value (default 100)
  --epoch-interval MS  the nodes' epoch interval (default 2000)
  --keep-logs DIR      keep the node logs (debug level) in DIR
  --no-save            print only, write no results file
  --help               this text`;

const opt = parseFlags('bench:antientropy', USAGE, {
  keys: { type: 'string', default: '100000' },
  writes: { type: 'string', default: '1000' },
  deletes: { type: 'string', default: '100' },
  partitions: { type: 'string', default: '256' },
  'value-bytes': { type: 'string', default: '100' },
  'epoch-interval': { type: 'string', default: '2000' },
  'no-save': { type: 'boolean', default: false },
  /** Keep the node logs (debug level) in this directory instead of deleting them with the data. */
  'keep-logs': { type: 'string' },
}).values;
const whole = (name: keyof typeof opt, min: number): number => numberFlag('bench:antientropy', USAGE, name, opt[name], 0, { min, whole: true });
const K = whole('keys', 1);
const M = whole('writes', 0);
const D = whole('deletes', 0);
const P = whole('partitions', 1);
const VALUE = Buffer.alloc(whole('value-bytes', 0), 'v');
const EPOCH_INTERVAL_MS = whole('epoch-interval', 1);
const CLUSTER = 'bench-ae';
const CLI = fileURLToPath(new URL('../tools/mydatastore.js', import.meta.url));
const PRELOAD = pathToFileURL(fileURLToPath(new URL('../tools/exit-with-parent.js', import.meta.url))).href;
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
    '--http', '127.0.0.1:0', '--epoch-interval', String(EPOCH_INTERVAL_MS), '--hint-replay-interval', '3600000', '--partitions', String(P),
    '--probe-interval-ms', '200', '--raft-tick', '50', ...(opt['keep-logs'] === undefined ? [] : ['--log-level', 'debug']), ...(seeds.length > 0 ? ['--seeds', seeds.join(',')] : ['--bootstrap'])];
  const child = spawn(process.execPath, args, { stdio: ['pipe', 'pipe', 'pipe'] });
  const log = createWriteStream(join(dir, `${id}.log`), { flags: 'a' });
  let out = '';
  return new Promise((resolve, reject) => {
    let listening = false;
    const onData = (d: Buffer) => {
      log.write(d);
      if (listening) return; // the log file keeps the rest; holding it all in memory would not fit
      out += d.toString();
      const m = /listening on 127\.0\.0\.1:(\d+)/.exec(out);
      const h = /http gateway on ([^\s"]+)/.exec(out); // the log line is JSON: the URL ends at its quote
      if (m !== null && h !== null) {
        listening = true;
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

/**
 * A write as a client would make it: a put the cluster refused for now (a quorum not reached in time on
 * a busy box, a connection reset) is retried with backoff, up to 8 times. Every retry is counted and the
 * first reasons kept, for the report.
 */
const retries = { count: 0, reasons: new Map<string, number>() };
async function withRetry<T>(call: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await call();
    } catch (err) {
      const code = (err as { code?: string }).code ?? '';
      if (attempt >= 8 || !/UNAVAILABLE|TIMEOUT|CONNECTION|OVERLOADED/.test(code)) throw err;
      retries.count++;
      const reason = `${code}: ${(err as Error).message}`;
      retries.reasons.set(reason, (retries.reasons.get(reason) ?? 0) + 1);
      await sleep(100 * 2 ** Math.min(attempt, 5));
    }
  }
}

async function parallel<T>(items: T[], width: number, fn: (x: T) => Promise<unknown>): Promise<void> {
  let i = 0;
  await Promise.all(Array.from({ length: width }, async () => {
    while (i < items.length) await fn(items[i++]!);
  }));
}

/**
 * Waits until the three nodes' Merkle roots of every partition over all epochs agree, printing progress
 * every 10 s. Once a partition's roots agree they stay equal (no client writes meanwhile, and nothing
 * differs to repair), so each round asks only for the partitions still apart: the check must not
 * compete with the sessions it measures.
 */
async function waitForEqualRoots(nodes: Node[], t0: number, fromEpoch = 0): Promise<number> {
  const apart = new Set(Array.from({ length: P }, (_, p) => p));
  let lastReport = 0;
  let epoch = 0;
  await until('equal roots everywhere', 30 * 60_000, async () => {
    epoch = Long.fromValue((await rpc.call(nodes[0]!.address, Methods.Status, {})).epoch ?? 0).toNumber();
    const epochs = { fromEpoch: Long.fromNumber(fromEpoch, true), toEpoch: Long.fromNumber(epoch, true) };
    for (const p of [...apart]) {
      const req = { from: { clusterId: CLUSTER }, partition: p, epochs, treeVersion: TREE_VERSION, level: 0, indices: [0] };
      const roots = await Promise.all(nodes.map(async (n) => Buffer.from((await rpc.call(n.address, Methods.TreeHashes, req)).hashes).toString('hex')));
      if (new Set(roots).size === 1) apart.delete(p);
    }
    if (Date.now() - lastReport > 10_000 || apart.size === 0) {
      lastReport = Date.now();
      const line = await Promise.all(nodes.map(async (n) => {
        const m = (s: string) => metric(n, `mydatastore_antientropy_${s}`);
        return `${n.id} due ${await m('partitions_due')} failing ${await m('partitions_failing')} sessions ${await m('sessions_total')} failed ${await m('session_failures_total')} applied ${await m('keys_applied_total')}`;
      }));
      console.log(`  ${((Date.now() - t0) / 1000).toFixed(0)} s: epoch ${epoch}, ${P - apart.size}/${P} partitions equal; ${line.join('; ')}`);
    }
    if (apart.size > 0) await sleep(1000);
    return apart.size === 0;
  });
  return epoch;
}

async function main(): Promise<void> {
  const n1 = await start('node1', '127.0.0.1:0', []);
  const n2 = await start('node2', '127.0.0.1:0', [n1.address]);
  const n3 = await start('node3', '127.0.0.1:0', [n1.address, n2.address]);
  await until('a ring of 3', 60_000, async () => (await Promise.all([n1, n2, n3].map((n) => fetchStatus(n.address, 1000)))).every((s) => s.ringMembers.length === 3));
  console.log(`3 nodes up in ${dir}`);

  let t0 = Date.now();
  const loaded = Array.from({ length: K }, (_, i) => `key-${i}`);
  // Spread over the three coordinators, as clients would.
  const coordinators = [n1, n2, n3];
  let done = 0;
  await parallel(loaded, 128, async (k) => {
    await withRetry(() => rpc.call(coordinators[done % 3]!.address, Methods.Put, { key: enc(k), value: VALUE }));
    if (++done % 100_000 === 0) console.log(`  ${done} keys loaded, ${((Date.now() - t0) / 1000).toFixed(0)} s`);
  });
  const loadMs = Date.now() - t0;
  console.log(`loaded ${K} keys in ${loadMs} ms (${retries.count} puts retried${retries.count === 0 ? '' : `: ${[...retries.reasons].slice(0, 3).map(([r, n]) => `${n}× ${r}`).join('; ')}`})`);

  // Start from replicas in sync: a write the load left on two replicas only (a slow third one) would
  // otherwise be repaired after the restart and counted as if node3 had missed it.
  t0 = Date.now();
  const syncedEpoch = await waitForEqualRoots([n1, n2, n3], t0);
  console.log(`replicas in sync ${Date.now() - t0} ms after the load (epoch ${syncedEpoch})`);

  // What anti-entropy costs with replicas in sync: every epoch each node compares every partition's new
  // range with both peers (about 11 bytes each). Measured over 5 epochs, to be told apart from the repair.
  const counters = async (n: Node) => ({
    records: (await metric(n, 'mydatastore_antientropy_bytes_received_total')) + (await metric(n, 'mydatastore_antientropy_bytes_sent_total')),
    hashes: await metric(n, 'mydatastore_antientropy_hash_bytes_total'),
  });
  const epochNow = async (): Promise<number> => Long.fromValue((await rpc.call(n1.address, Methods.Status, {})).epoch ?? 0).toNumber();
  const allBytes = async (): Promise<number> => (await Promise.all([n1, n2, n3].map(counters))).reduce((a, c) => a + c.records + c.hashes, 0);
  const e0 = await epochNow();
  const b0 = await allBytes();
  await until('five epochs in sync', 120_000, async () => (await epochNow()) >= e0 + 5);
  const e1 = await epochNow();
  const inSyncPerEpoch = ((await allBytes()) - b0) / (e1 - e0);

  n3.child.kill('SIGKILL');
  await until('node3 dead in gossip', 60_000, async () => {
    const v = await rpc.call(n1.address, Methods.Members, {});
    return v.members.some((m) => m.nodeId === 'node3' && m.state !== mydatastore.cluster.MemberState.ALIVE);
  });
  const added = Array.from({ length: M }, (_, i) => `new-${i}`);
  const deleted = loaded.filter((_, i) => i % Math.floor(K / D) === 0).slice(0, D);
  await parallel(added, 64, (k) => withRetry(() => rpc.call(n1.address, Methods.Put, { key: enc(k), value: VALUE })));
  await parallel(deleted, 64, (k) => withRetry(() => rpc.call(n2.address, Methods.Delete, { key: enc(k) })));
  let missed = 0;
  for (const k of [...added, ...deleted]) {
    const res = await rpc.call(n1.address, Methods.ReplicaRead, { from: { clusterId: CLUSTER }, key: enc(k) });
    missed += k.length + encodeRecord(recordFromPb(res.record, enc(k)).record).length;
  }
  const before = await Promise.all([counters(n1), counters(n2)]);

  t0 = Date.now();
  const restartEpoch = await epochNow();
  const n3b = await start('node3', n3.address, [n1.address, n2.address]);
  const nodes = [n1, n2, n3b];
  // Every record of an epoch up to syncedEpoch was on all three replicas before node3 stopped (and
  // fsynced there), so the epochs since are the ones to watch: trees over all epochs would cost the
  // check more than the repair it times at 1,000,000 keys. All epochs are compared once at the end.
  await waitForEqualRoots(nodes, t0, syncedEpoch);
  const convergeMs = Date.now() - t0;
  const convergeEpochs = (await epochNow()) - restartEpoch;
  const after = await Promise.all([counters(n1), counters(n2), counters(n3b)]);
  // The final word, not timed or counted: equal roots over all epochs (at 1,000,000 keys the trees of
  // every record, a few minutes of CPU).
  await waitForEqualRoots(nodes, Date.now());
  for (const k of deleted) {
    for (const n of nodes) {
      const r = await rpc.call(n.address, Methods.ReplicaRead, { from: { clusterId: CLUSTER }, key: enc(k) });
      if (r.record?.tombstone !== true) throw new Error(`${k} is not deleted on ${n.id}`);
    }
  }
  const records = after[0].records - before[0].records + after[1].records - before[1].records + after[2].records;
  const hashes = after[0].hashes - before[0].hashes + after[1].hashes - before[1].hashes + after[2].hashes;

  // The CPU cost of building trees, measured on node1's store once it stopped: every (partition, epoch)
  // tree, as the service builds them each epoch (bench/lib/tree-cost.ts). The nodes' own counters would
  // include the trees this bench's checks asked for.
  n1.child.kill('SIGTERM');
  await new Promise((r) => (n1.child.exitCode === null ? n1.child.once('exit', r) : r(undefined)));
  console.log(`moved ${records} record bytes + ${hashes} bytes of tree walk for ${missed} missed`);
  const cost = await measureTreeCost(join(dir, 'node1', 'store'), { partitions: P });
  const result = {
    keys: K, writes: M, deletes: D, partitions: P, valueBytes: VALUE.length, epochIntervalMs: EPOCH_INTERVAL_MS,
    loadMs, loadRetries: retries.count, convergeMs, missedBytes: missed, recordBytesMoved: records, hashBytes: hashes,
    ratio: Number(((records + hashes) / missed).toFixed(3)),
    // In-sync comparisons are tree-walk bytes only: never credited against records.
    convergeEpochs, inSyncBytesPerEpoch: Math.round(inSyncPerEpoch), inSyncBytes: Math.round(Math.min(hashes, inSyncPerEpoch * convergeEpochs)),
    repairRatio: Number(((records + hashes - Math.min(hashes, inSyncPerEpoch * convergeEpochs)) / missed).toFixed(3)),
    treeBuild: {
      records: cost.records, epochs: cost.epochs, cpuMsPer100k: Math.round(cost.cpuMsPer100k),
      indexReadCpuMsPer100k: Math.round(cost.split.indexCpuMsPer100k), treeCpuMsPer100k: Math.round(cost.split.treeCpuMsPer100k),
      medianEpoch: cost.perEpoch?.median, maxEpoch: cost.perEpoch?.max,
    },
  };
  console.log(JSON.stringify(result, null, 2));
  console.log(`converged ${convergeMs} ms (${convergeEpochs} epochs) after restart; moved ${records} record bytes + ${hashes} bytes of tree walk for ${missed} missed: ${result.ratio}×`);
  console.log(`  of which ~${result.inSyncBytes} the in-sync comparisons of those epochs (${result.inSyncBytesPerEpoch} B per epoch, measured before node3 stopped): repair ${result.repairRatio}× (target ≤ 2×)`);
  console.log(`tree builds: ${result.treeBuild.cpuMsPer100k} ms of CPU per 100,000 records (${result.treeBuild.indexReadCpuMsPer100k} reading the index, ${result.treeBuild.treeCpuMsPer100k} hashing), over ${cost.epochs} epochs of ${cost.records} records`);
  if (!opt['no-save']) {
    const out = fileURLToPath(new URL('../../bench/results/', import.meta.url));
    mkdirSync(out, { recursive: true });
    writeFileSync(join(out, `antientropy-${new Date().toISOString().replace(/[:.]/g, '-')}.json`), JSON.stringify(result, null, 2) + '\n');
  }
  if (result.repairRatio > 2) process.exitCode = 1;
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
    if (opt['keep-logs'] !== undefined) {
      mkdirSync(opt['keep-logs'], { recursive: true });
      for (const n of ['node1', 'node2', 'node3']) cpSync(join(dir, `${n}.log`), join(opt['keep-logs'], `${n}.log`));
    }
    rmSync(dir, { recursive: true, force: true });
  });
