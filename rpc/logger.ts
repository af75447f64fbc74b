/**
 * The logging interface every component takes (injected, so tests stay quiet and the server decides
 * the format: tools/node-logger.ts). One line per event; `fields` carries structured context such as a
 * remote address, and `requestId` in it marks a line about one request (the node's logger lifts it out).
 */
export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
}

export const silentLogger: Logger = { debug() {}, info() {}, warn() {}, error() {} };

/**
 * A warn that writes at most one line per `intervalMs` for each message, with how many it held back since the
 * last line: events an outsider can cause at will (failed handshakes, bad tokens, refusals) must not flood the log.
 */
export function rateLimitedWarn(logger: Logger, intervalMs = 1000, now: () => number = Date.now): (msg: string, fields?: Record<string, unknown>) => void {
  const last = new Map<string, { at: number; held: number }>();
  return (msg, fields) => {
    const t = now();
    const seen = last.get(msg);
    if (seen !== undefined && t - seen.at < intervalMs) {
      seen.held++;
      return;
    }
    if (last.size > 1000) last.clear(); // messages are a handful of fixed strings; never grow without bound
    const held = seen?.held ?? 0;
    last.set(msg, { at: t, held: 0 });
    logger.warn(msg, held > 0 ? { ...fields, heldBackSinceLastLine: held } : fields);
  };
}

/** Least to most severe; a logger set to one level prints it and those after it. */
export const LOG_LEVELS = ['debug', 'info', 'warn', 'error'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export function isLogLevel(text: string): text is LogLevel {
  return (LOG_LEVELS as readonly string[]).includes(text);
}

/** A logger that writes `time level component message {fields}` lines to stderr from `level` up. */
export function consoleLogger(component: string, level: LogLevel = 'info'): Logger {
  const min = LOG_LEVELS.indexOf(level);
  const line = (lvl: LogLevel) => (msg: string, fields?: Record<string, unknown>) => {
    if (LOG_LEVELS.indexOf(lvl) < min) return;
    const extra = fields === undefined ? '' : ` ${JSON.stringify(fields)}`;
    process.stderr.write(`${new Date().toISOString()} ${lvl.padEnd(5)} ${component}: ${msg}${extra}\n`);
  };
  return { debug: line('debug'), info: line('info'), warn: line('warn'), error: line('error') };
}
