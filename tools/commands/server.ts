import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import Long from 'long';
import { Registry } from 'prom-client';
import { RpcAntiEntropyTransport } from '../../cluster/antientropy/peers.js';
import { AntiEntropyService } from '../../cluster/antientropy/service.js';
import { VerifiedStore } from '../../cluster/antientropy/verified-store.js';
import { NodeFileSystem } from '../../lsm/index.js';
import { RequestGate, registerClientApi } from '../../cluster/coordinator-api.js';
import { isFailure, type ClientRequestObserver } from '../../cluster/client-requests.js';
import { HintReplayer } from '../../cluster/coordinator-hints.js';
import { RingCache } from '../../cluster/coordinator-ring.js';
import { RpcReplicaTransport } from '../../cluster/coordinator-transport.js';
import { Coordinator } from '../../cluster/coordinator.js';
import { HintStore } from '../../cluster/hints/hint-store.js';
import { HybridClock } from '../../cluster/hlc.js';
import { MembershipDriver } from '../../cluster/membership/driver.js';
import type { MemberState } from '../../cluster/membership/types.js';
import { ReplicaService } from '../../cluster/replica-service.js';
import { createNodeStreaming } from '../../cluster/streaming/node.js';
import { ReplicaStore } from '../../cluster/storage/replica-store.js';
import { RaftDriver } from '../../cluster/raft/driver.js';
import type { MembershipConfig } from '../../cluster/membership/types.js';
import { formatAddress, parseAddress } from '../../rpc/address.js';
import { DIAL_MAP_VARIABLE, dialMapFrom } from '../dial-map.js';
import { wallClock } from '../test-clock.js';
import { exposureWarning, loadNodeCredentials } from '../node-security.js';
import type { NodeCredentials } from '../node-security.js';
import type { TlsMaterial } from '../../rpc/security.js';
import { RpcClient } from '../../rpc/client.js';
import { Methods } from '../../rpc/methods.js';
import { RpcServer } from '../../rpc/server.js';
import { rateLimitedWarn } from '../../rpc/logger.js';
import { configProblem, type ClusterConfig } from '../../cluster/state/config.js';
import type { HttpGateway } from '../../http/gateway.js';
import { createNodeLoggers } from '../node-logger.js';
import { httpListenAddress, startNodeHttp } from '../node-http.js';
import { registerNodeMetrics, type RaftGauges } from '../node-metrics.js';
import { nodeStatusSource } from '../node-status.js';
import type { ServerCommandOptions } from '../server-options.js';
import { VERSION } from '../version.js';

export type { ServerCommandOptions } from '../server-options.js';

/** How long SIGTERM waits for in-flight client requests before it goes on shutting down. */
const DRAIN_TIMEOUT_MS = 10_000;

/**
 * Runs a node until SIGTERM/SIGINT: the RPC server (Ping, Status), SWIM membership (Gossip, Members),
 * Raft (the committed member list, config and epoch; its state in DATA/raft) and the data path: the
 * client API (Get, Put, Delete, Batch) through a Coordinator, ReplicaWrite/ReplicaRead over the replica
 * store in DATA/store, hints in DATA/hints and their replay loop; and the HTTP gateway (http/HTTP.md:
 * /kv, /health, /ready, /metrics) on its own port. On a signal it first refuses new client requests (RPC
 * and HTTP) and lets those in flight finish, closes the gateway, hands Raft leadership over, leaves the
 * cluster gracefully, drains the RPC server, closes the stores and exits 0.
 */
