#!/usr/bin/env node
/** The `mydatastore` command: runs a node, and talks to nodes. `mydatastore --help` lists everything. */
import { Command, InvalidArgumentError, Option } from 'commander';
import { parseAddress } from '../rpc/address.js';
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

const program = new Command()
  .name('mydatastore')
  .description('MyDataStore: a leaderless, Dynamo-style replicated key-value database.')
  .version(VERSION, '-v, --version', 'print the version and exit')
  .showHelpAfterError('(run with --help for usage)');

program
  .command('server')
  .description('run a node in the foreground until SIGTERM or Ctrl-C (graceful: in-flight requests finish)')
  .addOption(new Option('--listen <host:port>', 'RPC address to listen on (port 0: any free port)').default('127.0.0.1:7000').env('MYDATASTORE_LISTEN').argParser(addressParser(true)))
  .addOption(new Option('--node-id <id>', 'this node\'s unique id').default('node1').env('MYDATASTORE_NODE_ID'))
  .addOption(new Option('--log-level <level>', 'least severe log level printed').choices(['debug', 'info', 'warn', 'error']).default('info').env('MYDATASTORE_LOG_LEVEL'))
  .addOption(new Option('--max-frame-size <bytes>', 'largest accepted RPC frame payload').default(16 * 1024 * 1024).argParser(positiveInt('--max-frame-size')))
  .action(async (opts: Parameters<typeof runServer>[0]) => {
    await runServer(opts);
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
