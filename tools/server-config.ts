/**
 * The settings of `mydatastore server` from the optional JSON config file, merged under the command line
 * and the environment: a flag wins over a MYDATASTORE_* variable, which wins over the file, which wins
 * over the default. Commander records where each value came from (its option value source); the file's
 * values are set with source 'config' on the options still at their default, after the same parsers as
 * flags. Everything here is pure except readConfigFile. File format: tools/CONFIG.md.
 */
import { readFileSync } from 'node:fs';
import { MAX_VALUE_BYTES } from '../cluster/storage/record.js';
import { configProblem } from '../cluster/state/config.js';
import { parseAddress } from '../rpc/address.js';
import { ConfigConflictError, ConfigEnvError, ConfigFileSyntaxError, ConfigFileUnknownKeyError, ConfigFileUnreadableError, ConfigFileValueError } from './server-config-errors.js';
import type { FilePosition } from './server-config-errors.js';
import { jsonErrorOffset, positionOf } from './json-position.js';
import { credentialSettingsProblem } from './node-security.js';
import type { ServerCommandOptions } from './server-options.js';
import type { SettingKind } from './server-settings.js';
import { envBoolean } from './setting-parsers.js';

/** What the file parser needs to know of one setting. */
export interface SettingSpec {
  /** The config file key: the ServerCommandOptions field name. */
  readonly key: string;
  /** '--long-name', for messages. */
  readonly flag: string;
  readonly envVar: string;
  readonly kind: SettingKind;
  /** Turns the text into the value (or throws with a message); absent: the text itself. */
  readonly parse?: (text: string) => unknown;
}

/** The part of commander's Command this module uses (a real Command fits). */
export interface OptionValueStore {
  getOptionValue(key: string): unknown;
  getOptionValueSource(key: string): string | undefined;
  setOptionValueWithSource(key: string, value: unknown, source: 'config' | 'env'): unknown;
}

export type SettingSource = 'cli' | 'env' | 'config' | 'default';

/** Reads the config file; the only I/O of this module. */
export function readConfigFile(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    throw new ConfigFileUnreadableError(file, e.code === 'ENOENT' ? 'no such file' : e.message);
  }
}

/** JSON.parse's reason without the position (we give line and column) or the echo of the whole file. */
function jsonReason(message: string): string {
  return message.replace(/ in JSON at position \d+.*$/s, '').replace(/, ".*" is not valid JSON$/s, '');
}

/** Where `"key":` first appears in the text, for messages (keys written with escapes are not found). */
function keyPosition(text: string, key: string): FilePosition | undefined {
  const m = new RegExp(`"${key.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}"\\s*:`).exec(text);
  return m === null ? undefined : positionOf(text, m.index);
}

function normalized(name: string): string {
  return name.toLowerCase().replace(/^(--|mydatastore_)/, '').replace(/[^a-z0-9]/g, '');
}

function unknownKeyHint(key: string, specs: ReadonlyMap<string, SettingSpec>): string {
  const near = [...specs.values()].find((s) => normalized(s.key) === normalized(key) || normalized(s.flag) === normalized(key) || normalized(s.envVar) === normalized(key));
  if (near !== undefined) return `did you mean "${near.key}"? (keys are the long option names in camelCase)`;
  return `known keys: ${[...specs.keys()].join(', ')}`;
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'object') return 'an object';
  return `${typeof v} ${JSON.stringify(v)}`;
}

/** One file value through the setting's parser; throws a message (no file context) when it does not fit. */
function convert(spec: SettingSpec, v: unknown): unknown {
  const parse = spec.parse ?? ((text: string) => text);
  switch (spec.kind) {
    case 'boolean':
      if (typeof v !== 'boolean') throw new Error(`expected true or false, got ${describe(v)}`);
      return v;
    case 'list':
      if (typeof v === 'string') return parse(v);
      if (!Array.isArray(v) || !v.every((e) => typeof e === 'string')) throw new Error(`expected an array of strings (or one comma-separated string), got ${describe(v)}`);
      return v.flatMap((e: string) => parse(e) as unknown[]);
    case 'number':
      if (typeof v === 'number' && Number.isFinite(v)) return parse(String(v));
      if (typeof v === 'string') return parse(v);
      throw new Error(`expected a number (or a string such as "64MiB" or "30s"), got ${describe(v)}`);
    case 'string':
      if (typeof v !== 'string') throw new Error(`expected a string, got ${describe(v)}`);
      return parse(v);
  }
}

/**
 * Parses and validates a config file's text: a JSON object whose keys are setting names. Returns each
 * key's value as the flag's parser makes it; throws ConfigFileSyntaxError, ConfigFileUnknownKeyError or
 * ConfigFileValueError naming the file, the key and, when it can be found, the line.
 */
