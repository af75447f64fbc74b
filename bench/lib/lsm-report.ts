/**
 * The LSM bench's report: the figures every target needs (from the variants' results), the tables
 * (fastest APIs, abstract-level, the non-throughput targets), the extra lines (stalls, RSS and budget,
 * size on disk, event-loop delay, fillsync against the disk), and the same as Markdown for bench/results/.
 */
import type { Variant } from './lsm-engines.js';
import { type BenchFigures, type Verdict, verdictText } from './lsm-targets.js';
import { AWAITED, type Row, type VariantResult, WORKLOADS } from './lsm-workloads.js';

export interface Table {
  title: string;
  headers: string[];
  rows: string[][];
}

export interface Report {
  tables: Table[];
  lines: string[];
}

const MiB = 1048576;

/** `sharedProcess`: the variants ran in one process, so no peak RSS is any one variant's own. */
export function figuresOf(results: readonly VariantResult[], rssBudgetMiB: number, sharedProcess: boolean): BenchFigures {
  const f: BenchFigures = { ops: {}, diskSyncRate: {}, peakRssMiB: {}, rssBudgetMiB, dbBytes: {}, eventLoopP99Ms: {} };
  const ownRss = !sharedProcess || results.length === 1;
  for (const r of results) {
    f.ops[r.variant] = Object.fromEntries(r.rows.map((row) => [row.workload, row.opsPerSec]));
    if (r.diskSyncRate !== undefined) f.diskSyncRate[r.variant] = r.diskSyncRate;
    if (ownRss) f.peakRssMiB[r.variant] = r.maxRssKiB / 1024;
    if (r.dbBytes !== undefined) f.dbBytes[r.variant] = r.dbBytes;
    const loop = (w: string): number | undefined => r.rows.find((row) => row.workload === w)?.eventLoop?.p99Ms;
    f.eventLoopP99Ms[r.variant] = { fillrandom: loop('fillrandom'), overwrite: loop('overwrite') };
  }
  return f;
}

const int = (n: number): string => Math.round(n).toLocaleString('en-US');
const x = (n: number | undefined): string => (n === undefined ? '-' : `${n.toFixed(2)}x`);
const us = (row: Row | undefined): string =>
  row?.p50us === undefined || row.p99us === undefined ? '-' : `${row.p50us.toFixed(0)}/${row.p99us.toFixed(0)}`;

function rowOf(results: readonly VariantResult[], v: Variant, w: string): Row | undefined {
  return results.find((r) => r.variant === v)?.rows.find((r) => r.workload === w);
}

/** One table: `a` against `b` (ours against classic) per workload, with the targets of `api`. */
function throughputTable(title: string, results: readonly VariantResult[], verdicts: readonly Verdict[], a: Variant, b: Variant, api: 'fastest' | 'level'): Table | undefined {
  const rows: string[][] = [];
  for (const w of WORKLOADS) {
    const [ra, rb] = [rowOf(results, a, w), rowOf(results, b, w)];
    if (ra === undefined && rb === undefined) continue;
    const v = verdicts.find((t) => t.row === w && (t.api === api || (api === 'fastest' && t.api === 'run')));
    const ratio = ra !== undefined && rb !== undefined ? ra.opsPerSec / rb.opsPerSec : undefined;
    const lat = AWAITED.has(w) ? [us(ra), us(rb)] : ['-', '-'];
    rows.push([
      w,
      ra === undefined ? '-' : int(ra.opsPerSec),
      rb === undefined ? '-' : int(rb.opsPerSec),
      x(ratio),
      v?.target ?? 'info',
      v === undefined ? '-' : x(v.measured),
      v === undefined ? '-' : verdictText(v),
      ra === undefined ? '-' : ra.mbPerSec.toFixed(ra.mbPerSec < 10 ? 2 : 1),
      ...lat,
    ]);
  }
  if (rows.length === 0) return undefined;
  return {
    title,
    headers: ['row', `${a} ops/s`, `${b} ops/s`, 'ratio', 'target', 'measured', 'result', `MB/s ${a}`, `p50/p99 us ${a}`, `p50/p99 us ${b}`],
    rows,
  };
}

