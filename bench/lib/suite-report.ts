/**
 * The suite's Markdown report: the run (command, machine, load, each bench's time and exit code), the
 * comparison with the previous run (every figure that moved by more than 10%), then per bench its charts
 * (SVG files in the run's directory beside the report) and the tables the bench wrote itself, headings
 * moved down a level. Pure: results in, text out.
 */
import { basename } from 'node:path';
import type { Chart } from './suite-charts.js';
import { type Comparison, movesMarkdown, summaryLine } from './suite-compare.js';
import type { BenchName, BenchRun, SuiteResult } from './suite-results.js';
import { rpcMedians, rpcScenario } from './suite-views.js';

const TITLES: Record<BenchName, string> = {
  lsm: 'LSM engine (bench/lsm.ts): ours vs classic-level',
  rpc: 'RPC layer (bench/rpc.ts): ours vs a bare net ping-pong',
  cluster: 'Cluster (bench/cluster.ts): YCSB A/B/C on 3 local nodes',
};

export interface ReportInput {
  run: SuiteResult;
  /** The bench's own Markdown (lsm, cluster), by bench. */
  markdown: Partial<Record<BenchName, string>>;
  charts: { bench: BenchName; charts: Chart[] }[];
  /** The charts' directory relative to the report, e.g. "2026-11-27T10-06-00-591Z-a0221cf". */
  chartDir: string;
  previous: { file: string; result: SuiteResult; comparison: Comparison } | undefined;
}

export function suiteMarkdown(m: ReportInput): string {
  const r = m.run;
  const load = (l: number[]) => l.map((n) => n.toFixed(2)).join(' ');
  const lines = [
    `# MyDataStore bench suite${r.quick ? ' (--quick)' : ''}`,
    '',
    `- date: ${r.date}, commit ${r.commit}`,
    `- command: \`${r.commandLine}\``,
    `- machine: ${r.machine.cpu ?? 'unknown CPU'}, ${r.machine.cpus} cores, ${r.machine.memGiB} GiB, ${r.machine.os}; node ${r.machine.node}`,
    `- machine load (1/5/15-minute load average): ${load(r.loadAvg.start)} at the start, ${load(r.loadAvg.end)} at the end (other work on the machine moves every figure)`,
    `- ${r.seconds} s in all: ${r.benches.map((b) => `${b.name} ${b.seconds} s${b.exitCode === 0 ? '' : ` (exit ${b.exitCode}${b.saved === undefined ? ', no results' : ''})`}`).join(', ')}`,
    '',
    '## Compared with the previous run',
    '',
  ];
  if (m.previous === undefined) {
    lines.push(`No earlier suite result${r.quick ? ' of a --quick run' : ' of a full run'} with these benches in bench/results/: nothing to compare with.`);
  } else {
    const p = m.previous.result;
    lines.push(`Against \`${basename(m.previous.file)}\` (${p.date}, commit ${p.commit}, load average ${load(p.loadAvg.start)} at its start): ${summaryLine(m.previous.comparison)}.`, '');
    lines.push(...movesMarkdown(m.previous.comparison));
  }
  lines.push('');
  for (const b of r.benches) {
    lines.push(`## ${TITLES[b.name]}`, '', `\`node dist/bench/${b.name}.js ${b.args.join(' ')}\``.replace(/ `$/, '`'), '');
    if (b.saved === undefined) {
      lines.push(`The bench failed (exit ${b.exitCode}) before it saved results; its output is in the suite's console output.`, '');
      continue;
    }
    for (const c of m.charts.find((x) => x.bench === b.name)?.charts ?? []) lines.push(`![${c.title}](${m.chartDir}/${c.file})`, '');
    const own = m.markdown[b.name];
    if (own !== undefined) lines.push(demoteHeadings(own).trimEnd(), '');
    else if (b.name === 'rpc') lines.push(...rpcTable(b), '');
  }
  return lines.join('\n') + '\n';
}

/** "# T" → "### T": a bench's own report nested under its section. */
export function demoteHeadings(md: string): string {
  return md.replace(/^(#+) /gm, '##$1 ');
}

function rpcTable(b: BenchRun): string[] {
  const medians = rpcMedians(b.saved);
  const rows = [...new Set(medians.map(rpcScenario))].map((sc) => {
    const ours = medians.find((x) => x.system === 'mydatastore-rpc' && rpcScenario(x) === sc);
    const bare = medians.find((x) => x.system === 'bare-net' && rpcScenario(x) === sc);
    const n = (v: number | undefined) => (v === undefined ? '-' : Math.round(v).toLocaleString('en-US'));
    const ratio = ours !== undefined && bare !== undefined ? `${((100 * ours.rps) / bare.rps).toFixed(0)}%` : '-';
    return `| ${sc} | ${n(ours?.rps)} | ${n(ours?.p50us)} / ${n(ours?.p99us)} | ${n(bare?.rps)} | ${n(bare?.p50us)} / ${n(bare?.p99us)} | ${ratio} |`;
  });
  return ['| scenario | rpc req/s | rpc p50 / p99 µs | bare req/s | bare p50 / p99 µs | rpc/bare |', '|---|---:|---:|---:|---:|---:|', ...rows];
}
