/** Shared by the benchmarks: percentiles, a printed table, and JSON results under bench/results/. */
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const RESULTS_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'bench', 'results');

/** The p-th percentile (0..100) of samples; sorts in place. */
export function percentile(samples: Float64Array | number[], p: number): number {
  if (samples.length === 0) return NaN;
  const sorted = samples instanceof Float64Array ? samples.sort() : samples.sort((a, b) => a - b);
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i]!;
}

export function printTable(headers: string[], rows: (string | number)[][]): void {
  const cells = [headers, ...rows.map((r) => r.map((c) => (typeof c === 'number' ? fmt(c) : c)))];
  const widths = headers.map((_, i) => Math.max(...cells.map((r) => String(r[i] ?? '').length)));
  const line = (r: (string | number)[]) => r.map((c, i) => String(c).padStart(widths[i]!)).join('  ');
  console.log(line(cells[0]!));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const r of cells.slice(1)) console.log(line(r));
}

function fmt(n: number): string {
  if (!Number.isFinite(n)) return String(n);
  if (Math.abs(n) >= 1000) return Math.round(n).toLocaleString('en-US');
  if (Math.abs(n) >= 10) return n.toFixed(1);
  return n.toFixed(3);
}

/** The short commit of the checkout, or "unknown" outside git. */
export function gitCommit(): string {
  try {
    return execFileSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return 'unknown';
  }
}

/** A date as it appears in result file names: 2026-11-27T10-06-00-591Z (sorts by time). */
export const fileStamp = (d: Date): string => d.toISOString().replace(/[:.]/g, '-');

export function machineFacts(): { cpus: number; cpu: string | undefined; memGiB: number; node: string } {
  return { cpus: os.cpus().length, cpu: os.cpus()[0]?.model, memGiB: Math.round(os.totalmem() / 2 ** 30), node: process.version };
}

/**
 * Writes bench/results/<name>-<date>-<commit>.json with machine facts, or `file` when given (the bench
 * suite collects each bench's results that way); returns the path.
 */
export function writeResults(name: string, results: unknown, file?: string): string {
  const commit = gitCommit();
  const path = file ?? join(RESULTS_DIR, `${name}-${fileStamp(new Date())}-${commit}.json`);
  mkdirSync(dirname(path), { recursive: true });
  const machine = machineFacts();
  writeFileSync(path, JSON.stringify({ name, date: new Date().toISOString(), commit, machine, results }, null, 2) + '\n');
  return path;
}