export async function runServer(opts: ServerCommandOptions): Promise<void> {
  // One JSON line per event on stderr (human-readable on a terminal), each component named (tools/node-logger.ts).
  const logs = createNodeLoggers({ nodeId: opts.nodeId, level: opts.logLevel });
  const log = logs.for('node');
  const { host, port } = parseAddress(opts.listen, true);
  // Settings that cannot work are refused before anything listens or touches the disk.
  const initialConfig: ClusterConfig = { partitions: opts.partitions, replicas: opts.replicas, readQuorum: opts.readQuorum, writeQuorum: opts.writeQuorum };
  const problem = configProblem(initialConfig);
  if (problem !== undefined) {
    const given = `P=${opts.partitions} N=${opts.replicas} R=${opts.readQuorum} W=${opts.writeQuorum}`;
    log.error(`invalid cluster configuration (${given}): ${problem}`);
    process.exitCode = 1;
    return;
  }
  let httpListen;
  try {
    httpListen = httpListenAddress(opts.http, { host, port });
  } catch (err) {
    log.error(`invalid HTTP address ${JSON.stringify(opts.http)}: ${(err as Error).message}`);
    process.exitCode = 1;
    return;
  }
  // Credentials (rpc/SECURITY.md), then the fault harness's test hooks (test/faults/): peer links through its
  // proxies, a skewed clock. Peers are dialled with this node's certificate: mutual TLS.
  let credentials: NodeCredentials;
  let peerDial: { dial?: (address: string) => string; tls?: TlsMaterial };
  let wall: () => number;
  try {
    credentials = loadNodeCredentials(opts);
    const dial = dialMapFrom(process.env[DIAL_MAP_VARIABLE]);
    peerDial = { ...(dial === undefined ? {} : { dial }), ...(credentials.tls === undefined ? {} : { tls: credentials.tls }) };
    wall = wallClock(logs.for('clock'));
  } catch (err) {
    log.error((err as Error).message);
    process.exitCode = 1;
    return;
  }
  const tlsOn = credentials.tls !== undefined;
  for (const w of [exposureWarning('RPC', { host }, tlsOn), httpListen === undefined ? undefined : exposureWarning('HTTP', httpListen, tlsOn)]) {
    if (w !== undefined) log.warn(w);
  }
  if (tlsOn) log.info(`TLS on; nodes need a certificate of the cluster CA, clients a certificate${credentials.tokens === undefined ? '' : ` or one of ${credentials.tokens.size} tokens`}`);
  const data = opts.data ?? join('data', opts.nodeId);
  mkdirSync(data, { recursive: true });
  const server = new RpcServer({
    maxFrameSize: opts.maxFrameSize,
    maxInFlightTotal: opts.maxInFlight,
    maxInFlightBytes: opts.maxInFlightBytes,
    logger: logs.for('rpc'),
    ...(credentials.tls === undefined ? {} : { tls: credentials.tls }),
    ...(credentials.tokens === undefined ? {} : { tokens: credentials.tokens }),
  });
  // Until every service is registered, requests for the missing ones get UNAVAILABLE (retry), not UNKNOWN_METHOD.
  server.starting = true;
  server.handle(Methods.Ping, (req) => ({
    nodeId: opts.nodeId,
    serverVersion: VERSION,
    serverTimeMs: Long.fromNumber(Date.now(), true),
    payload: req.payload,
  }));
  let addr;
  try {
    addr = await server.listen(port, host);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    const why = e.code === 'EADDRINUSE' ? `port ${port} is already in use (another node running? pick another --listen port)` : e.message;
    log.error(`cannot listen on ${opts.listen}: ${why}`);
    process.exitCode = 1;
    return;
  }
  const address = formatAddress({ host: addr.address, port: addr.port });

  let store: ReplicaStore;
  let hints: HintStore;
  try {
    store = await ReplicaStore.open(join(data, 'store'), { logger: logs.for('store'), tombstoneGraceMs: opts.tombstoneGrace, syncIntervalMs: opts.syncInterval, blockCacheSize: opts.blockCache });
    hints = await HintStore.open(join(data, 'hints'), { logger: logs.for('hints'), maxBytes: opts.hintMaxBytes });
  } catch (err) {
    const e = err as Error & { code?: string };
    log.error(`cannot open the data stores in ${data}: ${e.message}`, e.code === undefined ? undefined : { code: e.code });
    await server.stop();
    process.exitCode = 1;
    return;
  }
  const closeStores = () => Promise.allSettled([store.close(), hints.close()]);
  // Anti-entropy (cluster/antientropy/ANTIENTROPY.md): polls the committed ring each second once started.
  const aeClient = new RpcClient({ connectTimeoutMs: 1000, backoffMaxMs: 500, ...peerDial });
  let antiEntropy: AntiEntropyService;
  try {
    antiEntropy = await AntiEntropyService.open({
      nodeId: opts.nodeId,
      clusterId: opts.clusterId,
      store,
      view: () => rings.current(),
      isAlive: (n) => isAlive(n),
      transport: new RpcAntiEntropyTransport({ client: aeClient, nodeId: opts.nodeId, clusterId: opts.clusterId }),
      verified: new VerifiedStore(new NodeFileSystem(), join(data, 'antientropy')),
      logger: logs.for('anti-entropy'),
      ...(opts.antiEntropyConcurrency === undefined ? {} : { concurrency: opts.antiEntropyConcurrency }),
      ...(opts.antiEntropyBytesPerSec === undefined ? {} : { bytesPerSec: opts.antiEntropyBytesPerSec }),
    });
  } catch (err) {
    const e = err as Error & { code?: string };
    log.error(`cannot start anti-entropy: ${e.message}`, e.code === undefined ? undefined : { code: e.code });
    await server.stop();
    await closeStores();
    process.exitCode = 1;
    return;
  }

  const probeTimeoutMs = opts.probeTimeoutMs ?? (opts.probeIntervalMs === undefined ? undefined : Math.max(1, Math.floor(opts.probeIntervalMs / 2)));
  const config: Partial<MembershipConfig> = {
    ...(opts.probeIntervalMs === undefined ? {} : { probeIntervalMs: opts.probeIntervalMs }),
    ...(probeTimeoutMs === undefined ? {} : { probeTimeoutMs }),
    ...(opts.pushPullIntervalMs === undefined ? {} : { pushPullIntervalMs: opts.pushPullIntervalMs }),
  };
  const membership = new MembershipDriver({
    id: opts.nodeId,
    address,
    clusterId: opts.clusterId,
    seeds: opts.seeds.filter((s) => s !== address),
    meta: opts.zone === undefined || opts.zone === '' ? {} : { zone: opts.zone },
    config,
    server,
    client: new RpcClient({ connectTimeoutMs: 2000, backoffMaxMs: 1000, ...peerDial }),
    logger: logs.for('membership'),
    leaveTimeoutMs: opts.leaveTimeoutMs,
  });

  // Raft cannot go on (its storage failed): shut the node down rather than serve a stale view.
  let fatal = (err: Error): void => void err;
  let raft: RaftDriver;
  try {
    raft = await RaftDriver.open({
      id: opts.nodeId,
      address,
      clusterId: opts.clusterId,
      dir: join(data, 'raft'),
      // The first node (no seeds to join through) creates the cluster, as --seeds' help says.
      bootstrap: opts.bootstrap === true || opts.seeds.every((s) => s === address),
      server,
      client: new RpcClient({ connectTimeoutMs: 1000, backoffMaxMs: 500, ...peerDial }),
      membership,
      logger: logs.for('raft'),
      tickMs: opts.raftTick,
      epochIntervalMs: opts.epochInterval,
      voterTarget: opts.voters,
      removeDeadAfterMs: opts.removeDeadAfter,
      snapshotEntries: opts.snapshotEntries,
      initialConfig,
      onFatal: (err) => fatal(err),
    });
  } catch (err) {
    const e = err as Error & { code?: string };
    log.error(`cannot open the Raft state in ${join(data, 'raft')}: ${e.message}`, e.code === undefined ? undefined : { code: e.code });
    await server.stop();
    await closeStores();
    process.exitCode = 1;
    return;
  }
  // The data path. Liveness is gossip's: suspect and not-yet-seen members are tried (a failed send leaves a
  // hint), dead or left ones get a stand-in or a hint; hints are replayed only to members seen alive.
  const liveness = new Map<string, MemberState>(membership.members().map((m) => [m.id, m.state]));
  membership.onChange((e) => liveness.set(e.member.id, e.member.state));
  const isUp = (n: string): boolean => n === opts.nodeId || (liveness.get(n) !== 'dead' && liveness.get(n) !== 'left');
  const isAlive = (n: string): boolean => liveness.get(n) === 'alive';
  const rings = new RingCache(() => raft.clusterState());
  // One hybrid clock per node: the coordinator stamps writes with it, the replica service moves it past
  // every record it stores, so this node never stamps a write older than a version it holds.
  const clock = new HybridClock(opts.nodeId, wall);
  const replica = new ReplicaService({ nodeId: opts.nodeId, clusterId: opts.clusterId, store, hints, view: () => rings.current(), clock, onApplied: (_key, record) => antiEntropy.noteApplied(record) });
  replica.register(server);
  antiEntropy.register(server);
  const replicaClient = new RpcClient({ connectTimeoutMs: 1000, backoffMaxMs: 500, ...peerDial });
  // A ReplicaWrite still queued at this timeout is dropped unsent; one sent is applied however late it
  // arrives (replicas do not check deadlines). Coordinators pass no shorter signal to writes.
  const replicaCallTimeoutMs = 5000;
  const transport = new RpcReplicaTransport({ client: replicaClient, nodeId: opts.nodeId, clusterId: opts.clusterId, timeoutMs: replicaCallTimeoutMs });
  const coordinator = new Coordinator({
    nodeId: opts.nodeId,
    local: replica,
    transport,
    rings,
    isAlive: isUp,
    hints,
    clock,
    logger: logs.for('coordinator'),
    deadlineMs: opts.requestTimeout,
    sloppyQuorum: opts.sloppyQuorum,
    durableWrites: opts.durableWrites,
  });
  const replayer = new HintReplayer({ nodeId: opts.nodeId, hints, transport, rings, isAlive, logger: logs.for('hints'), intervalMs: opts.hintReplayInterval });
  // Partition streaming on membership change (cluster/STREAMING.md): serves StreamPartition (75).
  // The settle after the streaming barrier outlasts every write a coordinator started with the old ring:
  // none is sent later than the replica-call timeout after it started. The request timeout is the bound a
  // user sets and sees, so the settle never falls below it either (cluster/STREAMING.md, Barrier).
  const settleMs = Math.max(opts.requestTimeout, replicaCallTimeoutMs);
  const streaming = createNodeStreaming({ server, client: replicaClient, nodeId: opts.nodeId, clusterId: opts.clusterId, store, raft, isAlive, onApplied: (_key, record) => antiEntropy.noteApplied(record), logger: logs.for('streaming'), settleMs });
  const metrics = new Registry();
  const nodeMetrics = registerNodeMetrics(metrics, {
    coordinator,
    hints,
    replayer,
    raft: () => raftGauges(raft),
    gossip: () => membership.members(),
    lsm: () => store.stats(),
    antiEntropy: () => antiEntropy.antiEntropyStats(),
  });
  const gate = new RequestGate();
  // Failed client requests reach the log as well as the metrics, which say how many but not why: at most
  // one line a second, with how many were held back since the last one.
  const requestFailed = rateLimitedWarn(logs.for('requests'));
  const observe: ClientRequestObserver = (e) => {
    nodeMetrics.observe(e);
    if (isFailure(e.outcome)) requestFailed('client request failed', { api: e.api, op: e.op, outcome: e.outcome, error: e.error });
  };
  registerClientApi(server, coordinator, gate, observe);

  let gateway: HttpGateway | undefined;
  if (httpListen !== undefined) {
    const started = await startNodeHttp({
      nodeId: opts.nodeId,
      listen: httpListen,
      coordinator,
      gate,
      metrics,
      observe,
      committed: () => ({ state: raft.clusterState(), leaderId: raft.status().leaderId ?? '' }),
      maxValueBytes: opts.maxValueBytes,
      requestTimeoutMs: opts.requestTimeout,
      credentials,
      logger: logs.for('http'),
      status: nodeStatusSource({ raft, rings, membership, antiEntropy, metrics }),
    });
    if ('error' in started) {
      log.error(started.error);
      nodeMetrics.stop();
      await Promise.allSettled([raft.stop(), server.stop(), replicaClient.close()]);
      await closeStores();
      process.exitCode = 1;
      return;
    }
    gateway = started.gateway;
    log.info(`http gateway on ${started.url}`);
  }

  server.starting = false;
  // Logged once every method is served: tests and scripts wait for this line.
  log.info(`listening on ${address} (mydatastore ${VERSION})`);

  await new Promise<void>((resolve) => {
    let stopping = false;
    const shutdown = (signal: string) => {
      if (stopping) {
        log.info(`${signal} received: already shutting down`);
        return;
      }
      stopping = true;
      log.info(`${signal} received: draining in-flight requests, leaving the cluster and shutting down`);
      gate
        .drain(DRAIN_TIMEOUT_MS)
        .then(() => gateway?.close())
        .then(() => nodeMetrics.stop())
        .then(() => replayer.stop())
        .then(() => streaming.stop())
        .then(() => antiEntropy.stop())
        .then(() => coordinator.drain())
        .then(() => raft.stop())
        .then(() => membership.stop())
        .then(() => server.stop())
        .then(() => replicaClient.close())
        .then(() => aeClient.close())
        .then(() => closeStores())
        .then(() => resolve(), (err: unknown) => {
          log.error('shutdown failed', { error: String(err) });
          process.exitCode = 1;
          resolve();
        });
    };
    process.on('SIGTERM', () => shutdown('SIGTERM'));
    process.on('SIGINT', () => shutdown('SIGINT'));
    fatal = (err) => {
      process.exitCode = 1;
      shutdown(`raft failure (${err.message})`);
    };
    // Started only now: Raft's first Ready runs synchronously inside start(), and a failure there must
    // reach the real `fatal` above, not the placeholder (the node would run on without Raft).
    membership.start();
    raft.start();
    replayer.start();
    streaming.start();
    antiEntropy.start();
  });
  log.info('stopped');
}

/** What /metrics reports of Raft, from the driver's status (read at scrape time). */
function raftGauges(raft: RaftDriver): RaftGauges {
  const st = raft.status();
  const num = (v: Long | number | null | undefined): number => (v === null || v === undefined ? 0 : typeof v === 'number' ? v : v.toNumber());
  const members: Record<string, number> = {};
  for (const m of st.members ?? []) members[m.status ?? ''] = (members[m.status ?? ''] ?? 0) + 1;
  return {
    term: num(st.term),
    commitIndex: num(st.commitIndex),
    isLeader: st.role === 'leader',
    leaderKnown: (st.leaderId ?? '') !== '',
    leaderChanges: raft.leaderChanges,
    epoch: num(st.epoch),
    members,
    replicas: st.config?.replicas ?? 0,
    readQuorum: st.config?.readQuorum ?? 0,
    writeQuorum: st.config?.writeQuorum ?? 0,
  };
}
