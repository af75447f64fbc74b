/**
 * The consistency a client asks for: a level name or a replica count, turned into client.proto's
 * `Consistency` message. Only what the client can check alone is checked here (a known name, a positive
 * integer); whether a count fits the cluster's replication factor N is for the server to say
 * (INVALID_ARGUMENT).
 */
import { InvalidArgumentError } from '../rpc/errors.js';
import { mydatastore } from '../proto/gen/messages.js';

export type LevelName = 'ONE' | 'QUORUM' | 'ALL' | 'DEFAULT';

/** `'ONE' | 'QUORUM' | 'ALL' | 'DEFAULT'` (any case), a count >= 1, or a decimal count as a string. */
// eslint-disable-next-line @typescript-eslint/no-redundant-type-constituents -- LevelName documents the names
export type Consistency = LevelName | number | string;

const Level = mydatastore.client.Level;
const LEVELS: Readonly<Record<string, mydatastore.client.Level>> = { DEFAULT: Level.DEFAULT, ONE: Level.ONE, QUORUM: Level.QUORUM, ALL: Level.ALL };

/** The wire form of a consistency; undefined = the cluster's default. Throws InvalidArgumentError. */
export function toWireConsistency(c: Consistency | undefined): mydatastore.client.Consistency.$Properties | undefined {
  if (c === undefined) return undefined;
  if (typeof c === 'number') return { count: checkCount(c, String(c)) };
  if (typeof c !== 'string') throw new InvalidArgumentError(`consistency must be a level name or a count, got ${typeof c}`);
  const named = LEVELS[c.trim().toUpperCase()];
  if (named !== undefined) return named === Level.DEFAULT ? undefined : { named };
  if (/^\s*\d+\s*$/.test(c)) return { count: checkCount(Number(c), c) };
  throw new InvalidArgumentError(`unknown consistency ${JSON.stringify(c)} (expected ONE, QUORUM, ALL, DEFAULT or a count >= 1)`);
}

function checkCount(n: number, shown: string): number {
  if (!Number.isInteger(n) || n < 1 || n > 0xffffffff) {
    throw new InvalidArgumentError(`a consistency count must be an integer >= 1, got ${shown}`);
  }
  return n;
}