/** Peak RSS, size on disk, event-loop delay: targets that are not ops/s. */
function otherTable(verdicts: readonly Verdict[], f: BenchFigures): Table | undefined {
  const shown = (id: string): [string, string] => {
    switch (id) {
      case 'peak-rss-vs-classic':
        return [mib(f.peakRssMiB.ours), mib(f.peakRssMiB.classic)];
      case 'peak-rss-vs-budget':
        return [mib(f.peakRssMiB.ours), `budget ${mib(f.rssBudgetMiB)}`];
      case 'disk-size':
        return [mibBytes(f.dbBytes.ours), mibBytes(f.dbBytes.classic)];
      case 'event-loop-fillrandom':
        return [ms(f.eventLoopP99Ms.ours?.fillrandom), ms(f.eventLoopP99Ms.classic?.fillrandom)];
      case 'event-loop-overwrite':
        return [ms(f.eventLoopP99Ms.ours?.overwrite), ms(f.eventLoopP99Ms.classic?.overwrite)];
      default:
        return ['-', '-'];
    }
  };
  const rows = verdicts
    .filter((v) => v.row === 'peak-rss' || v.row === 'disk-size' || v.row === 'event-loop')
    .map((v) => [v.id, ...shown(v.id), v.row === 'event-loop' ? (v.measured === undefined ? '-' : `${v.measured.toFixed(1)} ms`) : x(v.measured), v.target, verdictText(v)]);
  return rows.length === 0 ? undefined : { title: 'Memory, disk and event loop (ours = DB, classic = classic-level fastest)', headers: ['target', 'ours', 'classic', 'measured', 'target', 'result'], rows };
}

const mib = (n: number | undefined): string => (n === undefined ? '-' : `${n.toFixed(0)} MiB`);
const mibBytes = (n: number | undefined): string => (n === undefined ? '-' : `${(n / MiB).toFixed(1)} MiB`);
const ms = (n: number | undefined): string => (n === undefined ? '-' : `${n.toFixed(1)} ms`);

export interface BudgetFacts {
  writeBufferSize: number;
  blockCacheSize: number;
  budgetBytes: number;
}

