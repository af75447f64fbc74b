/**
 * The MyDataStore operator: every few seconds, for each MyDataStore resource of its namespace, reads the
 * StatefulSet and the cluster's Status (RPC, from the pods themselves), asks the pure reconcile step
 * (reconcile.ts) for the one next action, applies it and records it in the resource's status. Thin on
 * purpose: every decision is in reconcile.ts and tested there; this file was type-checked only, no
 * Kubernetes cluster was available where it was written (deploy/README.md).
 *
 * Polling rather than watching: an action's effect shows only in the cluster's own state (a member
 * becomes active when streaming ends), which Kubernetes does not watch for us, so a poll is needed
 * anyway, and one loop doing one step per resource per round cannot take two steps at once.
 *
 * Environment: WATCH_NAMESPACE (default "default"), POLL_INTERVAL_MS (default 5000).
 */
import { AppsV1Api, CustomObjectsApi, KubeConfig, PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { RpcClient } from '../../rpc/client.js';
import { RpcError, UnavailableError } from '../../rpc/errors.js';
import { Methods } from '../../rpc/methods.js';
import { fetchStatus } from '../../tools/commands/status.js';
import { createNodeLoggers } from '../../tools/node-logger.js';
import { reconcile, type Action, type ClusterView, type PodAddress } from './reconcile.js';

const GROUP = 'mydatastore.dev';
const VERSION = 'v1alpha1';
const PLURAL = 'mydatastores';
const STATUS_TIMEOUT_MS = 3000;
// Decommission answers once the member is removed, or UNAVAILABLE after ~6 s while it still streams.
const DECOMMISSION_TIMEOUT_MS = 12_000;

/** The fields of a MyDataStore resource the operator reads (deploy/k8s/crd.yaml). */
interface MyDataStore {
  metadata: { name: string; namespace?: string };
  spec: { size: number; statefulSet?: string; peerService?: string; rpcPort?: number };
}

// The same JSON lines as the nodes (tools/node-logger.ts), named by the operator's pod.
const log = createNodeLoggers({ nodeId: process.env.HOSTNAME ?? 'operator', level: process.env.MYDATASTORE_LOG_LEVEL ?? 'info' }).for('operator');
const namespace = process.env.WATCH_NAMESPACE ?? 'default';
const pollMs = Number(process.env.POLL_INTERVAL_MS ?? 5000);

const kc = new KubeConfig();
kc.loadFromDefault(); // in a pod: the service account; elsewhere: ~/.kube/config
const apps = kc.makeApiClient(AppsV1Api);
const custom = kc.makeApiClient(CustomObjectsApi);
const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

/** The committed state as the leader knows it: ask any pod that answers, then the leader it names. */
async function observeCluster(replicas: number, podAddress: PodAddress): Promise<ClusterView | null> {
  for (let i = 0; i < replicas; i++) {
    try {
      const s = await fetchStatus(podAddress(i), STATUS_TIMEOUT_MS);
      const leader = s.members.find((m) => m.id === s.leaderId);
      if (s.role === 'leader' || leader === undefined) return s;
      return await fetchStatus(leader.address, STATUS_TIMEOUT_MS).catch(() => s);
    } catch {
      // not up, or not resolvable yet: try the next pod
    }
  }
  return null;
}

async function decommission(nodeId: string, podAddress: PodAddress): Promise<string> {
  const client = new RpcClient({ connectTimeoutMs: STATUS_TIMEOUT_MS, defaultTimeoutMs: DECOMMISSION_TIMEOUT_MS });
  try {
    // Any node forwards it to the leader; pod 0 is never the one leaving (the highest ordinal leaves).
    await client.call(podAddress(0), Methods.Decommission, { nodeId });
    return `decommissioned ${nodeId}`;
  } catch (err) {
    // Still streaming or no leader for a moment: the member is leaving or still active, and the next
    // round sees which and waits or asks again.
    if (err instanceof UnavailableError) return `decommission of ${nodeId} in progress (${err.message})`;
    throw err;
  } finally {
    client.destroy();
  }
}

async function apply(action: Action, stsName: string, replicas: number, podAddress: PodAddress): Promise<string> {
  switch (action.kind) {
    case 'nothing':
      return 'settled';
    case 'wait':
      return `waiting: ${action.reason}`;
    case 'scaleStatefulSet':
      await apps.patchNamespacedStatefulSet({ name: stsName, namespace, body: { spec: { replicas: action.replicas } } }, mergePatch);
      return `scaled StatefulSet ${stsName} from ${replicas} to ${action.replicas}`;
    case 'decommission':
      return decommission(action.nodeId, podAddress);
  }
}

const phaseOf = (a: Action): string =>
  ({ nothing: 'Settled', wait: 'Waiting', scaleStatefulSet: 'Scaling', decommission: 'Decommissioning' })[a.kind];

async function reconcileOne(cr: MyDataStore): Promise<void> {
  const stsName = cr.spec.statefulSet ?? 'mydatastore';
  const peers = cr.spec.peerService ?? 'mydatastore-peers';
  const port = cr.spec.rpcPort ?? 7000;
  // Must match MYDATASTORE_LISTEN in deploy/k8s/statefulset.yaml: members are matched to pods by address.
  const podAddress: PodAddress = (i) => `${stsName}-${i}.${peers}.${namespace}.svc.cluster.local:${port}`;
  const sts = await apps.readNamespacedStatefulSet({ name: stsName, namespace });
  const replicas = sts.spec?.replicas ?? 0;
  const observed = { replicas, readyReplicas: sts.status?.readyReplicas ?? 0, cluster: await observeCluster(replicas, podAddress) };
  const action = reconcile(cr.spec.size, observed, podAddress);
  const outcome = await apply(action, stsName, replicas, podAddress);
  if (action.kind !== 'nothing') log.info(`${cr.metadata.name}: ${outcome}`);
  await custom.patchNamespacedCustomObjectStatus(
    {
      group: GROUP,
      version: VERSION,
      namespace,
      plural: PLURAL,
      name: cr.metadata.name,
      body: { status: { replicas: action.kind === 'scaleStatefulSet' ? action.replicas : replicas, phase: phaseOf(action), reason: outcome } },
    },
    mergePatch,
  );
}

async function round(): Promise<void> {
  const list = (await custom.listNamespacedCustomObject({ group: GROUP, version: VERSION, namespace, plural: PLURAL })) as { items: MyDataStore[] };
  for (const cr of list.items) {
    try {
      await reconcileOne(cr);
    } catch (err) {
      const what = err instanceof RpcError ? `${err.code}: ${err.message}` : String(err);
      log.error(`${cr.metadata.name}: ${what}`);
    }
  }
}

let stopping = false;
for (const signal of ['SIGTERM', 'SIGINT'] as const) process.on(signal, () => (stopping = true));
log.info(`watching MyDataStore resources in namespace ${namespace} every ${pollMs} ms`);
while (!stopping) {
  try {
    await round();
  } catch (err) {
    log.error(`listing MyDataStore resources failed: ${String(err)}`);
  }
  await new Promise((r) => setTimeout(r, pollMs));
}
