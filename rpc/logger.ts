/**
 * The logging interface every component takes (injected, so tests stay quiet and the server decides
 * the format). One line per event; `fields` carries structured context such as a remote address.
 */
export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
}

export const silentLogger: Logger = { debug() {}, info() {}, warn() {}, error() {} };

const LEVELS = ['debug', 'info', 'warn', 'error'] as const;
export type LogLevel = (typeof LEVELS)[number];

/** A logger that writes `time level component message {fields}` lines to stderr from `level` up. */
export function consoleLogger(component: string, level: LogLevel = 'info'): Logger {
  const min = LEVELS.indexOf(level);
  const line = (lvl: LogLevel) => (msg: string, fields?: Record<string, unknown>) => {
    if (LEVELS.indexOf(lvl) < min) return;
    const extra = fields === undefined ? '' : ` ${JSON.stringify(fields)}`;
    process.stderr.write(`${new Date().toISOString()} ${lvl.padEnd(5)} ${component}: ${msg}${extra}\n`);
  };
  return { debug: line('debug'), info: line('info'), warn: line('warn'), error: line('error') };
}
