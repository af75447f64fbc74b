/**
 * The node's log lines (tools/node-logger.ts writes them): one JSON object per line, e.g.
 *
 *   {"level":"warn","time":"2025-05-01T10:00:00.000Z","nodeId":"n1","component":"rpc","requestId":"7",
 *    "fields":{"remote":"127.0.0.1:50514","reason":"..."},"msg":"refused Put"}
 *
 * `requestId` only on lines about one request, `fields` only when the line has any. This module reads
 * such a line back and renders it for people: on a terminal, in `cluster start`'s foreground output,
 * and in tests that match log text. The rendering is the shape of the logs before they were JSON:
 *
 *   2025-05-01T10:00:00.000Z warn  n1 rpc: refused Put {"requestId":"7","remote":"127.0.0.1:50514",...}
 */
import { isLogLevel, type LogLevel } from '../rpc/logger.js';

export interface LogRecord {
  time: string;
  level: LogLevel;
  nodeId: string;
  component: string;
  msg: string;
  requestId?: string;
  fields?: Record<string, unknown>;
}

/** The record of one line, or undefined when the line is not one of ours (any other output). */
export function parseLogLine(line: string): LogRecord | undefined {
  if (!line.startsWith('{')) return undefined;
  let v: unknown;
  try {
    v = JSON.parse(line);
  } catch {
    return undefined;
  }
  if (v === null || typeof v !== 'object') return undefined;
  const r = v as Record<string, unknown>;
  if (typeof r.level !== 'string' || !isLogLevel(r.level) || typeof r.time !== 'string' || typeof r.msg !== 'string') return undefined;
  const record: LogRecord = { time: r.time, level: r.level, nodeId: text(r.nodeId), component: text(r.component), msg: r.msg };
  if (typeof r.requestId === 'string') record.requestId = r.requestId;
  if (r.fields !== null && typeof r.fields === 'object') record.fields = r.fields as Record<string, unknown>;
  return record;
}

function text(v: unknown): string {
  return typeof v === 'string' ? v : '';
}

const COLORS: Record<LogLevel, string> = { debug: '\x1b[90m', info: '\x1b[32m', warn: '\x1b[33m', error: '\x1b[31m' };
const RESET = '\x1b[0m';

/** `time level node component: msg {requestId, fields}`, the level coloured when `color`. */
export function formatLogRecord(r: LogRecord, color = false): string {
  const level = r.level.padEnd(5);
  const extra = { ...(r.requestId === undefined ? {} : { requestId: r.requestId }), ...r.fields };
  const tail = Object.keys(extra).length === 0 ? '' : ` ${JSON.stringify(extra)}`;
  const who = [r.nodeId, r.component].filter((s) => s !== '').join(' ');
  return `${r.time} ${color ? COLORS[r.level] + level + RESET : level} ${who}: ${r.msg}${tail}`;
}

/** One output line for people: a log line rendered, any other line as it is. */
export function humanizeLogLine(line: string, color = false): string {
  const r = parseLogLine(line);
  return r === undefined ? line : formatLogRecord(r, color);
}
