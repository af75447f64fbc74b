#!/usr/bin/env node
/** The `mydatastore` command: runs a node, and talks to nodes. `mydatastore --help` lists everything. */
import { Command, InvalidArgumentError, Option } from 'commander';
import { parseAddress } from '../rpc/address.js';
import { clusterStart, clusterStop } from './commands/cluster.js';
import { members } from './commands/members.js';
import { ping } from './commands/ping.js';
import { runServer } from './commands/server.js';
import { VERSION } from './version.js';

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
Membership changes are logged one per line, e.g. "node n3 127.0.0.1:7003 is now dead (incarnation 5)".`)
  .addOption(new Option('--listen <host:port>', 'RPC address to listen on and to advertise to peers (port 0: any free port)').default('127.0.0.1:7000').env('MYDATASTORE_LISTEN').argParser(addressParser(true)))
  .addOption(new Option('--node-id <id>', 'this node\'s unique id; a restarted node keeps its id').default('node1').env('MYDATASTORE_NODE_ID'))
  .addOption(new Option('--seeds <host:port,...>', 'addresses of nodes to join through (any one that answers is enough; none: start a new cluster)').default([], 'none').env('MYDATASTORE_SEEDS').argParser(seedList))
  .addOption(new Option('--cluster-id <id>', 'name of the cluster; gossip from nodes of another cluster is refused').default('mydatastore').env('MYDATASTORE_CLUSTER_ID'))
  .addOption(new Option('--zone <zone>', 'availability zone or rack, published to the other members (replicas spread across zones)').env('MYDATASTORE_ZONE'))
  .addOption(new Option('--data <dir>', 'data directory, created if missing (a node keeps no data in it until the data path lands: today it answers Ping and Members only)').env('MYDATASTORE_DATA'))
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

const cluster = program.command('cluster').description('run a local cluster of nodes on 127.0.0.1 for development');

cluster
  .command('start')
  .description('start n nodes on 127.0.0.1 (nodeK on base-port+K-1, seeded with each other); in the foreground unless --detach')
  .addHelpText('after', `
In the foreground the nodes' log lines are printed prefixed with their id (and written to
DATA/nodeK/node.log); Ctrl-C or SIGTERM stops every node gracefully. With --detach the nodes run in the
background, their pids are written to DATA/cluster.json, and "mydatastore cluster stop" stops them.`)
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
