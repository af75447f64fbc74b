/**
 * The CPU cost of building anti-entropy Merkle trees on one stopped node's replica store, standalone
 * (bench/lib/tree-cost.ts explains the two passes):
 *
 *   node dist/bench/tree-cost.js --data <storeDir> --partitions 256 [--from E --to E] [--json]
 *
 * --data takes the store directory (a node's `<data>/store`) or the node's data directory itself.
 * Prints a one-row table; --json prints the whole result instead. Nothing is written to bench/results.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { printTable } from './lib/report.js';
import { measureTreeCost, type TreeCost } from './lib/tree-cost.js';

const USAGE = 'usage: node dist/bench/tree-cost.js --data <storeDir> [--partitions 256] [--from E --to E] [--json]';

function fail(message: string, code: number): never {
  console.error(`tree-cost: ${message}`);
  if (code === 2) console.error(USAGE);
  process.exit(code);
}

function intArg(name: string, v: string | undefined, min: number): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!/^\d+$/.test(v) || !Number.isSafeInteger(n) || n < min) fail(`--${name} must be an integer >= ${min}, got ${JSON.stringify(v)}`, 2);
  return n;
}

function parse(): { dir: string; partitions: number; fromEpoch?: number; toEpoch?: number; json: boolean } {
  let values;
  try {
    ({ values } = parseArgs({
      options: {
        data: { type: 'string' },
        partitions: { type: 'string', default: '256' },
        from: { type: 'string' },
        to: { type: 'string' },
        json: { type: 'boolean', default: false },
        help: { type: 'boolean', default: false },
      },
    }));
  } catch (err) {
    fail((err as Error).message, 2);
  }
  if (values.help) {
    console.log(USAGE);
    process.exit(0);
  }
  if (values.data === undefined) fail('--data is required', 2);
  // A node's data directory holds the store under store/ (tools/commands/server.ts).
  const dir = existsSync(join(values.data, 'CURRENT')) || !existsSync(join(values.data, 'store', 'CURRENT')) ? values.data : join(values.data, 'store');
  const fromEpoch = intArg('from', values.from, 0);
  const toEpoch = intArg('to', values.to, 0);
  return { dir, partitions: intArg('partitions', values.partitions, 1)!, ...(fromEpoch === undefined ? {} : { fromEpoch }), ...(toEpoch === undefined ? {} : { toEpoch }), json: values.json };
}

function print(r: TreeCost): void {
  const epoch = (c: { epoch: number; records: number; cpuMs: number } | undefined): string => (c === undefined ? '-' : `${c.cpuMs.toFixed(1)} (e${c.epoch}, ${c.records})`);
  printTable(
    ['epochs', 'partitions', 'records', 'cpu ms', 'wall ms', 'cpu ms/100k', 'wall ms/100k', 'index cpu/100k', 'tree cpu/100k', 'epoch cpu ms p50', 'epoch cpu ms max', 'bg jobs'],
    [[`${r.epochs} (${r.from}..${r.to})`, String(r.partitions), r.records, r.cpuMs, r.wallMs, r.cpuMsPer100k, r.wallMsPer100k, r.split.indexCpuMsPer100k, r.split.treeCpuMsPer100k, epoch(r.perEpoch?.median), epoch(r.perEpoch?.max), String(r.backgroundJobs)]],
  );
}

const { dir, json, ...opts } = parse();
try {
  const result = await measureTreeCost(dir, opts);
  if (json) console.log(JSON.stringify(result, null, 2));
  else print(result);
} catch (err) {
  fail((err as Error).message, 1);
}
