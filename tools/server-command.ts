/**
 * The `mydatastore server` command: its flags (from the SERVER_SETTINGS table), the optional config file,
 * --print-config, and the hand-over of the merged settings to runServer (injected, so tests can build the
 * command without starting a node). Any settings error prints one line and exits 2 before anything starts.
 */
import { Command, Option } from 'commander';
import { ServerConfigError } from './server-config-errors.js';
import { applyBooleanEnv, applyConfigValues, checkSettings, effectiveSettings, formatEffectiveSettings, parseConfigFile, readConfigFile } from './server-config.js';
import type { SettingSpec } from './server-config.js';
import type { ServerCommandOptions } from './server-options.js';
import { SERVER_SETTINGS, envVarOf, flagOf } from './server-settings.js';
import type { SettingRow } from './server-settings.js';
import { nonEmpty, oneOf } from './setting-parsers.js';

const rows = Object.entries(SERVER_SETTINGS) as [keyof ServerCommandOptions, SettingRow][];

/** The settings by config file key, as the file parser wants them. */
export function serverSettingSpecs(): Map<string, SettingSpec> {
  return new Map(
    rows.map(([key, row]) => {
      const flag = flagOf(row.flags);
      const parse = row.parse ?? (row.choices === undefined ? undefined : oneOf(flag, row.choices));
      return [key, { key, flag, envVar: envVarOf(row.flags), kind: row.kind, parse }];
    }),
  );
}

const HELP_AFTER = `
Where settings come from: for each one, the first of these that sets it wins
  1. a flag on the command line    --replicas 5
  2. an environment variable       MYDATASTORE_REPLICAS=5   (the "env:" of each option above)
  3. the config file               {"replicas": 5}          (--config FILE or MYDATASTORE_CONFIG=FILE)
  4. the default                                            (the "default:" of each option above)
The config file is one JSON object whose keys are the long option names in camelCase:
  {
    "nodeId": "n1",
    "listen": "10.0.0.1:7001",
    "seeds": ["10.0.0.2:7001", "10.0.0.3:7001"],
    "data": "/var/lib/mydatastore",
    "maxValueBytes": "4MiB",
    "requestTimeout": 2000,
    "sloppyQuorum": true
  }
Durations are milliseconds, or a number with a unit (30s, 10m, 2h, 10d); sizes are bytes, or a number
with a unit (512KiB, 64MiB, 1GiB); both may be JSON numbers or strings in the file. Relative paths are
relative to the working directory. Boolean variables read true/false, 1/0, yes/no or on/off. An unknown
key, a value of the wrong type, or settings that contradict each other (R or W above N, say) stop the
command with exit code 2 before anything starts. "mydatastore server --print-config" prints the merged
settings as JSON, with where each one came from, and exits.

Example, three nodes on one machine:
  mydatastore server --node-id n1 --listen 127.0.0.1:7001
  mydatastore server --node-id n2 --listen 127.0.0.1:7002 --seeds 127.0.0.1:7001
  mydatastore server --node-id n3 --listen 127.0.0.1:7003 --seeds 127.0.0.1:7001,127.0.0.1:7002
Membership changes are logged one per line, e.g. "node n3 127.0.0.1:7003 is now dead (incarnation 5)".
Raft: n1 (no seeds) creates the cluster; its leader adds n2 and n3 to the committed member list once gossip
sees them alive, makes up to --voters of them voters, bumps the epoch every --epoch-interval, and logs it
("raft: became leader at term 2", "raft: committed add-member n2 ...", "raft: epoch 5"). A restarted node
recovers its Raft state from DATA/raft. "mydatastore status ADDR" prints what a node knows.

Logs go to stderr, one JSON object per line:
  {"level":"info","time":"...","nodeId":"n1","component":"raft","msg":"became leader at term 2"}
"component" names the part of the node (node, rpc, http, raft, membership, store, hints, coordinator,
requests, streaming, anti-entropy, clock; "requests" warns of failed client requests, with the error
the client got, at most once a second); "requestId" is on lines about one request (the RPC frame's
request id, or the HTTP X-Request-Id, echoed in every HTTP answer); other context is under "fields".
When stderr is a terminal the same lines are printed for people ("... info  n1 raft: became leader at
term 2"; NO_COLOR turns colours off). --log-level (or MYDATASTORE_LOG_LEVEL) is debug, info, warn or
error; another value exits 2 before anything starts.`;

/** The merged settings runServer receives: every field of the table, without --config and --print-config. */
function pickSettings(cmd: Command): ServerCommandOptions {
  const all = cmd.opts();
  const out: Record<string, unknown> = {};
  for (const [key] of rows) if (all[key] !== undefined) out[key] = all[key];
  return out as unknown as ServerCommandOptions;
}

/**
 * Merges the file under the flags and variables commander has already parsed, checks the result, and
 * either prints it (--print-config) or returns it; on a settings error prints it and returns undefined
 * with exit code 2.
 */
function mergedSettings(cmd: Command): ServerCommandOptions | undefined {
  const specs = serverSettingSpecs();
  try {
    applyBooleanEnv(cmd, specs.values(), process.env);
    const file = cmd.getOptionValue('config') as string | undefined;
    if (file !== undefined) applyConfigValues(cmd, parseConfigFile(readConfigFile(file), file, specs));
    const settings = pickSettings(cmd);
    checkSettings(settings, (key) => cmd.getOptionValueSource(key));
    if (cmd.getOptionValue('printConfig') === true) {
      process.stdout.write(formatEffectiveSettings(file, effectiveSettings(cmd, specs.values())));
      return undefined;
    }
    return settings;
  } catch (err) {
    if (!(err instanceof ServerConfigError)) throw err;
    process.stderr.write(`error: ${err.message}\n`);
    process.exitCode = 2;
    return undefined;
  }
}

export function serverCommand(run: (opts: ServerCommandOptions) => Promise<void>): Command {
  const cmd = new Command('server')
    .description('run a node in the foreground until SIGTERM or Ctrl-C (graceful: it leaves the cluster, in-flight requests finish)')
    .addHelpText('after', HELP_AFTER)
    .showHelpAfterError('(run with --help for usage)')
    // Bad flags and variables exit 2, like bad config files (help and --version still exit 0).
    .exitOverride((err) => process.exit(err.exitCode === 0 ? 0 : 2));
  const specs = serverSettingSpecs();
  for (const [key, row] of rows) {
    const opt = new Option(row.flags, row.help).env(envVarOf(row.flags)).helpGroup(row.group);
    if (row.default !== undefined) opt.default(row.default, row.defaultText);
    if (row.choices !== undefined) opt.choices(row.choices); // for --help; the parser below checks them
    // Flags and variables go through the very parser the config file uses.
    const parse = specs.get(key)?.parse;
    if (parse !== undefined) opt.argParser(parse);
    if (opt.attributeName() !== key) throw new Error(`server setting ${key}: its flag ${row.flags} names ${opt.attributeName()}`);
    cmd.addOption(opt);
  }
  cmd
    .addOption(new Option('--config <file>', 'JSON file of settings (see below); flags and variables override it').env('MYDATASTORE_CONFIG').argParser(nonEmpty('--config')).helpGroup('Configuration:'))
    .addOption(new Option('--print-config', 'print the merged settings as JSON, with where each came from (cli, env, config, default), and exit').helpGroup('Configuration:'))
    .action(async (_opts: unknown, self: Command) => {
      const settings = mergedSettings(self);
      if (settings !== undefined) await run(settings);
    });
  return cmd;
}
