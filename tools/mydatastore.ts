#!/usr/bin/env node
/** The `mydatastore` command: runs a node, and talks to nodes. `mydatastore --help` lists everything. */
import { Command, InvalidArgumentError, Option } from 'commander';
import { parseAddress } from '../rpc/address.js';
import { clusterStart, clusterStop } from './commands/cluster.js';
import { decommissionCommand } from './commands/decommission.js';
import { kvCommand } from './commands/kv.js';
import type { KvCommandOptions } from './commands/kv.js';
import { members } from './commands/members.js';
import { ping } from './commands/ping.js';
import { runServer } from './commands/server.js';
import { status } from './commands/status.js';
import { VERSION } from './version.js';
import { toWireConsistency } from '../client/consistency.js';

function positiveInt(name: string) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n <= 0) throw new InvalidArgumentError(`${name} must be a positive integer.`);
    return n;
  };
}

function addressParser(forListen: boolean) {
  return (value: string): string => {
    try {
      parseAddress(value, forListen);
    } catch (err) {
      throw new InvalidArgumentError((err as Error).message);
    }
    return value;
  };
}

function seedList(value: string): string[] {
  const seeds = value.split(',').map((s) => s.trim()).filter((s) => s !== '');
  for (const s of seeds) addressParser(false)(s);
  return seeds;
}

const program = new Command()
  .name('mydatastore')
  .description('MyDataStore: a leaderless, Dynamo-style replicated key-value database.')
  .version(VERSION, '-v, --version', 'print the version and exit')
  .showHelpAfterError('(run with --help for usage)');

program
  .command('server')
  .description('run a node in the foreground until SIGTERM or Ctrl-C (graceful: it leaves the cluster, in-flight requests finish)')
  .addHelpText('after', `
Every option can also be set by the environment variable shown as "env:" in its description; a flag
wins over the variable. Example, three nodes on one machine:
  mydatastore server --node-id n1 --listen 127.0.0.1:7001
  mydatastore server --node-id n2 --listen 127.0.0.1:7002 --seeds 127.0.0.1:7001
  mydatastore server --node-id n3 --listen 127.0.0.1:7003 --seeds 127.0.0.1:7001,127.0.0.1:7002
Membership changes are logged one per line, e.g. "node n3 127.0.0.1:7003 is now dead (incarnation 5)".
Raft: n1 (no seeds) creates the cluster; its leader adds n2 and n3 to the committed member list once gossip
sees them alive, makes up to --voters of them voters, bumps the epoch every --epoch-interval, and logs it
("raft: became leader at term 2", "raft: committed add-member n2 ...", "raft: epoch 5"). A restarted node
recovers its Raft state from DATA/raft. "mydatastore status ADDR" prints what a node knows.`)
  .addOption(new Option('--listen <host:port>', 'RPC address to listen on and to advertise to peers (port 0: any free port)').default('127.0.0.1:7000').env('MYDATASTORE_LISTEN').argParser(addressParser(true)))
  .addOption(new Option('--node-id <id>', 'this node\'s unique id; a restarted node keeps its id').default('node1').env('MYDATASTORE_NODE_ID'))
  .addOption(new Option('--seeds <host:port,...>', 'addresses of nodes to join through (any one that answers is enough; none: start a new cluster)').default([], 'none').env('MYDATASTORE_SEEDS').argParser(seedList))
  .addOption(new Option('--cluster-id <id>', 'name of the cluster; gossip from nodes of another cluster is refused').default('mydatastore').env('MYDATASTORE_CLUSTER_ID'))
  .addOption(new Option('--zone <zone>', 'availability zone or rack, published to the other members (replicas spread across zones)').env('MYDATASTORE_ZONE'))
  .addOption(new Option('--data <dir>', 'data directory, created if missing; Raft keeps its log, votes and snapshots in DATA/raft (default: ./data/<node-id>)').env('MYDATASTORE_DATA'))
  .addOption(new Option('--bootstrap', 'create a new cluster with this node as its first member, if DATA/raft is empty (also implied by starting without --seeds); without it a new node waits for the leader to add it; ignored once the node has Raft state').env('MYDATASTORE_BOOTSTRAP'))
  .addOption(new Option('--epoch-interval <ms>', 'the Raft leader commits a new epoch this often').default(30_000).env('MYDATASTORE_EPOCH_INTERVAL').argParser(positiveInt('--epoch-interval')))
  .addOption(new Option('--voters <n>', 'how many members the leader makes Raft voters (the others replicate the log as learners)').default(3).env('MYDATASTORE_VOTERS').argParser(positiveInt('--voters')))
  .addOption(new Option('--remove-dead-after <ms>', 'the Raft leader removes a member from the committed member list once gossip has seen it dead (or left) this long').default(600_000, '600000 (10 minutes)').env('MYDATASTORE_REMOVE_DEAD_AFTER').argParser(positiveInt('--remove-dead-after')))
  .addOption(new Option('--raft-tick <ms>', 'Raft clock tick: heartbeats every tick, an election after 10-20 ticks without a leader').default(50).env('MYDATASTORE_RAFT_TICK').argParser(positiveInt('--raft-tick')))
  .addOption(new Option('--snapshot-entries <n>', 'snapshot the cluster state and truncate the Raft log after this many applied entries').default(1000).env('MYDATASTORE_SNAPSHOT_ENTRIES').argParser(positiveInt('--snapshot-entries')))
  .addOption(new Option('--log-level <level>', 'least severe log level printed').choices(['debug', 'info', 'warn', 'error']).default('info').env('MYDATASTORE_LOG_LEVEL'))
  .addOption(new Option('--max-frame-size <bytes>', 'largest accepted RPC frame payload').default(16 * 1024 * 1024).env('MYDATASTORE_MAX_FRAME_SIZE').argParser(positiveInt('--max-frame-size')))
  .addOption(new Option('--probe-interval-ms <ms>', 'failure detection: ping one member this often (default 1000; lower detects failures sooner, costs more traffic)').env('MYDATASTORE_PROBE_INTERVAL_MS').argParser(positiveInt('--probe-interval-ms')))
  .addOption(new Option('--probe-timeout-ms <ms>', 'wait this long for an ack before asking others to probe (default 500, or half the probe interval)').env('MYDATASTORE_PROBE_TIMEOUT_MS').argParser(positiveInt('--probe-timeout-ms')))
  .addOption(new Option('--push-pull-interval-ms <ms>', 'full membership exchange with a random member this often (default 30000)').env('MYDATASTORE_PUSH_PULL_INTERVAL_MS').argParser(positiveInt('--push-pull-interval-ms')))
  .addOption(new Option('--leave-timeout-ms <ms>', 'on shutdown, gossip "left" for at most this long before exiting').default(3000).env('MYDATASTORE_LEAVE_TIMEOUT_MS').argParser(positiveInt('--leave-timeout-ms')))
  .action(async (opts: Parameters<typeof runServer>[0]) => {
    await runServer(opts);
  });

