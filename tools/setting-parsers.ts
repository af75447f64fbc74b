/**
 * Parsers for command-line settings: each turns the text of a flag, a MYDATASTORE_* variable or a config
 * file value into a typed value, or throws commander's InvalidArgumentError with a message that names
 * the flag and says what is expected. Flags, variables and the config file all go through these.
 */
import { InvalidArgumentError } from 'commander';
import { parseAddress } from '../rpc/address.js';

export function positiveInt(name: string) {
  return (value: string): number => {
    const n = Number(value.trim());
    if (value.trim() === '' || !Number.isSafeInteger(n) || n <= 0) throw new InvalidArgumentError(`${name} must be a positive integer.`);
    return n;
  };
}

/** One of a fixed list of words (log levels). */
export function oneOf(name: string, choices: readonly string[]) {
  return (value: string): string => {
    if (!choices.includes(value)) throw new InvalidArgumentError(`${name} must be one of ${choices.join(', ')} (got "${value}").`);
    return value;
  };
}

/** A TCP port, 1..65535. */
export function portNumber(name: string) {
  return (value: string): number => {
    const n = Number(value.trim());
    if (value.trim() === '' || !Number.isInteger(n) || n < 1 || n > 65535) throw new InvalidArgumentError(`${name} must be a port number, 1..65535.`);
    return n;
  };
}

/** A string that may not be empty (ids, directories): an empty one is always a mistake in a shell. */
export function nonEmpty(name: string) {
  return (value: string): string => {
    if (value.trim() === '') throw new InvalidArgumentError(`${name} must not be empty.`);
    return value;
  };
}

const DURATION_UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** Milliseconds: a plain integer, or an integer with a unit (500ms, 30s, 10m, 2h, 10d), at most `max`. */
export function durationMs(name: string, { allowZero = false, max = Number.MAX_SAFE_INTEGER } = {}) {
  return (value: string): number => {
    const m = /^(\d+)\s*(ms|s|m|h|d)?$/.exec(value.trim());
    const n = m === null ? NaN : Number(m[1]) * (DURATION_UNITS[m[2] ?? 'ms'] ?? NaN);
    if (!Number.isSafeInteger(n) || n < (allowZero ? 0 : 1)) {
      const least = allowZero ? 'a non-negative' : 'a positive';
      throw new InvalidArgumentError(`${name} must be ${least} number of milliseconds, optionally with a unit: 500, 500ms, 30s, 10m, 2h, 10d (got "${value}").`);
    }
    if (n > max) throw new InvalidArgumentError(`${name} must be at most ${max} ms (got "${value}").`);
    return n;
  };
}

const SIZE_UNITS: Record<string, number> = { b: 1, kib: 1024, mib: 1024 ** 2, gib: 1024 ** 3 };

/** Bytes: a plain integer, or an integer with a binary unit (B, KiB, MiB, GiB; case-insensitive). */
export function byteSize(name: string) {
  return (value: string): number => {
    const m = /^(\d+)\s*(b|kib|mib|gib)?$/i.exec(value.trim());
    const n = m === null ? NaN : Number(m[1]) * (SIZE_UNITS[(m[2] ?? 'b').toLowerCase()] ?? NaN);
    if (!Number.isSafeInteger(n) || n < 1) {
      throw new InvalidArgumentError(`${name} must be a positive number of bytes, optionally with a unit: 1048576, 512KiB, 64MiB, 1GiB (got "${value}").`);
    }
    return n;
  };
}

/** Formats a byte count the way byteSize reads it back, for help texts. */
export function formatBytes(n: number): string {
  for (const [unit, size] of [['GiB', 1024 ** 3], ['MiB', 1024 ** 2], ['KiB', 1024]] as const) {
    if (n >= size && n % size === 0) return `${n / size} ${unit}`;
  }
  return `${n} B`;
}

export function addressParser(forListen: boolean) {
  return (value: string): string => {
    try {
      parseAddress(value, forListen);
    } catch (err) {
      throw new InvalidArgumentError((err as Error).message);
    }
    return value;
  };
}

export function seedList(value: string): string[] {
  const seeds = value.split(',').map((s) => s.trim()).filter((s) => s !== '');
  for (const s of seeds) addressParser(false)(s);
  return seeds;
}

/** The HTTP gateway address: host:port (port 0: any free port), or 'off' for no gateway. */
export function httpAddress(value: string): string {
  if (value.trim().toLowerCase() === 'off') return 'off';
  try {
    parseAddress(value, true);
  } catch {
    throw new InvalidArgumentError(`--http must be host:port (e.g. 127.0.0.1:8001) or "off" (got "${value}").`);
  }
  return value.trim();
}

/**
 * The value of a MYDATASTORE_* variable behind a boolean flag. commander only checks that such a
 * variable is set, so MYDATASTORE_SLOPPY_QUORUM=false would turn the flag on; this reads the text.
 */
export function envBoolean(name: string, value: string): boolean {
  const v = value.trim().toLowerCase();
  if (['1', 'true', 'yes', 'on'].includes(v)) return true;
  if (['', '0', 'false', 'no', 'off'].includes(v)) return false;
  throw new InvalidArgumentError(`${name} must be true or false (also 1/0, yes/no, on/off; got "${value}").`);
}
