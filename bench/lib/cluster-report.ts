/**
 * The cluster bench's report: one row per phase (workload, setting, ops/s, p50/p99/p999 ms, errors,
 * CPU µs per op), printed as a table and written as Markdown beside the JSON results, with the machine,
 * the command line and every error code seen.
 */
import { writeFileSync } from 'node:fs';
import os from 'node:os';
import { HISTOGRAM_RELATIVE_ERROR } from './histogram.js';
import type { PhaseResult } from './ycsb.js';

export const HEADERS = ['workload', 'system', 'setting', 'ops/s', 'p50 ms', 'p99 ms', 'p999 ms', 'errors', 'server CPU µs/op', 'client CPU µs/op'];

const ms = (v: number): string => (Number.isFinite(v) ? (v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2)) : '-');
const us = (v: number | undefined): string => (v === undefined || !Number.isFinite(v) ? '-' : v.toFixed(0));

export function rowOf(r: PhaseResult): string[] {
  return [
    r.workload,
    r.system,
    r.setting,
    Math.round(r.opsPerSec).toLocaleString('en-US'),
    ms(r.latencyMs.p50),
    ms(r.latencyMs.p99),
    ms(r.latencyMs.p999),
    String(r.errors),
    us(r.serverCpuUsPerOp),
    us(r.clientCpuUsPerOp),
  ];
}

/** Every error code with its count and first message, one line each (empty when none). */
export function errorLines(results: readonly PhaseResult[]): string[] {
  const lines: string[] = [];
  for (const r of results) {
    for (const [code, n] of Object.entries(r.errorsByCode)) {
      lines.push(`${r.workload} ${r.system} ${r.setting}: ${n} × ${code} (first: ${r.errorExamples[code] ?? ''})`);
    }
  }
  return lines;
}

export function machine(): { cpu: string; cores: number; memGiB: number; node: string; os: string } {
  return {
    cpu: os.cpus()[0]?.model ?? 'unknown',
    cores: os.cpus().length,
    memGiB: Math.round(os.totalmem() / 2 ** 30),
    node: process.version,
    os: `${os.type()} ${os.release()}`,
  };
}

export interface MarkdownInput {
  title: string;
  commandLine: string;
  date: string;
  settings: Record<string, string | number>;
  results: readonly PhaseResult[];
  notes: string[];
}

export function markdownReport(m: MarkdownInput): string {
  const mc = machine();
  const cell = (s: string) => s.replace(/\|/g, '\\|');
  const lines = [
    `# ${m.title}`,
    '',
    `- date: ${m.date}`,
    `- command: \`${m.commandLine}\``,
    `- machine: ${mc.cpu}, ${mc.cores} cores, ${mc.memGiB} GiB, ${mc.os}; node ${mc.node}`,
    ...Object.entries(m.settings).map(([k, v]) => `- ${k}: ${v}`),
    '',
    `| ${HEADERS.join(' | ')} |`,
    `|${HEADERS.map((_, i) => (i < 3 ? '---' : '---:')).join('|')}|`,
    ...m.results.map((r) => `| ${rowOf(r).map(cell).join(' | ')} |`),
    '',
  ];
  const errs = errorLines(m.results);
  lines.push(errs.length === 0 ? 'Errors: none.' : 'Errors:', ...errs.map((e) => `- ${cell(e)}`), '');
  lines.push(`Latency percentiles come from a log-bucketed histogram (within ${(HISTOGRAM_RELATIVE_ERROR * 100).toFixed(2)}%, rounded up).`);
  for (const n of m.notes) lines.push(n);
  return lines.join('\n') + '\n';
}

export function writeMarkdown(jsonPath: string, text: string): string {
  const path = jsonPath.replace(/\.json$/, '.md');
  writeFileSync(path, text);
  return path;
}
