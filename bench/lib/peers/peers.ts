/**
 * The peers `npm run bench:cluster -- --peers` measures beside MyDataStore: each with the binary it needs
 * on PATH, the Debian/Ubuntu packages that bring it, and how to start it for the bench's load shape.
 */
import { startEtcd } from './etcd.js';
import { findExecutable } from './peer-process.js';
import type { RunningPeer } from './peer-process.js';
import { startRedis } from './redis.js';

export interface PeerLoad {
  /** Requests in flight (Redis opens this many connections). */
  concurrency: number;
  deadlineMs: number;
}

export interface Peer {
  system: string;
  /** The server binary looked up on PATH. */
  binary: string;
  /** `apt-get install` these to get it. */
  packages: readonly string[];
  start(binaryPath: string, load: PeerLoad): Promise<RunningPeer>;
}

export const PEERS: readonly Peer[] = [
  {
    system: 'etcd',
    binary: 'etcd',
    packages: ['etcd-server', 'etcd-client'],
    start: (command, load) => startEtcd({ command, deadlineMs: load.deadlineMs }),
  },
  {
    system: 'redis',
    binary: 'redis-server',
    packages: ['redis-server'],
    start: (command, load) => startRedis({ command, connections: load.concurrency, deadlineMs: load.deadlineMs }),
  },
];

/** The binary's path, or the line that says it is missing and what to install. */
export function locate(peer: Peer): { path: string } | { missing: string } {
  const path = findExecutable(peer.binary);
  if (path !== undefined) return { path };
  return { missing: `${peer.system}: not installed (apt-get install ${peer.packages.join(' ')}); skipped` };
}