program
  .command('members')
  .description('print a node\'s membership view: id, address, state, incarnation and zone of every member it knows')
  .argument('<addr>', 'the node\'s RPC address, host:port', addressParser(false))
  .option('-t, --timeout <ms>', 'how long to wait for the reply', positiveInt('--timeout'), 2000)
  .option('--json', 'print JSON instead of a table')
  .action(async (addr: string, opts: Parameters<typeof members>[1]) => {
    process.exitCode = await members(addr, opts);
  });

program
  .command('status')
  .description('print a node\'s Raft and cluster status: role, leader, term, commit index, epoch, config, committed members and ring')
  .argument('[addr]', 'the node\'s RPC address, host:port (same as --address)', addressParser(false))
  .addOption(new Option('-a, --address <host:port>', 'the node\'s RPC address').default('127.0.0.1:7001').argParser(addressParser(false)))
  .option('-t, --timeout <ms>', 'how long to wait for the reply', positiveInt('--timeout'), 2000)
  .option('--json', 'print JSON instead of text')
  .action(async (addr: string | undefined, opts: { address: string; timeout: number; json?: boolean }) => {
    process.exitCode = await status({ ...opts, address: addr ?? opts.address });
  });

program
  .command('decommission')
  .description('remove a member from the cluster for good: the Raft leader commits its removal and the ring no longer holds it (the id can never rejoin)')
  .argument('<id>', 'the node id to remove')
  .addOption(new Option('-a, --address <host:port>', 'any node of the cluster (the request is forwarded to the Raft leader)').default('127.0.0.1:7001').argParser(addressParser(false)))
  .option('-t, --timeout <ms>', 'keep retrying this long while the cluster has no leader', positiveInt('--timeout'), 15_000)
  .action(async (id: string, opts: { address: string; timeout: number }) => {
    process.exitCode = await decommissionCommand(id, opts);
  });

