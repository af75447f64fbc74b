/**
 * This run's figures against the previous run's: every figure present in both is compared, and each one
 * that moved by more than the threshold (10%, either way) is flagged, saying whether the move is better
 * or worse (ops/s up is better, latency up is worse). Exactly 10% is not flagged. Pure: figures in,
 * moves and text out.
 */
import type { Figure } from './suite-figures.js';
import { shortNumber } from './svg.js';

export const MOVE_THRESHOLD = 0.1;

export interface Move {
  name: string;
  bench: string;
  unit: string;
  before: number;
  now: number;
  /** (now - before) / before; ±Infinity when before was 0. */
  change: number;
  better: boolean;
}

export interface Comparison {
  /** Figures measured in both runs. */
  compared: number;
  /** Those that moved by more than the threshold, largest move first. */
  moves: Move[];
  /** Names measured in only one of the two runs. */
  onlyBefore: string[];
  onlyNow: string[];
}

/** The relative change from `before` to `now` (0 when both are 0). */
export function relativeChange(before: number, now: number): number {
  if (before === now) return 0;
  if (before === 0) return now > 0 ? Infinity : -Infinity;
  return (now - before) / Math.abs(before);
}

export function compareFigures(before: readonly Figure[], now: readonly Figure[], threshold = MOVE_THRESHOLD): Comparison {
  const prev = new Map(before.map((f) => [f.name, f]));
  const cur = new Map(now.map((f) => [f.name, f]));
  const moves: Move[] = [];
  let compared = 0;
  for (const [name, f] of cur) {
    const b = prev.get(name);
    if (b === undefined) continue;
    compared++;
    const change = relativeChange(b.value, f.value);
    if (!(Math.abs(change) > threshold)) continue;
    moves.push({ name, bench: f.bench, unit: f.unit, before: b.value, now: f.value, change, better: f.better === 'higher' ? change > 0 : change < 0 });
  }
  moves.sort((a, b) => Math.abs(b.change) - Math.abs(a.change) || a.name.localeCompare(b.name));
  return {
    compared,
    moves,
    onlyBefore: [...prev.keys()].filter((n) => !cur.has(n)),
    onlyNow: [...cur.keys()].filter((n) => !prev.has(n)),
  };
}

/** "+12.3%", "-40.0%", "new from 0". */
export function changeText(change: number): string {
  if (!Number.isFinite(change)) return change > 0 ? 'up from 0' : 'down from 0';
  return `${change >= 0 ? '+' : ''}${(change * 100).toFixed(1)}%`;
}

/** One line per flagged move, for the console. */
export function moveLines(c: Comparison): string[] {
  return c.moves.map((m) => `${m.better ? 'better' : 'WORSE '} ${changeText(m.change).padStart(8)}  ${m.name}: ${shortNumber(m.before)} → ${shortNumber(m.now)}`);
}

/** The summary line: how many figures were compared and how many moved. */
export function summaryLine(c: Comparison, threshold = MOVE_THRESHOLD): string {
  const better = c.moves.filter((m) => m.better).length;
  const only = c.onlyBefore.length + c.onlyNow.length === 0 ? '' : `; not compared (measured in one run only): ${c.onlyNow.length} new, ${c.onlyBefore.length} gone`;
  return `${c.compared} figures compared, ${c.moves.length} moved by more than ${threshold * 100}% (${better} better, ${c.moves.length - better} worse)${only}`;
}

/** The comparison as a Markdown table (or a sentence when nothing moved). */
export function movesMarkdown(c: Comparison, threshold = MOVE_THRESHOLD): string[] {
  if (c.moves.length === 0) return [`No figure moved by more than ${threshold * 100}%.`];
  const esc = (s: string) => s.replace(/\|/g, '\\|');
  return [
    '| figure | before | now | change | |',
    '|---|---:|---:|---:|---|',
    ...c.moves.map((m) => `| ${esc(m.name)} | ${shortNumber(m.before)} | ${shortNumber(m.now)} | ${changeText(m.change)} | ${m.better ? 'better' : '**worse**'} |`),
  ];
}
