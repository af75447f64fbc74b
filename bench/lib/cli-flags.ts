/**
 * The bench scripts' command lines: node:util parseArgs plus what every script owes its user. `--help`
 * prints the usage and exits 0 before any work starts; an unknown flag, a flag without its value or a
 * stray argument prints what was wrong and the usage on stderr and exits 2, without a stack trace. (A
 * script that read process.argv itself ignored a mistyped flag and ran its full default benchmark.)
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';

type ParseArgsOptionsConfig = NonNullable<ParseArgsConfig['options']>;

/** A flag's value: booleans are booleans, everything else a string; absent unless it has a default. */
type FlagValues<T extends ParseArgsOptionsConfig> = {
  -readonly [K in keyof T]: (T[K] extends { type: 'boolean' } ? boolean : string) | (T[K] extends { default: boolean | string } ? never : undefined);
};

/**
 * The flags of `options` (plus --help) from `args`. `command` names the script in messages, as its
 * user types it (`bench:cluster`); positionals are refused unless `allowPositionals`.
 */
export function parseFlags<const T extends ParseArgsOptionsConfig>(
  command: string,
  usage: string,
  options: T,
  { allowPositionals = false, args = process.argv.slice(2) }: { allowPositionals?: boolean; args?: string[] } = {},
): { values: FlagValues<T>; positionals: string[] } {
  let parsed;
  try {
    parsed = parseArgs({ args, options: { ...options, help: { type: 'boolean', default: false } }, allowPositionals, strict: true });
  } catch (err) {
    refuse(command, usage, describeParseError(err));
  }
  if ((parsed.values as { help?: boolean }).help === true) {
    console.log(usage);
    process.exit(0);
  }
  return { values: parsed.values as unknown as FlagValues<T>, positionals: parsed.positionals };
}

/**
 * Flag `name`'s value as a number: `dflt` when the flag is absent; refused (exit 2) unless it is a
 * number >= `min`, and a whole one where `whole`.
 */
export function numberFlag(
  command: string,
  usage: string,
  name: string,
  raw: string | boolean | undefined,
  dflt: number,
  { min = 1, whole = false }: { min?: number; whole?: boolean } = {},
): number {
  if (raw === undefined || typeof raw === 'boolean') return dflt;
  const v = Number(raw);
  if (raw.trim() === '' || !Number.isFinite(v) || v < min || (whole && !Number.isSafeInteger(v))) {
    refuse(command, usage, `--${name} needs a ${whole ? 'whole number' : 'number'} >= ${min}, got ${JSON.stringify(raw)}`);
  }
  return v;
}

/** Prints `command: why` and the usage on stderr and exits 2: a bad command line, not a failed run. */
export function refuse(command: string, usage: string, why: string): never {
  console.error(`${command}: ${why}\n\n${usage}`);
  process.exit(2);
}

/** parseArgs's error in the words of the other scripts: `unknown argument "--x"`, else its own message. */
export function describeParseError(err: unknown): string {
  const e = err as Error & { code?: string };
  const quoted = /'([^']+)'/.exec(e.message)?.[1];
  if (e.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' && quoted !== undefined) return `unknown argument ${JSON.stringify(quoted)}`;
  if (e.code === 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL' && quoted !== undefined) return `unexpected argument ${JSON.stringify(quoted)}`;
  return e.message;
}
