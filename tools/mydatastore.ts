#!/usr/bin/env node
/** The `mydatastore` command: runs a node, and talks to nodes. `mydatastore --help` lists everything. */
import { Command, InvalidArgumentError, Option } from 'commander';
import { clusterStart, clusterStop } from './commands/cluster.js';
import { clusterAdd } from './commands/cluster-add.js';
import { clusterKill, KILL_SIGNALS } from './commands/cluster-kill.js';
import { clusterRestart } from './commands/cluster-restart.js';
import { clusterStatus } from './commands/cluster-status.js';
import { decommissionCommand } from './commands/decommission.js';
import { kvCommand } from './commands/kv.js';
import type { KvCommandOptions } from './commands/kv.js';
import { members } from './commands/members.js';
import { ping } from './commands/ping.js';
import { runServer } from './commands/server.js';
import { status } from './commands/status.js';
import { serverCommand } from './server-command.js';
import { addressParser, portNumber, positiveInt, seedList } from './setting-parsers.js';
import { VERSION } from './version.js';
import { certsCommand } from './commands/certs.js';
import { clientCredentials, credentialOptions } from './client-credentials.js';
import type { ClientCredentials, CredentialFlags } from './client-credentials.js';
import { toWireConsistency } from '../client/consistency.js';

const program = new Command()
  .name('mydatastore')
  .description('MyDataStore: a leaderless, Dynamo-style replicated key-value database.')
  .version(VERSION, '-v, --version', 'print the version and exit')
  .showHelpAfterError('(run with --help for usage)');

program.addCommand(serverCommand(runServer));
program.addCommand(certsCommand());

/**
 * The credentials a client command's flags name (rpc/SECURITY.md); a file that cannot be read, or flags
 * that do not go together, print one line and exit 2 before anything is sent.
 */
function credentialsOf(opts: CredentialFlags): ClientCredentials {
  try {
    return clientCredentials(opts);
  } catch (err) {
    console.error(`error: ${(err as Error).message}`);
    process.exit(2);
  }
}

credentialOptions(program.command('members'))
  .description('print a node\'s membership view: id, address, state, incarnation and zone of every member it knows')
  .argument('<addr>', 'the node\'s RPC address, host:port', addressParser(false))
  .option('-t, --timeout <ms>', 'how long to wait for the reply', positiveInt('--timeout'), 2000)
  .option('--json', 'print JSON instead of a table')
  .action(async (addr: string, opts: Parameters<typeof members>[1] & CredentialFlags) => {
    process.exitCode = await members(addr, { ...opts, credentials: credentialsOf(opts) });
  });

credentialOptions(program.command('status'))
  .description('print a node\'s Raft and cluster status: role, leader, term, commit index, epoch, config, committed members and ring')
  .argument('[addr]', 'the node\'s RPC address, host:port (same as --address)', addressParser(false))
  .addOption(new Option('-a, --address <host:port>', 'the node\'s RPC address').default('127.0.0.1:7001').argParser(addressParser(false)))
  .option('-t, --timeout <ms>', 'how long to wait for the reply', positiveInt('--timeout'), 2000)
  .option('--json', 'print JSON instead of text')
  .action(async (addr: string | undefined, opts: { address: string; timeout: number; json?: boolean } & CredentialFlags) => {
    process.exitCode = await status({ ...opts, address: addr ?? opts.address, credentials: credentialsOf(opts) });
  });

credentialOptions(program.command('decommission'))
  .description('remove a member from the cluster for good: the Raft leader commits its removal and the ring no longer holds it (the id can never rejoin)')
  .argument('<id>', 'the node id to remove')
  .addOption(new Option('-a, --address <host:port>', 'any node of the cluster (the request is forwarded to the Raft leader)').default('127.0.0.1:7001').argParser(addressParser(false)))
  .option('-t, --timeout <ms>', 'keep retrying this long while the cluster has no leader', positiveInt('--timeout'), 15_000)
  .action(async (id: string, opts: { address: string; timeout: number } & CredentialFlags) => {
    process.exitCode = await decommissionCommand(id, { ...opts, credentials: credentialsOf(opts) });
  });