export function parseConfigFile(text: string, file: string, specs: ReadonlyMap<string, SettingSpec>): Map<string, unknown> {
  const body = text.startsWith('\uFEFF') ? text.slice(1) : text; // a byte order mark some editors write
  let doc: unknown;
  try {
    doc = JSON.parse(body);
  } catch (err) {
    const offset = jsonErrorOffset(body);
    throw new ConfigFileSyntaxError(file, offset === undefined ? undefined : positionOf(body, offset), `not valid JSON: ${jsonReason((err as Error).message)}`);
  }
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) {
    throw new ConfigFileSyntaxError(file, undefined, `expected a JSON object of settings, e.g. {"nodeId": "n1", "listen": "127.0.0.1:7001"}, got ${describe(doc)}`);
  }
  const values = new Map<string, unknown>();
  for (const [key, v] of Object.entries(doc)) {
    const spec = specs.get(key);
    if (spec === undefined) throw new ConfigFileUnknownKeyError(file, key, keyPosition(body, key), unknownKeyHint(key, specs));
    try {
      values.set(key, convert(spec, v));
    } catch (err) {
      throw new ConfigFileValueError(file, key, keyPosition(body, key), (err as Error).message);
    }
  }
  return values;
}

/** Sets each file value on the options still at their default (or unset); returns the keys it set. */
export function applyConfigValues(store: OptionValueStore, values: ReadonlyMap<string, unknown>): string[] {
  const applied: string[] = [];
  for (const [key, value] of values) {
    const source = store.getOptionValueSource(key);
    if (source !== undefined && source !== 'default') continue;
    store.setOptionValueWithSource(key, value, 'config');
    applied.push(key);
  }
  return applied;
}

/**
 * commander turns a boolean flag on whenever its variable is set, whatever its text; this reads the text
 * (true/false, 1/0, yes/no, on/off) of every boolean setting that came from the environment.
 */
export function applyBooleanEnv(store: OptionValueStore, specs: Iterable<SettingSpec>, env: NodeJS.ProcessEnv): void {
  for (const spec of specs) {
    const text = env[spec.envVar];
    if (spec.kind !== 'boolean' || text === undefined || store.getOptionValueSource(spec.key) !== 'env') continue;
    try {
      store.setOptionValueWithSource(spec.key, envBoolean(spec.envVar, text), 'env');
    } catch (err) {
      throw new ConfigEnvError(spec.envVar, (err as Error).message);
    }
  }
}

/** Throws ConfigConflictError when settings that are each valid do not fit together. */
export function checkSettings(s: ServerCommandOptions, sourceOf: (key: string) => string | undefined): void {
  const origin = (...keys: (keyof ServerCommandOptions)[]): string =>
    ` (${keys.map((k) => `${k} ${JSON.stringify(s[k])} from ${sourceOf(k) ?? 'default'}`).join(', ')})`;
  const cluster = configProblem({ partitions: s.partitions, replicas: s.replicas, readQuorum: s.readQuorum, writeQuorum: s.writeQuorum });
  if (cluster !== undefined) throw new ConfigConflictError(`${cluster}${origin('partitions', 'replicas', 'readQuorum', 'writeQuorum')}`);
  if (s.maxValueBytes > MAX_VALUE_BYTES) throw new ConfigConflictError(`maxValueBytes is over ${MAX_VALUE_BYTES}, the largest value a record holds${origin('maxValueBytes')}`);
  if (s.maxValueBytes >= s.maxFrameSize) {
    throw new ConfigConflictError(`maxValueBytes must be below maxFrameSize: values travel to the replicas in RPC frames${origin('maxValueBytes', 'maxFrameSize')}`);
  }
  if (s.maxInFlightBytes < s.maxFrameSize) {
    throw new ConfigConflictError(`maxInFlightBytes must be at least maxFrameSize: a request of the largest frame size must fit${origin('maxInFlightBytes', 'maxFrameSize')}`);
  }
  const credentials = credentialSettingsProblem(s);
  if (credentials !== undefined) throw new ConfigConflictError(`${credentials}${origin('tlsCert', 'tlsKey', 'tlsCa', 'clientTokens')}`);
  if (s.http !== undefined && s.http !== 'off') {
    const h = parseAddress(s.http, true);
    const r = parseAddress(s.listen, true);
    if (h.port !== 0 && h.port === r.port && h.host === r.host) throw new ConfigConflictError(`the HTTP gateway and the RPC server cannot share an address${origin('http', 'listen')}`);
  }
}

/** Every setting's value and where it came from, for --print-config (unset: null, from 'default'). */
export function effectiveSettings(store: OptionValueStore, specs: Iterable<SettingSpec>): Record<string, { value: unknown; source: SettingSource }> {
  const out: Record<string, { value: unknown; source: SettingSource }> = {};
  for (const { key } of specs) {
    const value = store.getOptionValue(key);
    const source = store.getOptionValueSource(key);
    out[key] = { value: value ?? null, source: source === 'cli' || source === 'env' || source === 'config' ? source : 'default' };
  }
  return out;
}

/** --print-config's output: JSON, one setting per line so that it reads (and greps) well. */
export function formatEffectiveSettings(file: string | undefined, settings: Record<string, { value: unknown; source: SettingSource }>): string {
  const lines = Object.entries(settings).map(([key, s]) => `    ${JSON.stringify(key)}: ${JSON.stringify(s)}`);
  return `{\n  "configFile": ${JSON.stringify(file ?? null)},\n  "settings": {\n${lines.join(',\n')}\n  }\n}\n`;
}
