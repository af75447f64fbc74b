/**
 * A node's credentials are checked at start (tools/node-security.ts): wrong files stop it with a reason,
 * tokens files are strict, and listening beyond this machine without TLS warns.
 */
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { CertsError, caFiles, certFiles, makeCertificates } from '../../tools/certs.js';
import { ClientCredentialsError, clientCredentials } from '../../tools/client-credentials.js';
import { exposureWarning, isLoopback, loadNodeCredentials, NodeSecurityError, parseTokens } from '../../tools/node-security.js';
import { testCertificates } from '../support/test-certs.js';

const certs = testCertificates();
const dir = mkdtempSync(join(tmpdir(), 'mydatastore-node-security-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));

t.test('a node certificate, its key and the CA load; each wrong combination is refused with the reason', (t) => {
  const n1 = certs.node('n1');
  const ok = loadNodeCredentials({ tlsCert: n1.certPath, tlsKey: n1.keyPath, tlsCa: certs.caPath });
  t.equal(ok.tls?.cert, n1.cert);
  t.equal(ok.tokens, undefined);
  t.same(loadNodeCredentials({}), {}, 'no settings: development mode');

  const refused = (s: Parameters<typeof loadNodeCredentials>[0], why: RegExp, what: string) => t.throws(() => loadNodeCredentials(s), { constructor: NodeSecurityError, message: why }, what);
  refused({ tlsCert: n1.certPath, tlsKey: n1.keyPath }, /go together/, 'two of three files');
  refused({ clientTokens: join(dir, 'none') }, /needs TLS/, 'tokens without TLS');
  refused({ tlsCert: n1.certPath, tlsKey: certs.node('n2').keyPath, tlsCa: certs.caPath }, /is not the key of/, 'another certificate\'s key');
  refused({ tlsCert: certs.rogue.certPath, tlsKey: certs.rogue.keyPath, tlsCa: certs.caPath }, /is not signed by the CA/, 'a certificate of another CA');
  refused({ tlsCert: certs.client('alice').certPath, tlsKey: certs.client('alice').keyPath, tlsCa: certs.caPath }, /is not a node certificate/, 'a client certificate');
  refused({ tlsCert: join(dir, 'missing.pem'), tlsKey: n1.keyPath, tlsCa: certs.caPath }, /cannot read the certificate/, 'a missing file');
  refused({ tlsCert: n1.keyPath, tlsKey: n1.keyPath, tlsCa: certs.caPath }, /not a PEM certificate/, 'a key where the certificate goes');
  t.end();
});

t.test('tokens files: "<name> <token>" lines, strict', (t) => {
  t.same([...parseTokens('# comment\n\nci 0123456789abcdef\n  ops   fedcba9876543210  \n', 'f')], [['ci', '0123456789abcdef'], ['ops', 'fedcba9876543210']]);
  t.throws(() => parseTokens('ci short\n', 'f'), /f line 1: the token of ci is shorter than 16/);
  t.throws(() => parseTokens('justatoken0123456789\n', 'f'), /expected "<name> <token>"/);
  t.throws(() => parseTokens('a 0123456789abcdef\na 0123456789abcdeX\n', 'f'), /line 2: the name a is used twice/);
  t.throws(() => parseTokens('a 0123456789abcdef\nb 0123456789abcdef\n', 'f'), /line 2: the token of b is also another name's/);
  t.throws(() => parseTokens('# nothing\n', 'f'), /holds no tokens/);
  const file = join(dir, 'tokens');
  writeFileSync(file, 'ci 0123456789abcdef\n');
  const n1 = certs.node('n1');
  const loaded = loadNodeCredentials({ tlsCert: n1.certPath, tlsKey: n1.keyPath, tlsCa: certs.caPath, clientTokens: file });
  t.equal(loaded.tokens?.lookup('0123456789abcdef'), 'ci');
  t.equal(loaded.tokens?.lookup('0123456789abcdeX'), undefined);
  t.end();
});

t.test('binding beyond loopback without TLS warns', (t) => {
  for (const h of ['127.0.0.1', '127.1.2.3', '::1', 'localhost']) t.ok(isLoopback(h), `${h} is loopback`);
  for (const h of ['0.0.0.0', '10.0.0.5', '::', 'db.example']) t.notOk(isLoopback(h), `${h} is not`);
  t.equal(exposureWarning('RPC', { host: '127.0.0.1' }, false), undefined);
  t.equal(exposureWarning('RPC', { host: '0.0.0.0' }, true), undefined, 'TLS: no warning');
  t.match(exposureWarning('HTTP', { host: '0.0.0.0' }, false), /HTTP listens on 0\.0\.0\.0 without TLS/);
  t.end();
});

t.test('mydatastore certs: a CA, node and client certificates with their roles; existing files kept', (t) => {
  const out = join(dir, 'certs');
  const first = makeCertificates({ dir: out, nodes: ['a'], clients: ['app'], hosts: ['localhost', '10.1.2.3'], days: 10 });
  t.equal(first.written.length, 6, 'CA, node and client: a certificate and a key each');
  const ca = new X509Certificate(readFileSync(caFiles(out).cert));
  const node = new X509Certificate(readFileSync(certFiles(out, 'node', 'a').cert));
  const client = new X509Certificate(readFileSync(certFiles(out, 'client', 'app').cert));
  t.ok(ca.ca, 'the CA is a CA');
  t.ok(node.checkIssued(ca) && node.verify(ca.publicKey), 'the CA signed the node certificate');
  t.match(node.subject, /OU=node/);
  t.match(node.subjectAltName, /DNS:localhost/);
  t.match(node.subjectAltName, /IP Address:10\.1\.2\.3/);
  t.match(client.subject, /OU=client\nCN=app/);
  t.equal(statSync(certFiles(out, 'node', 'a').key).mode & 0o777, 0o600, 'keys are readable by their owner only');

  const second = makeCertificates({ dir: out, nodes: ['a', 'b'], clients: [], hosts: ['localhost'], days: 10 });
  t.same(second.written, [certFiles(out, 'node', 'b').cert, certFiles(out, 'node', 'b').key], 'only the new node is written');
  const b = new X509Certificate(readFileSync(certFiles(out, 'node', 'b').cert));
  t.ok(b.checkIssued(ca), 'by the same CA');
  t.throws(() => makeCertificates({ dir: out, nodes: ['../x'], clients: [], hosts: [], days: 1 }), CertsError, 'a name that is not a file name');
  rmSync(caFiles(out).key);
  t.throws(() => makeCertificates({ dir: out, nodes: ['c'], clients: [], hosts: ['localhost'], days: 1 }), { constructor: CertsError, message: /ca-key\.pem does not/ }, 'without the CA key it will not make a new CA over the old one');
  t.equal(readFileSync(caFiles(out).cert, 'utf8'), ca.toString(), 'the CA certificate is untouched');
  t.throws(() => makeCertificates({ dir: out, nodes: ['x'], clients: [], hosts: ['a b'], days: 1 }), CertsError, 'a bad host');
  t.end();
});

t.test('client credential flags', (t) => {
  const alice = certs.client('alice');
  t.same(clientCredentials({}, {}), {}, 'none: plain TCP');
  const full = clientCredentials({ tlsCa: certs.caPath, tlsCert: alice.certPath, tlsKey: alice.keyPath }, {});
  t.equal(full.tls?.cert, alice.cert);
  t.equal(clientCredentials({ tlsCa: certs.caPath }, { MYDATASTORE_TOKEN: ' tok ' }).token, 'tok', 'the token from the environment, trimmed');
  t.throws(() => clientCredentials({}, { MYDATASTORE_TOKEN: 'tok' }), { constructor: ClientCredentialsError, message: /needs --tls-ca/ });
  t.throws(() => clientCredentials({ tlsCa: certs.caPath, tlsCert: alice.certPath }, {}), /go together/);
  t.end();
});