const cluster = program.command('cluster').description('run a local cluster of nodes on 127.0.0.1 for development');
const DATA_HELP = 'the directory given to cluster start';

cluster
  .command('start')
  .description('start n nodes on 127.0.0.1 (nodeK on base-port+K-1, seeded with each other); in the foreground unless --detach')
  .addHelpText('after', `
In the foreground the nodes' log lines are printed prefixed with their id (and written to
DATA/nodeK/node.log); Ctrl-C or SIGTERM stops every node gracefully. With --detach the nodes run in the
background, their pids are written to DATA/cluster.json, and "mydatastore cluster stop" stops them;
"cluster status|add|kill|restart" then watch, grow and break the detached cluster one node at a time.
node1 starts with --bootstrap: it creates the cluster, and its Raft leader adds the others; Raft state
lives in DATA/nodeK/raft, so a restarted cluster resumes where it was ("mydatastore status" shows it).`)
  .option('-n, --nodes <n>', 'number of nodes', positiveInt('--nodes'), 3)
  .option('--base-port <port>', 'port of node1; nodeK listens on base-port+K-1', positiveInt('--base-port'), 7001)
  .option('--http-base-port <port>', 'HTTP gateway port of node1; nodeK serves HTTP on http-base-port+K-1', portNumber('--http-base-port'), 8001)
  .option('--data <dir>', 'directory holding nodeK/ (data and node.log) and cluster.json', './data')
  .option('--detach', 'start the nodes in the background and return once they see each other and serve data', false)
  .option('--cluster-id <id>', 'cluster id given to every node', 'mydatastore')
  .addOption(new Option('--log-level <level>', 'log level of the nodes').choices(['debug', 'info', 'warn', 'error']).default('info'))
  .option('--probe-interval-ms <ms>', 'failure-detection probe interval of the nodes (default 1000)', positiveInt('--probe-interval-ms'))
  .option('--ready-timeout <ms>', 'with --detach: wait at most this long for the nodes to see each other and serve data', positiveInt('--ready-timeout'), 20_000)
  .action(async (opts: Parameters<typeof clusterStart>[0]) => {
    process.exitCode = await clusterStart(opts);
  });

cluster
  .command('stop')
  .description('stop a cluster started with "cluster start --detach" (SIGTERM, then wait for every node to exit)')
  .option('--data <dir>', DATA_HELP, './data')
  .option('--timeout <ms>', 'wait this long for the nodes to exit before killing them', positiveInt('--timeout'), 20_000)
  .action(async (opts: Parameters<typeof clusterStop>[0]) => {
    process.exitCode = await clusterStop(opts);
  });

cluster
  .command('status')
  .description('list the nodes of a cluster started with "cluster start": addresses, pid, whether the process runs (or is paused), its gossip state and committed status as seen by a running node, and its Raft role')
  .option('--data <dir>', DATA_HELP, './data')
  .option('-t, --timeout <ms>', 'how long to wait for each node\'s answer', positiveInt('--timeout'), 1000)
  .option('--json', 'print JSON instead of a table')
  .action(async (opts: Parameters<typeof clusterStatus>[0]) => {
    process.exitCode = await clusterStatus(opts);
  });

cluster
  .command('add')
  .description('start one more node in a cluster started with "cluster start --detach": nodeK+1 on the next RPC and HTTP ports, seeded with the running nodes, in the background')
  .option('--data <dir>', DATA_HELP, './data')
  .option('--ready-timeout <ms>', 'wait at most this long for the running nodes to see it alive', positiveInt('--ready-timeout'), 20_000)
  .action(async (opts: Parameters<typeof clusterAdd>[0]) => {
    process.exitCode = await clusterAdd(opts);
  });

cluster
  .command('kill')
  .description('signal one node of a cluster started with "cluster start --detach": KILL crashes it, TERM stops it gracefully, STOP pauses it, CONT resumes it')
  .argument('<id>', 'the node id, e.g. node2')
  .option('--data <dir>', DATA_HELP, './data')
  .addOption(new Option('-s, --signal <signal>', 'the signal to send').choices(KILL_SIGNALS).default('KILL'))
  .option('--timeout <ms>', 'wait this long for the process to exit, pause or resume', positiveInt('--timeout'), 20_000)
  .action(async (id: string, opts: Parameters<typeof clusterKill>[1]) => {
    process.exitCode = await clusterKill(id, opts);
  });

