/**
 * Certificates for tests, made once per test process with `mydatastore certs`' own code (tools/certs.ts):
 * the cluster's CA with nodes n1..n4 and client alice, and a second, unrelated CA with a node "rogue" (a
 * machine that is not part of the cluster). The directory is removed when the process exits.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { caFiles, certFiles, makeCertificates } from '../../tools/certs.js';

export interface PemPair {
  cert: string;
  key: string;
  certPath: string;
  keyPath: string;
}

export interface TestCertificates {
  dir: string;
  ca: string;
  caPath: string;
  node(name: string): PemPair;
  client(name: string): PemPair;
  /** The unrelated CA and its node "rogue". */
  rogueCa: string;
  rogueCaPath: string;
  rogue: PemPair;
}

let made: TestCertificates | undefined;

function pair(files: { cert: string; key: string }): PemPair {
  return { cert: readFileSync(files.cert, 'utf8'), key: readFileSync(files.key, 'utf8'), certPath: files.cert, keyPath: files.key };
}

export function testCertificates(): TestCertificates {
  if (made !== undefined) return made;
  const dir = mkdtempSync(join(tmpdir(), 'mydatastore-test-certs-'));
  process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
  const hosts = ['localhost', '127.0.0.1', '::1'];
  const cluster = join(dir, 'cluster');
  const other = join(dir, 'other');
  makeCertificates({ dir: cluster, nodes: ['n1', 'n2', 'n3', 'n4'], clients: ['alice'], hosts, days: 2 });
  makeCertificates({ dir: other, nodes: ['rogue'], clients: [], hosts, days: 2 });
  made = {
    dir: cluster,
    ca: readFileSync(caFiles(cluster).cert, 'utf8'),
    caPath: caFiles(cluster).cert,
    node: (name) => pair(certFiles(cluster, 'node', name)),
    client: (name) => pair(certFiles(cluster, 'client', name)),
    rogueCa: readFileSync(caFiles(other).cert, 'utf8'),
    rogueCaPath: caFiles(other).cert,
    rogue: pair(certFiles(other, 'node', 'rogue')),
  };
  return made;
}
