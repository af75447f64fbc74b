/**
 * The node's logs: the injected Logger interface (rpc/logger.ts) backed by pino, so components log as
 * before and never import pino. Each event is one JSON line on stderr (shape: tools/log-format.ts) with
 * the time, level, node id and component; `requestId` from a line's fields goes to the top level, the
 * other fields under `fields` (so a field can never overwrite `level` or `msg`). When stderr is a
 * terminal the lines are rendered for people instead. Writes are synchronous, as stderr's are: a line
 * logged just before the process exits is not lost, and lines keep their order with other output.
 */
import { pino } from 'pino';
import type { Logger as PinoLogger } from 'pino';
import { isLogLevel, LOG_LEVELS, type Logger, type LogLevel } from '../rpc/logger.js';
import { humanizeLogLine } from './log-format.js';

/** A log level that is not one of debug, info, warn, error. */
export class LogLevelError extends Error {
  readonly code = 'LOG_BAD_LEVEL';
  override readonly name = 'LogLevelError';
  constructor(readonly given: string) {
    super(`log level must be one of ${LOG_LEVELS.join(', ')} (got "${given}")`);
  }
}

export function parseLogLevel(text: string): LogLevel {
  if (!isLogLevel(text)) throw new LogLevelError(text);
  return text;
}

/** Where lines go: anything with a write(string), one call per line. */
export interface LogDestination {
  write(line: string): unknown;
}

export interface NodeLoggerOptions {
  nodeId: string;
  /** debug, info, warn or error; anything else throws LogLevelError. */
  level: string;
  /** Default: stderr (file descriptor 2), synchronously. */
  destination?: LogDestination;
  /** Lines for people instead of JSON. Default: when the destination is the default one and a terminal. */
  human?: boolean;
  /** Colour the level of human lines. Default: human lines on a terminal, unless NO_COLOR is set. */
  color?: boolean;
}

export interface NodeLoggers {
  /** The logger of one component; its name goes into every line it writes. */
  for(component: string): Logger;
}

export function createNodeLoggers(o: NodeLoggerOptions): NodeLoggers {
  const level = parseLogLevel(o.level);
  const terminal = o.destination === undefined && process.stderr.isTTY === true;
  const out = o.destination ?? pino.destination({ dest: 2, sync: true });
  const human = o.human ?? terminal;
  const color = o.color ?? (human && terminal && process.env.NO_COLOR === undefined);
  const stream: LogDestination = human ? { write: (line: string) => out.write(`${humanizeLogLine(line.trimEnd(), color)}\n`) } : out;
  const root = pino(
    {
      level,
      base: { nodeId: o.nodeId },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    stream,
  );
  return { for: (component) => componentLogger(root.child({ component }), component) };
}

function componentLogger(p: PinoLogger, component: string): Logger {
  // Components name themselves in their messages ("raft: became leader"); the component field says it now.
  const prefix = `${component}: `;
  const line = (lvl: LogLevel) => (msg: string, fields?: Record<string, unknown>) => {
    if (!p.isLevelEnabled(lvl)) return;
    p[lvl](structured(fields), msg.startsWith(prefix) ? msg.slice(prefix.length) : msg);
  };
  return { debug: line('debug'), info: line('info'), warn: line('warn'), error: line('error') };
}

/** `requestId` on top, the rest under `fields`; errors as their message and code (JSON drops both). */
function structured(fields: Record<string, unknown> | undefined): { requestId?: string; fields?: Record<string, unknown> } {
  if (fields === undefined) return {};
  const { requestId, ...rest } = fields;
  const out: { requestId?: string; fields?: Record<string, unknown> } = {};
  if (requestId !== undefined) out.requestId = idText(requestId);
  const keys = Object.keys(rest);
  if (keys.length === 0) return out;
  out.fields = rest;
  for (const k of keys) {
    const v = rest[k];
    if (!(v instanceof Error)) continue;
    const code = (v as { code?: unknown }).code;
    rest[k] = code === undefined ? { message: v.message } : { message: v.message, code };
  }
  return out;
}

/** A request id as text: RPC ids are numbers, HTTP ids strings. */
function idText(v: unknown): string {
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'bigint') return v.toString();
  try {
    return JSON.stringify(v) ?? '';
  } catch {
    return String(v); // circular or holding a BigInt: a log call must never throw
  }
}