cluster
  .command('restart')
  .description('start a stopped or killed node of a cluster started with "cluster start --detach" again: same id, ports, data directory and settings')
  .argument('<id>', 'the node id, e.g. node2')
  .option('--data <dir>', DATA_HELP, './data')
  .option('--ready-timeout <ms>', 'wait at most this long for the running nodes to see it alive', positiveInt('--ready-timeout'), 20_000)
  .action(async (id: string, opts: Parameters<typeof clusterRestart>[1]) => {
    process.exitCode = await clusterRestart(id, opts);
  });

const KV_HELP = `
Exit codes: 0 success; 1 "get" of a key that has no value (a message goes to stderr, nothing to stdout);
2 any other failure: bad arguments, no node reachable, not enough replicas answered, timeout.
"get" writes the value's exact bytes to stdout (plus a newline when stdout is a terminal).
Examples:
  mydatastore put greeting hello --consistency ALL
  mydatastore get greeting --node 127.0.0.1:7002
  MYDATASTORE_NODE=127.0.0.1:7001,127.0.0.1:7002 mydatastore del greeting`;

function consistencyArg(value: string): string {
  try {
    toWireConsistency(value);
  } catch (err) {
    throw new InvalidArgumentError((err as Error).message);
  }
  return value;
}

function kvOptions(cmd: Command): Command {
  return credentialOptions(cmd)
    .addOption(new Option('-n, --node <host:port,...>', 'node(s) to send the request to; any node coordinates any request, the next is tried if one cannot be reached').default(['127.0.0.1:7001'], '127.0.0.1:7001').env('MYDATASTORE_NODE').argParser(seedList))
    .addOption(new Option('-c, --consistency <level>', 'replicas that must answer (R) or acknowledge (W): ONE, QUORUM, ALL or a count (default: the cluster\'s configured R/W)').argParser(consistencyArg))
    .option('-t, --timeout <ms>', 'give up after this long, retries included', positiveInt('--timeout'), 5000)
    .addHelpText('after', KV_HELP)
    .exitOverride((err) => process.exit(err.exitCode === 0 ? 0 : 2));
}

const DURABLE_HELP = 'each replica fdatasyncs the write before it acknowledges (default: the server\'s --durable-writes)';

kvOptions(program.command('put').description('store VALUE under KEY (both as UTF-8 text)').argument('<key>').argument('<value>')).option('--durable', DURABLE_HELP).action(
  async (key: string, value: string, opts: KvCommandOptions & CredentialFlags) => {
    process.exitCode = await kvCommand({ kind: 'put', key, value }, { ...opts, credentials: credentialsOf(opts) });
  },
);

kvOptions(program.command('get').description('print the value of KEY').argument('<key>')).action(async (key: string, opts: KvCommandOptions & CredentialFlags) => {
  process.exitCode = await kvCommand({ kind: 'get', key }, { ...opts, credentials: credentialsOf(opts) });
});

kvOptions(program.command('del').description('delete KEY (deleting a missing key succeeds)').argument('<key>')).option('--durable', DURABLE_HELP).action(async (key: string, opts: KvCommandOptions & CredentialFlags) => {
  process.exitCode = await kvCommand({ kind: 'del', key }, { ...opts, credentials: credentialsOf(opts) });
});

credentialOptions(program.command('ping'))
  .description('check that a node answers, and print the round-trip time')
  .argument('<addr>', 'the node\'s RPC address, host:port', addressParser(false))
  .option('-c, --count <n>', 'how many pings to send', positiveInt('--count'), 1)
  .option('-t, --timeout <ms>', 'how long to wait for each reply', positiveInt('--timeout'), 2000)
  .option('-i, --interval <ms>', 'pause between pings', positiveInt('--interval'), 1000)
  .action(async (addr: string, opts: Parameters<typeof ping>[1] & CredentialFlags) => {
    process.exitCode = await ping(addr, { ...opts, credentials: credentialsOf(opts) });
  });

await program.parseAsync();