export function buildReport(results: readonly VariantResult[], verdicts: readonly Verdict[], f: BenchFigures, budget: BudgetFacts, inProcess: boolean): Report {
  const tables = [
    throughputTable('Each engine\'s fastest API (ours = DB, classic = classic-level\'s own calls)', results, verdicts, 'ours', 'classic', 'fastest'),
    throughputTable('Through abstract-level (LsmLevel vs ClassicLevel)', results, verdicts, 'ours-level', 'classic-level', 'level'),
    otherTable(verdicts, f),
  ].filter((t): t is Table => t !== undefined);

  const lines: string[] = [];
  for (const w of ['fillrandom', 'overwrite']) {
    const each = results.flatMap((r) => {
      const row = r.rows.find((x) => x.workload === w);
      if (row === undefined) return [];
      return [`${r.variant} ${row.stalls === undefined ? 'n/a' : `${row.stalls.count} (${int(row.stalls.ms)} ms)`}`];
    });
    if (each.length > 0) lines.push(`write stalls during ${w} (count, total ms; n/a where the engine does not report them): ${each.join(', ')}`);
  }
  const rss = results.map((r) => `${r.variant} ${mib(r.maxRssKiB / 1024)}`);
  lines.push(
    `peak RSS${inProcess ? ' (one process for all variants: not per engine)' : ''}: ${rss.join(', ')}; ours' budget ${mibBytes(budget.budgetBytes)} ` +
      `= writeBufferSize ${mibBytes(budget.writeBufferSize)} x 2 + blockCacheSize ${mibBytes(budget.blockCacheSize)} + 64 MiB`,
  );
  const sizes = results.flatMap((r) => (r.dbBytes === undefined ? [] : [`${r.variant} ${mibBytes(r.dbBytes)}`]));
  if (sizes.length > 0) lines.push(`size on disk after fillrandom + overwrite + mixed and a full compaction: ${sizes.join(', ')}`);
  for (const w of ['fillrandom', 'overwrite']) {
    const each = results.flatMap((r) => {
      const d = r.rows.find((x) => x.workload === w)?.eventLoop;
      return d === undefined ? [] : [`${r.variant} ${d.p99Ms.toFixed(1)} ms (max ${d.maxMs.toFixed(0)}, ${int(d.samples)} samples)`];
    });
    if (each.length > 0) lines.push(`event-loop delay p99 during ${w} (about one sample per ms while the loop turns; few samples = long blocked stretches): ${each.join(', ')}`);
  }
  const sync = results.flatMap((r) => {
    const row = r.rows.find((x) => x.workload === 'fillsync');
    return row === undefined || r.diskSyncRate === undefined ? [] : [`${r.variant} ${int(row.opsPerSec)} of ${int(r.diskSyncRate)} (${((100 * row.opsPerSec) / r.diskSyncRate).toFixed(0)}%)`];
  });
  if (sync.length > 0) lines.push(`fillsync ops/s against the disk's own fdatasync ops/s, measured interleaved with it: ${sync.join(', ')}`);
  const sync64 = results.flatMap((r) => {
    const one = r.rows.find((x) => x.workload === 'fillsync');
    const many = r.rows.find((x) => x.workload === 'fillsync64');
    return one === undefined || many === undefined ? [] : [`${r.variant} ${x(many.opsPerSec / one.opsPerSec)}`];
  });
  if (sync64.length > 0) lines.push(`fillsync64 against the same variant's one-writer fillsync: ${sync64.join(', ')}`);
  return { tables, lines };
}

export function markdownTable(t: Table): string {
  const esc = (s: string): string => s.replace(/\|/g, '\\|');
  const right = t.headers.map((_, i) => (i === 0 || t.headers[i] === 'target' || t.headers[i] === 'result' ? '---' : '---:'));
  return [`| ${t.headers.map(esc).join(' | ')} |`, `|${right.join('|')}|`, ...t.rows.map((r) => `| ${r.map(esc).join(' | ')} |`)].join('\n');
}

export interface MarkdownMeta {
  date: string;
  commit: string;
  commandLine: string;
  machine: string;
  settings: string;
  loadAvg: { start: number[]; end: number[] };
  apis: string[];
  tally: { pass: number; miss: number; notMeasured: number };
}

export function markdownReport(r: Report, m: MarkdownMeta): string {
  const load = (l: number[]): string => l.map((n) => n.toFixed(2)).join(' ');
  return [
    '# MyDataStore LSM bench (issue 10 targets)',
    '',
    `- date: ${m.date}, commit ${m.commit}`,
    `- command: \`${m.commandLine}\``,
    `- machine: ${m.machine}`,
    `- machine load (1/5/15-minute load average): ${load(m.loadAvg.start)} at the start, ${load(m.loadAvg.end)} at the end`,
    `- settings: ${m.settings}`,
    ...m.apis.map((a) => `- ${a}`),
    `- targets: ${m.tally.pass} pass, ${m.tally.miss} MISS, ${m.tally.notMeasured} not measured in this run`,
    '',
    ...r.tables.flatMap((t) => [`## ${t.title}`, '', markdownTable(t), '']),
    ...r.lines.map((l) => `- ${l}`),
    '',
    'ratio = first engine / second engine in the same run; "measured" is the figure the target compares ' +
      '(for fillsync: ops/s / the disk\'s own fdatasync ops/s; for fillsync64: / ours\' one-writer fillsync). ' +
      'p50/p99 per operation only where the row awaits one operation at a time.',
    '',
  ].join('\n');
}
