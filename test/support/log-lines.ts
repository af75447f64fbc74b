/**
 * Reading node log output in tests. Nodes write one JSON object per line (tools/log-format.ts), where a
 * message's quotes are escaped and its fields follow it; tests that match messages read `logText`, the
 * lines rendered as a person sees them on a terminal (`time level node component: msg {fields}`), and
 * tests about the format itself read `logRecords`. Lines that are not log records pass through as they are.
 */
import { humanizeLogLine, parseLogLine, type LogRecord } from '../../tools/log-format.js';

/** The output with every log line rendered for people (no colours). */
export function logText(output: string): string {
  return output
    .split('\n')
    .map((line) => humanizeLogLine(line))
    .join('\n');
}

/** The log records of the output, in order, skipping any other line. */
export function logRecords(output: string): LogRecord[] {
  return output.split('\n').flatMap((line) => parseLogLine(line) ?? []);
}
