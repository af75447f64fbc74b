import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import t from 'tap';
import type { Test } from 'tap';
import { jsonErrorOffset, positionOf } from '../../tools/json-position.js';
import { ConfigConflictError, ConfigEnvError, ConfigFileSyntaxError, ConfigFileUnknownKeyError, ConfigFileUnreadableError, ConfigFileValueError } from '../../tools/server-config-errors.js';
import { applyBooleanEnv, applyConfigValues, checkSettings, parseConfigFile, readConfigFile } from '../../tools/server-config.js';
import { serverCommand, serverSettingSpecs } from '../../tools/server-command.js';
import type { ServerCommandOptions } from '../../tools/server-options.js';
import { SERVER_SETTINGS, envVarOf, flagOf } from '../../tools/server-settings.js';
import { cli } from '../support/cli.js';
import { Rng } from '../support/rng.js';

const specs = serverSettingSpecs();
const FILE = 'node.json';

function tempDir(t: Test): string {
  const dir = mkdtempSync(join(tmpdir(), 'mydatastore-config-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** The error parseConfigFile throws for `text` (fails the test if it throws none). */
function parseError(text: string): Error {
  try {
    parseConfigFile(text, FILE, specs);
  } catch (err) {
    return err as Error;
  }
  throw new Error(`no error for ${text}`);
}

t.test('a config file value of every kind goes through the same parser as the flag', (t) => {
  const values = parseConfigFile(
    JSON.stringify({
      nodeId: 'n1', listen: '127.0.0.1:7001', seeds: ['127.0.0.1:7002', '127.0.0.1:7003'], sloppyQuorum: true,
      maxValueBytes: '4MiB', hintMaxBytes: 1024, requestTimeout: 2000, tombstoneGrace: '10d', epochInterval: '30s',
      replicas: '5', readQuorum: 3, logLevel: 'debug', http: 'off',
    }),
    FILE,
    specs,
  );
  t.same(Object.fromEntries(values), {
    nodeId: 'n1', listen: '127.0.0.1:7001', seeds: ['127.0.0.1:7002', '127.0.0.1:7003'], sloppyQuorum: true,
    maxValueBytes: 4 * 1024 * 1024, hintMaxBytes: 1024, requestTimeout: 2000, tombstoneGrace: 864_000_000, epochInterval: 30_000,
    replicas: 5, readQuorum: 3, logLevel: 'debug', http: 'off',
  });
  t.same(parseConfigFile('\uFEFF{"seeds": "127.0.0.1:1, 127.0.0.1:2"}', FILE, specs).get('seeds'), ['127.0.0.1:1', '127.0.0.1:2'], 'a comma-separated string and a byte order mark are fine');
  t.same([...parseConfigFile('{}', FILE, specs)], [], 'an empty object sets nothing');
  t.end();
});

t.test('invalid JSON names the file, the line and the column', (t) => {
  const cases: [string, number, number][] = [
    ['{\n  "nodeId": "x",\n  "replicas": 3,\n}', 4, 1], // trailing comma
    ['{\n  "nodeId": "x"\n  "replicas": 3\n}', 3, 3], // missing comma
    ['{\n  "nodeId": \n}', 3, 1], // missing value: Node 20 gives no position for this one
    ['{"nodeId": "a\u0001b"}', 1, 14], // a control character inside a string
    ['', 1, 1],
  ];
  for (const [text, line, column] of cases) {
    const err = parseError(text);
    t.type(err, ConfigFileSyntaxError, JSON.stringify(text));
    t.equal((err as ConfigFileSyntaxError).code, 'CONFIG_FILE_SYNTAX');
    t.same((err as ConfigFileSyntaxError).position, { line, column }, JSON.stringify(text));
    t.match(err.message, new RegExp(`^config file node\\.json \\(line ${line}, column ${column}\\): not valid JSON: `));
    t.notMatch(err.message, /is not valid JSON$/, 'the file itself is not echoed');
  }
  t.match(parseError('["a"]').message, /config file node\.json: expected a JSON object of settings.*got an array/);
  t.end();
});

t.test('unknown keys and wrong values name the key and its line', (t) => {
  const unknown = parseError('{\n  "node-id": "x"\n}');
  t.type(unknown, ConfigFileUnknownKeyError);
  t.equal((unknown as ConfigFileUnknownKeyError).code, 'CONFIG_FILE_UNKNOWN_KEY');
  t.equal(unknown.message, 'config file node.json (line 2, column 3): unknown key "node-id"; did you mean "nodeId"? (keys are the long option names in camelCase)');
  t.match(parseError('{"MYDATASTORE_READ_QUORUM": 1}').message, /did you mean "readQuorum"/);
  t.match(parseError('{"colour": "blue"}').message, /unknown key "colour"; known keys: listen, nodeId, .*writeQuorum$/);
  t.match(parseError('{"printConfig": true}').message, /unknown key "printConfig"/, '--print-config is not a setting');
  const bad: [string, RegExp][] = [
    ['{"listen": 7001}', /key "listen": expected a string, got number 7001/],
    ['{"listen": "nowhere"}', /key "listen": invalid address "nowhere"/],
    ['{"replicas": 2.5}', /key "replicas": --replicas must be a positive integer/],
    ['{"replicas": "0"}', /key "replicas": --replicas must be a positive integer/],
    ['{"replicas": true}', /key "replicas": expected a number .*got boolean true/],
    ['{"requestTimeout": "5 minutes"}', /key "requestTimeout": --request-timeout must be a positive number of milliseconds/],
    ['{"maxValueBytes": "1MB"}', /key "maxValueBytes": --max-value-bytes must be a positive number of bytes.*64MiB/],
    ['{"sloppyQuorum": "yes"}', /key "sloppyQuorum": expected true or false, got string "yes"/],
    ['{"seeds": ["127.0.0.1:7002", 7003]}', /key "seeds": expected an array of strings/],
    ['{"seeds": {"a": 1}}', /key "seeds": expected an array of strings .*got an object/],
    ['{"logLevel": "loud"}', /key "logLevel": --log-level must be one of debug, info, warn, error \(got "loud"\)/],
    ['{"http": "everywhere"}', /key "http": --http must be host:port .* or "off"/],
    ['{"nodeId": ""}', /key "nodeId": --node-id must not be empty/],
    ['{"zone": null}', /key "zone": expected a string, got null/],
  ];
  for (const [text, message] of bad) {
    const err = parseError(text);
    t.type(err, ConfigFileValueError, text);
    t.equal((err as ConfigFileValueError).code, 'CONFIG_FILE_BAD_VALUE');
    t.match(err.message, /^config file node\.json \(line 1, column 2\): /);
    t.match(err.message, message);
  }
  t.end();
});

t.test('an unreadable file is a typed error naming it', (t) => {
  const dir = tempDir(t);
  t.throws(() => readConfigFile(join(dir, 'missing.json')), { code: 'CONFIG_FILE_UNREADABLE', message: `config file ${join(dir, 'missing.json')}: cannot read it: no such file` });
  t.throws(() => readConfigFile(dir), ConfigFileUnreadableError, 'a directory');
  t.end();
});

/** A store like commander's: values with their sources. */
function store(entries: Record<string, [unknown, string]>) {
  const m = new Map(Object.entries(entries));
  return {
    m,
    getOptionValue: (k: string) => m.get(k)?.[0],
    getOptionValueSource: (k: string) => m.get(k)?.[1],
    setOptionValueWithSource: (k: string, v: unknown, s: string) => m.set(k, [v, s]),
  };
}

t.test('file values replace only defaults and unset settings', (t) => {
  const s = store({ listen: ['127.0.0.1:1', 'cli'], nodeId: ['env-node', 'env'], replicas: [3, 'default'] });
  const applied = applyConfigValues(s, new Map<string, unknown>([['listen', '127.0.0.1:2'], ['nodeId', 'file-node'], ['replicas', 5], ['zone', 'z1']]));
  t.same(applied, ['replicas', 'zone']);
  t.same(Object.fromEntries(s.m), { listen: ['127.0.0.1:1', 'cli'], nodeId: ['env-node', 'env'], replicas: [5, 'config'], zone: ['z1', 'config'] });
  t.end();
});

t.test('a boolean variable is read for its text, not for being set', (t) => {
  const s = store({ sloppyQuorum: [true, 'env'], bootstrap: [true, 'env'] });
  applyBooleanEnv(s, specs.values(), { MYDATASTORE_SLOPPY_QUORUM: 'false', MYDATASTORE_BOOTSTRAP: 'Yes' });
  t.same(Object.fromEntries(s.m), { sloppyQuorum: [false, 'env'], bootstrap: [true, 'env'] });
  const flag = store({ sloppyQuorum: [true, 'cli'] });
  applyBooleanEnv(flag, specs.values(), { MYDATASTORE_SLOPPY_QUORUM: 'false' });
  t.same(flag.m.get('sloppyQuorum'), [true, 'cli'], 'the flag still wins');
  t.throws(() => applyBooleanEnv(store({ sloppyQuorum: [true, 'env'] }), specs.values(), { MYDATASTORE_SLOPPY_QUORUM: 'maybe' }), ConfigEnvError);
  t.end();
});

function defaults(over: Partial<ServerCommandOptions>): ServerCommandOptions {
  const base = Object.fromEntries(Object.entries(SERVER_SETTINGS).filter(([, r]) => r.default !== undefined).map(([k, r]) => [k, r.default]));
  return { ...base, ...over } as ServerCommandOptions;
}

t.test('settings that contradict each other are refused, naming each with its source', (t) => {
  const source = (k: string) => (k === 'readQuorum' ? 'cli' : 'config');
  t.doesNotThrow(() => checkSettings(defaults({}), source), 'the defaults fit together');
  t.doesNotThrow(() => checkSettings(defaults({ replicas: 1, readQuorum: 1, writeQuorum: 1, http: 'off' }), source));
  const cases: [Partial<ServerCommandOptions>, RegExp][] = [
    [{ readQuorum: 4 }, /read quorum must be an integer in 1\.\.N \(N = 3\).*replicas 3 from config, readQuorum 4 from cli/],
    [{ replicas: 2, writeQuorum: 3 }, /write quorum must be an integer in 1\.\.N \(N = 2\)/],
    [{ replicas: 65 }, /replicas must be an integer in 1\.\.64/],
    [{ partitions: 70_000 }, /partitions must be an integer in 1\.\.65536/],
    [{ maxValueBytes: 32 * 1024 * 1024, maxFrameSize: 64 * 1024 * 1024 }, /maxValueBytes is over 16777216/],
    [{ maxValueBytes: 2048, maxFrameSize: 1024 }, /maxValueBytes must be below maxFrameSize/],
    [{ maxInFlightBytes: 1024 * 1024, maxFrameSize: 2 * 1024 * 1024 }, /maxInFlightBytes must be at least maxFrameSize/],
    [{ http: '127.0.0.1:7000' }, /the HTTP gateway and the RPC server cannot share an address/],
  ];
  for (const [over, message] of cases) {
    t.throws(() => checkSettings(defaults(over), source), { code: 'CONFIG_CONFLICT', message }, JSON.stringify(over));
  }
  t.type(new ConfigConflictError('x'), Error);
  t.end();
});

t.test('the command merges flag over variable over file over default', async (t) => {
  const dir = tempDir(t);
  const file = join(dir, 'node.json');
  writeFileSync(file, JSON.stringify({ nodeId: 'file', listen: '127.0.0.1:7005', replicas: 5, requestTimeout: '2s', sloppyQuorum: true }));
  const env = { MYDATASTORE_LISTEN: '127.0.0.1:7010', MYDATASTORE_REPLICAS: '4', MYDATASTORE_SLOPPY_QUORUM: 'off' };
  Object.assign(process.env, env);
  t.teardown(() => {
    for (const k of Object.keys(env)) delete process.env[k];
  });
  let got: ServerCommandOptions | undefined;
  const cmd = serverCommand((opts) => {
    got = opts;
    return Promise.resolve();
  });
  await cmd.parseAsync(['--config', file, '--replicas', '3'], { from: 'user' });
  t.ok(got !== undefined, 'runServer is called');
  t.match(got, { replicas: 3, listen: '127.0.0.1:7010', nodeId: 'file', requestTimeout: 2000, sloppyQuorum: false, voters: 3, partitions: 256 });
  t.notOk('config' in (got ?? {}), '--config is not a server setting');
});

t.test('every setting has a flag, a variable and a documented config key; every error code is documented', (t) => {
  const doc = readFileSync(fileURLToPath(new URL('../../../tools/CONFIG.md', import.meta.url)), 'utf8');
  const cmd: Command = serverCommand(() => Promise.resolve());
  for (const [key, row] of Object.entries(SERVER_SETTINGS)) {
    const opt = cmd.options.find((o) => o.attributeName() === key);
    t.equal(opt?.envVar, envVarOf(row.flags), `${key}: ${row.flags}, ${envVarOf(row.flags)}`);
    // Its row in the table: key, flag, variable, and a default that states the value.
    const cell = `| \`${key}\` | \`${flagOf(row.flags)}\` | \`${envVarOf(row.flags)}\` | `;
    const line = doc.split('\n').find((l) => l.startsWith(cell));
    t.ok(line !== undefined, `${key} has its row in tools/CONFIG.md`);
    if (row.default !== undefined) t.ok(line?.slice(cell.length).startsWith(`${row.defaultText ?? JSON.stringify(row.default).replaceAll(`"`, "")} `), `${key}: the documented default is the default`);
  }
  const errors = [new ConfigFileUnreadableError('f', 'r'), new ConfigFileSyntaxError('f', undefined, 'r'), new ConfigFileUnknownKeyError('f', 'k', undefined, 'h'), new ConfigFileValueError('f', 'k', undefined, 'r'), new ConfigEnvError('V', 'r'), new ConfigConflictError('r')];
  for (const err of errors) t.ok(doc.includes(`| \`${err.code}\` | \`${err.name}\` |`), `${err.code} (${err.name}) is documented`);
  t.end();
});

t.test('the JSON error locator agrees with JSON.parse on what is valid (mutation fuzz)', (t) => {
  const sample = JSON.stringify({ nodeId: 'n\u00e9\\"1', seeds: ['a:1', 'b:2'], n: -12.5e3, ok: true, none: null, nested: { x: [0, 1.0, {}] } }, null, 1);
  const alphabet = '{}[]":,-+.0123456789eE \n\\tfnru/';
  const rng = new Rng(7);
  let invalid = 0;
  let positioned = 0;
  for (let i = 0; i < 3000; i++) {
    let text = sample;
    for (let k = 0, n = 1 + rng.int(3); k < n; k++) {
      const at = rng.int(text.length + 1);
      const op = rng.int(3);
      const c = alphabet[rng.int(alphabet.length)]!;
      text = op === 0 ? text.slice(0, at) + text.slice(at + 1) : op === 1 ? text.slice(0, at) + c + text.slice(at) : text.slice(0, at) + c + text.slice(at + 1);
    }
    let valid = true;
    let nodePosition: number | undefined; // Node 20 gives one for some mistakes
    try {
      JSON.parse(text);
    } catch (err) {
      valid = false;
      invalid++;
      const m = /at position (\d+)/.exec((err as Error).message);
      if (m !== null) nodePosition = Number(m[1]);
    }
    const offset = jsonErrorOffset(text);
    if (valid !== (offset === undefined) || (nodePosition !== undefined && nodePosition !== offset)) {
      t.fail(`disagrees on ${JSON.stringify(text)}: JSON.parse ${valid ? 'accepts' : `refuses at ${nodePosition}`}, offset ${offset}`);
      break;
    }
    if (nodePosition !== undefined) positioned++;
  }
  t.ok(invalid > 1000, `${invalid} of 3000 mutants were invalid`);
  t.ok(positioned > 500, `the same offset as JSON.parse's in all ${positioned} cases where it gives one`);
  t.same(positionOf('ab\ncd\nef', 7), { line: 3, column: 2 });
  t.end();
});

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `mydatastore server ...args` with exactly `env` set (besides PATH), to completion. */
function server(args: string[], env: Record<string, string> = {}): Promise<Run> {
  return new Promise((resolve) => {
    execFile(process.execPath, [cli, 'server', ...args], { env: { PATH: process.env.PATH ?? '', ...env }, timeout: 30_000 }, (err, stdout, stderr) => {
      resolve({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : -1, stdout, stderr });
    });
  });
}

t.test('--print-config shows the merged settings and their sources, and starts nothing', async (t) => {
  const dir = tempDir(t);
  const file = join(dir, 'node.json');
  writeFileSync(file, JSON.stringify({ nodeId: 'from-file', listen: '127.0.0.1:7005', replicas: 5, data: join(dir, 'never') }, null, 2));
  const res = await server(['--print-config', '--replicas', '4'], { MYDATASTORE_CONFIG: file, MYDATASTORE_LISTEN: '127.0.0.1:7010', MYDATASTORE_REPLICAS: '3' });
  t.equal(res.code, 0, res.stderr);
  const out = JSON.parse(res.stdout) as { configFile: string; settings: Record<string, { value: unknown; source: string }> };
  t.equal(out.configFile, file);
  t.same(out.settings.replicas, { value: 4, source: 'cli' }, 'a flag beats the variable and the file');
  t.same(out.settings.listen, { value: '127.0.0.1:7010', source: 'env' }, 'a variable beats the file');
  t.same(out.settings.nodeId, { value: 'from-file', source: 'config' }, 'the file beats the default');
  t.same(out.settings.voters, { value: 3, source: 'default' });
  t.same(out.settings.zone, { value: null, source: 'default' }, 'unset settings are listed too');
  t.same(Object.keys(out.settings).sort(), Object.keys(SERVER_SETTINGS).sort(), 'every setting, nothing else');
  t.equal(res.stderr, '');
});

t.test('a bad config file or R > N exits 2 with the reason, before anything starts', async (t) => {
  const dir = tempDir(t);
  const file = join(dir, 'node.json');
  writeFileSync(file, '{\n  "nodeId": "n1",\n  "replicas": "three"\n}\n');
  const [bad, quorum, zero] = await Promise.all([
    server(['--config', file, '--data', join(dir, 'data')]),
    server(['--print-config', '--replicas', '2'], { MYDATASTORE_WRITE_QUORUM: '3' }),
    server(['--print-config', '--read-quorum', '0']),
  ]);
  t.equal(bad.code, 2);
  t.equal(bad.stderr, `error: config file ${file} (line 3, column 3): key "replicas": --replicas must be a positive integer.\n`);
  t.equal(bad.stdout, '');
  t.notOk(existsSync(join(dir, 'data')), 'no node was started: its data directory was never made');
  t.equal(quorum.code, 2);
  t.match(quorum.stderr, /^error: invalid settings: write quorum must be an integer in 1\.\.N \(N = 2\) \(.*replicas 2 from cli.*writeQuorum 3 from env\)/);
  t.equal(zero.code, 2);
  t.match(zero.stderr, /--read-quorum must be a positive integer/);
});