const cluster = program.command('cluster').description('run a local cluster of nodes on 127.0.0.1 for development');

cluster
  .command('start')
  .description('start n nodes on 127.0.0.1 (nodeK on base-port+K-1, seeded with each other); in the foreground unless --detach')
  .addHelpText('after', `
In the foreground the nodes' log lines are printed prefixed with their id (and written to
DATA/nodeK/node.log); Ctrl-C or SIGTERM stops every node gracefully. With --detach the nodes run in the
background, their pids are written to DATA/cluster.json, and "mydatastore cluster stop" stops them.
node1 starts with --bootstrap: it creates the cluster, and its Raft leader adds the others; Raft state
lives in DATA/nodeK/raft, so a restarted cluster resumes where it was ("mydatastore status" shows it).`)
  .option('-n, --nodes <n>', 'number of nodes', positiveInt('--nodes'), 3)
  .option('--base-port <port>', 'port of node1; nodeK listens on base-port+K-1', positiveInt('--base-port'), 7001)
  .option('--data <dir>', 'directory holding nodeK/ (data and node.log) and cluster.json', './data')
  .option('--detach', 'start the nodes in the background and return once they see each other', false)
  .option('--cluster-id <id>', 'cluster id given to every node', 'mydatastore')
  .addOption(new Option('--log-level <level>', 'log level of the nodes').choices(['debug', 'info', 'warn', 'error']).default('info'))
  .option('--probe-interval-ms <ms>', 'failure-detection probe interval of the nodes (default 1000)', positiveInt('--probe-interval-ms'))
  .option('--ready-timeout <ms>', 'with --detach: wait at most this long for the nodes to see each other', positiveInt('--ready-timeout'), 20_000)
  .action(async (opts: Parameters<typeof clusterStart>[0]) => {
    process.exitCode = await clusterStart(opts);
  });

cluster
  .command('stop')
  .description('stop a cluster started with "cluster start --detach" (SIGTERM, then wait for every node to exit)')
  .option('--data <dir>', 'the directory given to cluster start', './data')
  .option('--timeout <ms>', 'wait this long for the nodes to exit before killing them', positiveInt('--timeout'), 20_000)
  .action(async (opts: Parameters<typeof clusterStop>[0]) => {
    process.exitCode = await clusterStop(opts);
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
  return cmd
    .addOption(new Option('-n, --node <host:port,...>', 'node(s) to send the request to; any node coordinates any request, the next is tried if one cannot be reached').default(['127.0.0.1:7001'], '127.0.0.1:7001').env('MYDATASTORE_NODE').argParser(seedList))
    .addOption(new Option('-c, --consistency <level>', 'replicas that must answer (R) or acknowledge (W): ONE, QUORUM, ALL or a count (default: the cluster\'s configured R/W)').argParser(consistencyArg))
    .option('-t, --timeout <ms>', 'give up after this long, retries included', positiveInt('--timeout'), 5000)
    .addHelpText('after', KV_HELP)
    .exitOverride((err) => process.exit(err.exitCode === 0 ? 0 : 2));
}

kvOptions(program.command('put').description('store VALUE under KEY (both as UTF-8 text)').argument('<key>').argument('<value>')).action(
  async (key: string, value: string, opts: KvCommandOptions) => {
    process.exitCode = await kvCommand({ kind: 'put', key, value }, opts);
  },
);

kvOptions(program.command('get').description('print the value of KEY').argument('<key>')).action(async (key: string, opts: KvCommandOptions) => {
  process.exitCode = await kvCommand({ kind: 'get', key }, opts);
});

kvOptions(program.command('del').description('delete KEY (deleting a missing key succeeds)').argument('<key>')).action(async (key: string, opts: KvCommandOptions) => {
  process.exitCode = await kvCommand({ kind: 'del', key }, opts);
});

program
  .command('ping')
  .description('check that a node answers, and print the round-trip time')
  .argument('<addr>', 'the node\'s RPC address, host:port', addressParser(false))
  .option('-c, --count <n>', 'how many pings to send', positiveInt('--count'), 1)
  .option('-t, --timeout <ms>', 'how long to wait for each reply', positiveInt('--timeout'), 2000)
  .option('-i, --interval <ms>', 'pause between pings', positiveInt('--interval'), 1000)
  .action(async (addr: string, opts: Parameters<typeof ping>[1]) => {
    process.exitCode = await ping(addr, opts);
  });

await program.parseAsync();
