/**
 * deploy/k8s/*.yaml against the Kubernetes schemas (kubernetes-models: the OpenAPI schemas of the API
 * server, one model class per kind) and against what the deployment needs: the probes, the graceful stop,
 * a non-root user, the disruption budget, the volumes, the peer discovery. No cluster runs here and
 * `kubectl --dry-run=client` needs one for its schemas, so this is the check available offline. The
 * schemas allow unknown fields, so the fields that matter are also checked by name below.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { parseAllDocuments } from 'yaml';
import { CustomResourceDefinition } from 'kubernetes-models/apiextensions.k8s.io/v1';
import { Deployment, StatefulSet } from 'kubernetes-models/apps/v1';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1';
import { Role, RoleBinding } from 'kubernetes-models/rbac.authorization.k8s.io/v1';
import { Service, ServiceAccount, type IContainer } from 'kubernetes-models/v1';

// Tests run from dist/test/deploy/; the manifests live in the source tree.
const dir = fileURLToPath(new URL('../../../deploy/k8s/', import.meta.url));

interface Manifest {
  file: string;
  apiVersion: string;
  kind: string;
  metadata: { name: string };
  [field: string]: unknown;
}

const manifests: Manifest[] = readdirSync(dir)
  .filter((f) => f.endsWith('.yaml'))
  .sort()
  .flatMap((file) =>
    parseAllDocuments(readFileSync(dir + file, 'utf8')).map((doc) => {
      if (doc.errors.length > 0) throw new Error(`${file}: ${doc.errors.map((e) => e.message).join('; ')}`);
      return { ...(doc.toJS() as object), file } as Manifest;
    }),
  );

/** Validates one object with the model of its kind; throws with the schema's message when it is invalid. */
const validators: Record<string, (data: object) => void> = {
  'v1/Service': (d) => new Service(d).validate(),
  'v1/ServiceAccount': (d) => new ServiceAccount(d).validate(),
  'apps/v1/StatefulSet': (d) => new StatefulSet(d).validate(),
  'apps/v1/Deployment': (d) => new Deployment(d).validate(),
  'policy/v1/PodDisruptionBudget': (d) => new PodDisruptionBudget(d).validate(),
  'apiextensions.k8s.io/v1/CustomResourceDefinition': (d) => new CustomResourceDefinition(d as CustomResourceDefinition).validate(),
  'rbac.authorization.k8s.io/v1/Role': (d) => new Role(d).validate(),
  'rbac.authorization.k8s.io/v1/RoleBinding': (d) => new RoleBinding(d as RoleBinding).validate(),
};

function one<T>(kind: string, name: string): T {
  const m = manifests.find((x) => x.kind === kind && x.metadata.name === name);
  if (m === undefined) throw new Error(`no ${kind} ${name} in deploy/k8s`);
  return m as unknown as T;
}

t.test('every manifest is valid against its Kubernetes schema', (t) => {
  t.ok(manifests.length >= 10, `${manifests.length} objects`);
  for (const m of manifests) {
    const { file, ...data } = m;
    if (m.kind === 'MyDataStore') continue; // checked against the CRD below
    const validate = validators[`${m.apiVersion}/${m.kind}`];
    if (validate === undefined) {
      t.fail(`${file}: no schema for ${m.apiVersion} ${m.kind}`);
      continue;
    }
    t.doesNotThrow(() => validate(data), `${file}: ${m.kind} ${m.metadata.name}`);
  }
  t.end();
});

t.test('the schema check does catch a broken manifest', (t) => {
  const sts = structuredClone(one<StatefulSet>('StatefulSet', 'mydatastore'));
  sts.spec!.template.spec!.containers[0]!.ports![0]!.containerPort = 'seven thousand' as unknown as number;
  t.throws(() => new StatefulSet(sts).validate());
  t.end();
});

const sts = one<StatefulSet>('StatefulSet', 'mydatastore');
const pod = sts.spec!.template.spec!;
const container: IContainer = pod.containers[0]!;
const env = new Map((container.env ?? []).map((e) => [e.name, e.value]));

