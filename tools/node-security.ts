/**
 * A node's credentials from its settings (rpc/SECURITY.md): the TLS certificate, key and cluster CA, and the
 * client tokens file; and the warning for a node that listens beyond this machine without TLS. Everything
 * is checked at startup, so that a wrong file stops the node with a clear message instead of failing each
 * handshake later.
 */
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { TokenTable } from '../rpc/security.js';
import type { TlsMaterial } from '../rpc/security.js';

export class NodeSecurityError extends Error {
  readonly code = 'CONFIG_BAD_CREDENTIALS';
  override readonly name = 'NodeSecurityError';
}

export interface SecuritySettings {
  tlsCert?: string;
  tlsKey?: string;
  tlsCa?: string;
  clientTokens?: string;
}

export interface NodeCredentials {
  tls?: TlsMaterial & { cert: string; key: string };
  tokens?: TokenTable;
}

/** Shortest token accepted: a token is a password that anyone who reaches the port can guess at. */
export const MIN_TOKEN_LENGTH = 16;

function read(file: string, what: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    throw new NodeSecurityError(`cannot read the ${what} ${file}: ${(err as Error).message}`);
  }
}

/** Lines of "<name> <token>"; blank lines and lines starting with # are skipped. */
export function parseTokens(text: string, file: string): Map<string, string> {
  const tokens = new Map<string, string>();
  const seen = new Set<string>();
  text.split('\n').forEach((raw, i) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const parts = line.split(/\s+/);
    const where = `${file} line ${i + 1}`;
    if (parts.length !== 2) throw new NodeSecurityError(`${where}: expected "<name> <token>"`);
    const [name, token] = parts as [string, string];
    if (token.length < MIN_TOKEN_LENGTH) throw new NodeSecurityError(`${where}: the token of ${name} is shorter than ${MIN_TOKEN_LENGTH} characters`);
    if (tokens.has(name)) throw new NodeSecurityError(`${where}: the name ${name} is used twice`);
    if (seen.has(token)) throw new NodeSecurityError(`${where}: the token of ${name} is also another name's`);
    tokens.set(name, token);
    seen.add(token);
  });
  if (tokens.size === 0) throw new NodeSecurityError(`${file} holds no tokens (lines of "<name> <token>")`);
  return tokens;
}

function subjectField(subject: string, field: string): string | undefined {
  return subject.split('\n').find((l) => l.startsWith(`${field}=`))?.slice(field.length + 1);
}

/** What is wrong with the combination of security settings, if anything (checked before the files are read). */
export function credentialSettingsProblem(s: SecuritySettings): string | undefined {
  const given = [s.tlsCert, s.tlsKey, s.tlsCa].filter((f) => f !== undefined).length;
  if (given !== 0 && given !== 3) return 'tlsCert, tlsKey and tlsCa go together: give all three (mydatastore certs makes them)';
  if (s.clientTokens !== undefined && given === 0) {
    return 'clientTokens needs TLS (tlsCert, tlsKey, tlsCa): tokens are passwords and would cross the network in clear text';
  }
  return undefined;
}

/** Reads and checks the files the settings name; returns nothing to check in development mode. */
export function loadNodeCredentials(s: SecuritySettings): NodeCredentials {
  const problem = credentialSettingsProblem(s);
  if (problem !== undefined) throw new NodeSecurityError(problem);
  const out: NodeCredentials = {};
  if (s.tlsCert !== undefined && s.tlsKey !== undefined && s.tlsCa !== undefined) {
    const cert = read(s.tlsCert, 'certificate (--tls-cert)');
    const key = read(s.tlsKey, 'private key (--tls-key)');
    const ca = read(s.tlsCa, 'CA certificate (--tls-ca)');
    let x509: X509Certificate;
    let caX509: X509Certificate;
    try {
      x509 = new X509Certificate(cert);
      caX509 = new X509Certificate(ca);
    } catch (err) {
      throw new NodeSecurityError(`--tls-cert or --tls-ca is not a PEM certificate: ${(err as Error).message}`);
    }
    try {
      if (!x509.checkPrivateKey(createPrivateKey(key))) throw new NodeSecurityError(`${s.tlsKey} is not the key of ${s.tlsCert}`);
    } catch (err) {
      if (err instanceof NodeSecurityError) throw err;
      throw new NodeSecurityError(`--tls-key ${s.tlsKey} is not a PEM private key: ${(err as Error).message}`);
    }
    if (!x509.checkIssued(caX509) || !x509.verify(caX509.publicKey)) throw new NodeSecurityError(`${s.tlsCert} is not signed by the CA in ${s.tlsCa}`);
    if (subjectField(x509.subject, 'OU') !== 'node') {
      throw new NodeSecurityError(`${s.tlsCert} is not a node certificate (its subject has no OU=node; mydatastore certs --nodes makes one)`);
    }
    if (Date.parse(x509.validTo) < Date.now()) throw new NodeSecurityError(`${s.tlsCert} expired on ${x509.validTo}`);
    out.tls = { cert, key, ca };
  }
  if (s.clientTokens !== undefined) out.tokens = new TokenTable(parseTokens(read(s.clientTokens, 'tokens file (--client-tokens)'), s.clientTokens));
  return out;
}

export function isLoopback(host: string): boolean {
  if (host === 'localhost') return true;
  if (isIP(host) === 4) return host.startsWith('127.');
  return host === '::1' || host === '0:0:0:0:0:0:0:1';
}

/** The warning for a server (RPC or HTTP) listening beyond this machine without TLS; undefined if none is due. */
export function exposureWarning(what: string, address: { host: string }, tls: boolean): string | undefined {
  if (tls || isLoopback(address.host)) return undefined;
  return `${what} listens on ${address.host} without TLS: anyone who can reach it can read and write every key${what === 'RPC' ? ' and join the cluster' : ''}. Use --tls-cert, --tls-key and --tls-ca (mydatastore certs makes them), or listen on 127.0.0.1`;
}
