/**
 * Development certificates for a cluster (`mydatastore certs`): a CA, one certificate per node (OU=node,
 * server and client use: nodes dial each other with it) and per client (OU=client, client use only), all
 * ECDSA P-256. rpc/SECURITY.md says what the roles allow.
 *
 * Made with the openssl command (OpenSSL 1.1.1 or later), not a library: it is on nearly every machine
 * (Debian's ca-certificates depends on it), operators already know how to read and replace what it makes,
 * and Node's crypto can make keys but not X.509 certificates.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export class CertsError extends Error {
  readonly code = 'CERTS_FAILED';
  override readonly name = 'CertsError';
}

export interface CertsRequest {
  /** Directory the files go to (created if missing). */
  dir: string;
  nodes: readonly string[];
  clients: readonly string[];
  /** Host names and IP addresses every node certificate is valid for (clients check them). */
  hosts: readonly string[];
  days: number;
  /** Replace files that exist (the CA too); without it existing files are kept and reused. */
  force?: boolean;
}

export interface CertsResult {
  written: string[];
  kept: string[];
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
const HOST = /^[A-Za-z0-9*]([A-Za-z0-9.*-]{0,252})$/;

export function certFiles(dir: string, role: 'node' | 'client', name: string): { cert: string; key: string } {
  return { cert: join(dir, `${role}-${name}.pem`), key: join(dir, `${role}-${name}-key.pem`) };
}

export function caFiles(dir: string): { cert: string; key: string } {
  return { cert: join(dir, 'ca.pem'), key: join(dir, 'ca-key.pem') };
}

function openssl(args: string[], input?: string): string {
  try {
    return execFileSync('openssl', args, { input, encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe'] });
  } catch (err) {
    const e = err as NodeJS.ErrnoException & { stderr?: string };
    if (e.code === 'ENOENT') throw new CertsError('the openssl command was not found: install OpenSSL (Debian/Ubuntu: apt-get install openssl)');
    throw new CertsError(`openssl ${args[0] ?? ''} failed: ${(e.stderr ?? e.message).trim()}`);
  }
}

function checkRequest(r: CertsRequest): void {
  for (const n of [...r.nodes, ...r.clients]) {
    if (!NAME.test(n)) throw new CertsError(`bad name ${JSON.stringify(n)}: use 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit`);
  }
  for (const h of r.hosts) if (isIP(h) === 0 && !HOST.test(h)) throw new CertsError(`bad host ${JSON.stringify(h)}: give a host name or an IP address`);
  if (!Number.isInteger(r.days) || r.days < 1 || r.days > 36500) throw new CertsError(`bad validity ${r.days}: give whole days, 1 to 36500`);
  if (r.nodes.length + r.clients.length === 0) throw new CertsError('name at least one node or client');
}

/** Makes (or keeps) the CA and the named certificates; returns which files it wrote and which it kept. */
export function makeCertificates(r: CertsRequest): CertsResult {
  checkRequest(r);
  // Keys are created readable by their owner only, never world-readable even for a moment.
  const umask = process.umask(0o077);
  try {
    return make(r);
  } finally {
    process.umask(umask);
  }
}

function make(r: CertsRequest): CertsResult {
  mkdirSync(r.dir, { recursive: true });
  const result: CertsResult = { written: [], kept: [] };
  const ca = caFiles(r.dir);
  if (r.force !== true && existsSync(ca.cert) && existsSync(ca.key)) {
    result.kept.push(ca.cert);
  } else if (r.force !== true && existsSync(ca.cert)) {
    // A new CA here would leave every certificate the old one signed untrusted.
    throw new CertsError(`${ca.cert} exists but ${ca.key} does not: put the CA's key back to sign new certificates, or replace the CA and every certificate with --force`);
  } else {
    openssl([
      'req', '-x509', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes',
      '-keyout', ca.key, '-out', ca.cert, '-days', String(r.days),
      '-subj', '/O=MyDataStore/OU=ca/CN=MyDataStore development CA',
      '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign',
    ]);
    chmodSync(ca.cert, 0o644);
    result.written.push(ca.cert, ca.key);
  }
  const scratch = mkdtempSync(join(tmpdir(), 'mydatastore-certs-'));
  try {
    const san = r.hosts.map((h) => (isIP(h) === 0 ? `DNS:${h}` : `IP:${h}`)).join(',');
    for (const [role, names] of [['node', r.nodes], ['client', r.clients]] as const) {
      for (const name of names) {
        const files = certFiles(r.dir, role, name);
        if (r.force !== true && existsSync(files.cert) && existsSync(files.key)) {
          result.kept.push(files.cert);
          continue;
        }
        const ext = join(scratch, `${role}-${name}.ext`);
        writeFileSync(ext, [
          'basicConstraints=critical,CA:FALSE',
          'keyUsage=critical,digitalSignature,keyAgreement',
          `extendedKeyUsage=${role === 'node' ? 'serverAuth,clientAuth' : 'clientAuth'}`,
          ...(role === 'node' && san !== '' ? [`subjectAltName=${san}`] : []),
        ].join('\n') + '\n');
        openssl(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', files.key]);
        const csr = openssl(['req', '-new', '-key', files.key, '-subj', `/O=MyDataStore/OU=${role}/CN=${name}`]);
        openssl([
          'x509', '-req', '-CA', ca.cert, '-CAkey', ca.key, '-set_serial', `0x${randomBytes(16).toString('hex')}`,
          '-days', String(r.days), '-extfile', ext, '-out', files.cert,
        ], csr);
        chmodSync(files.cert, 0o644);
        result.written.push(files.cert, files.key);
      }
    }
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
  return result;
}