t.test('the StatefulSet: probes, graceful stop, non-root, volumes', (t) => {
  t.equal(container.livenessProbe?.httpGet?.path, '/health', 'liveness is /health');
  t.equal(container.readinessProbe?.httpGet?.path, '/ready', 'readiness is /ready');
  t.equal(container.livenessProbe?.httpGet?.port, 'http');
  t.same(
    container.ports?.map((p) => [p.name, p.containerPort]),
    [
      ['rpc', 7000],
      ['http', 8000],
    ],
  );
  t.equal(env.get('MYDATASTORE_HTTP'), '0.0.0.0:8000', 'the probes reach the gateway on the http port');
  t.ok(container.lifecycle?.preStop?.exec?.command !== undefined, 'a preStop hook');
  t.ok((pod.terminationGracePeriodSeconds ?? 30) >= 30, 'time for the drain and the leave after SIGTERM');
  t.match(container.args?.[0] ?? '', /exec mydatastore server/, 'the node is PID 1 of the container: it gets SIGTERM');
  t.equal(pod.securityContext?.runAsNonRoot, true);
  t.not(pod.securityContext?.runAsUser, 0);
  t.equal(container.securityContext?.allowPrivilegeEscalation, false);
  const claim = sts.spec!.volumeClaimTemplates?.[0];
  t.equal(claim?.metadata?.name, 'data', 'a claim per pod');
  t.same(container.volumeMounts?.map((v) => [v.name, v.mountPath]), [['data', '/data']]);
  t.match(env.get('MYDATASTORE_DATA') ?? '', /^\/data\//, 'the data directory is on the volume');
  t.equal(sts.spec!.persistentVolumeClaimRetentionPolicy?.whenScaled, 'Delete', 'a scaled-up pod starts with an empty volume');
  t.end();
});

t.test('peer discovery: a headless Service publishing pods before they are ready', (t) => {
  const peers = one<Service>('Service', sts.spec!.serviceName!);
  t.equal(peers.spec?.clusterIP, 'None', 'headless');
  t.equal(peers.spec?.publishNotReadyAddresses, true, 'a joining node must be reachable before it is ready');
  t.match(env.get('MYDATASTORE_LISTEN') ?? '', new RegExp(`^\\$\\(POD_NAME\\)\\.${peers.metadata!.name}\\.`), 'each node advertises its stable name');
  for (const seed of (env.get('MYDATASTORE_SEEDS') ?? '').split(',')) t.match(seed, new RegExp(`^mydatastore-\\d\\.${peers.metadata!.name}\\..*:7000$`));
  const client = one<Service>('Service', 'mydatastore');
  t.not(client.spec?.clusterIP, 'None', 'the client Service load-balances');
  t.not(client.spec?.publishNotReadyAddresses, true, 'clients reach ready nodes only');
  const labels = sts.spec!.template.metadata!.labels!;
  for (const svc of [peers, client]) {
    for (const [k, v] of Object.entries(svc.spec!.selector!)) t.equal(labels[k], v, `${svc.metadata!.name} selects the pods`);
  }
  t.end();
});

t.test('the PodDisruptionBudget lets one node go at a time', (t) => {
  const pdb = one<PodDisruptionBudget>('PodDisruptionBudget', 'mydatastore');
  t.equal(pdb.spec?.maxUnavailable, 1);
  t.same(pdb.spec?.selector?.matchLabels, sts.spec!.selector.matchLabels);
  t.end();
});

t.test('the CRD and the example MyDataStore agree', (t) => {
  const crd = one<CustomResourceDefinition>('CustomResourceDefinition', 'mydatastores.mydatastore.dev');
  const version = crd.spec.versions[0]!;
  const specSchema = version.schema!.openAPIV3Schema!.properties!.spec!;
  t.same(specSchema.required, ['size']);
  t.equal(specSchema.properties!.size!.minimum, 1);
  t.ok(version.subresources?.status !== undefined, 'the operator writes status through its subresource');
  const example = one<Manifest & { spec: Record<string, unknown> }>('MyDataStore', 'mydatastore');
  t.equal(example.apiVersion, `${crd.spec.group}/${version.name}`);
  for (const [k, v] of Object.entries(example.spec)) {
    const field = specSchema.properties![k];
    t.ok(field !== undefined, `spec.${k} is declared`);
    t.equal(typeof v === 'number' ? 'integer' : typeof v, field?.type, `spec.${k} has the declared type`);
  }
  t.end();
});

t.test('the operator runs alone, non-root, with the rights it uses', (t) => {
  const dep = one<Deployment>('Deployment', 'mydatastore-operator');
  t.equal(dep.spec?.replicas, 1, 'two operators would take two steps at once');
  t.equal(dep.spec?.strategy?.type, 'Recreate');
  t.equal(dep.spec?.template.spec?.securityContext?.runAsNonRoot, true);
  t.match(dep.spec?.template.spec?.containers[0]?.command ?? [], ['node', /dist\/deploy\/operator\/main\.js$/]);
  const role = one<Role>('Role', 'mydatastore-operator');
  const can = (resource: string, verb: string): boolean => (role.rules ?? []).some((r) => r.resources?.includes(resource) && r.verbs.includes(verb));
  t.ok(can('statefulsets', 'patch'));
  t.ok(can('mydatastores', 'watch'));
  t.ok(can('mydatastores/status', 'patch'));
  t.end();
});
