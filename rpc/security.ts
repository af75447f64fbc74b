/**
 * Who is at the other end of a connection, and what it may call (rpc/SECURITY.md).
 *
 * Every certificate of a cluster is signed by the cluster's CA and says its role in its subject's
 * organizational unit: OU=node for a member (it may call everything, node-to-node methods included), OU=client
 * for a client (the client API and the admin methods). A client without a certificate may instead present
 * a token, once per connection (the Authenticate method). Without TLS and tokens a server checks nothing:
 * that is the development mode, bound to 127.0.0.1 by default.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { PeerCertificate, TLSSocket } from 'node:tls';
import { checkServerIdentity } from 'node:tls';
import { Status } from './errors.js';

/** Who may call a method: anyone, an authenticated client or node, or only a node of the cluster. */
export type Access = 'open' | 'client' | 'node';
export type Role = 'node' | 'client';

export interface Identity {
  readonly role: Role;
  /** The certificate's common name, or the token's name from the tokens file. */
  readonly name: string;
  readonly via: 'certificate' | 'token';
}

/** PEM material: the cluster CA that signs every certificate, and this process's own certificate and key. */
export interface TlsMaterial {
  ca: string | Buffer;
  cert?: string | Buffer;
  key?: string | Buffer;
}

/** What a connection's TLS handshake proved: an identity, or why the certificate it showed proves none. */
export interface CertificateCheck {
  identity?: Identity;
  problem?: string;
}

function field(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

export function roleOf(cert: Pick<PeerCertificate, 'subject'>): Role | undefined {
  const ou = field(cert.subject?.OU);
  return ou === 'node' || ou === 'client' ? ou : undefined;
}

/** Reads the verified peer certificate of a server-side TLS socket. */
export function certificateIdentity(socket: TLSSocket): CertificateCheck {
  const cert = socket.getPeerCertificate();
  if (cert === null || Object.keys(cert).length === 0) return {};
  const name = field(cert.subject?.CN) ?? '?';
  if (!socket.authorized) {
    const why = socket.authorizationError instanceof Error ? socket.authorizationError.message : String(socket.authorizationError);
    return { problem: `its certificate (CN=${name}) is not signed by this cluster's CA: ${why}` };
  }
  const role = roleOf(cert);
  if (role === undefined) return { problem: `its certificate (CN=${name}) names no role (OU=node or OU=client)` };
  return { identity: { role, name, via: 'certificate' } };
}

/**
 * Why a caller may not call a method, as the status and message it is refused with; undefined if it may.
 * `problem` is what was wrong with a certificate the caller showed, if anything.
 */
export function accessDenial(
  method: string,
  access: Access,
  identity: Identity | undefined,
  problem: string | undefined,
): { status: Status; message: string } | undefined {
  if (access === 'open') return undefined;
  if (identity === undefined) {
    const shown = problem ?? 'it presented no certificate and no token';
    const needs = access === 'node' ? "a node certificate signed by the cluster's CA" : 'a client certificate or a token';
    return { status: Status.UNAUTHENTICATED, message: `${method} needs ${needs}; ${shown}` };
  }
  if (access === 'node' && identity.role !== 'node') {
    return { status: Status.PERMISSION_DENIED, message: `${method} is for nodes of the cluster; ${identity.role} ${identity.name} may not call it` };
  }
  return undefined;
}

const digest = (token: string): Buffer => createHash('sha256').update(token).digest();

/**
 * Client tokens a server accepts, by name. Lookup compares SHA-256 digests in constant time, so how long a
 * comparison takes says nothing about how much of a guess was right.
 */
export class TokenTable {
  private readonly entries: { name: string; digest: Buffer }[] = [];

  constructor(tokens: ReadonlyMap<string, string>) {
    for (const [name, token] of tokens) this.entries.push({ name, digest: digest(token) });
  }

  get size(): number {
    return this.entries.length;
  }

  /** The name of the token, or undefined if it is not one of ours. */
  lookup(token: string): string | undefined {
    const d = digest(token);
    let found: string | undefined;
    for (const e of this.entries) if (timingSafeEqual(e.digest, d)) found ??= e.name;
    return found;
  }
}

/**
 * A client's check of the server it reached: the usual host name check, and the certificate must be a
 * node's (a client certificate of the same CA must not pass for a server).
 */
export function checkNodeServer(host: string, cert: PeerCertificate): Error | undefined {
  const err = checkServerIdentity(host, cert);
  if (err !== undefined) return err;
  if (roleOf(cert) !== 'node') return new Error(`the server's certificate (CN=${field(cert.subject?.CN) ?? '?'}) is not a node certificate (OU=node)`);
  return undefined;
}
