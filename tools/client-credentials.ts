/**
 * The credentials of the client commands (put, get, del, members, status, decommission, ping) for a
 * cluster that runs with TLS (rpc/SECURITY.md): the cluster CA to trust, and either a client certificate
 * or a token.
 */
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { Option } from 'commander';
import type { TlsMaterial } from '../rpc/security.js';
import { nonEmpty } from './setting-parsers.js';

export interface CredentialFlags {
  tlsCa?: string;
  tlsCert?: string;
  tlsKey?: string;
  tokenFile?: string;
}

export interface ClientCredentials {
  tls?: TlsMaterial;
  token?: string;
}

export class ClientCredentialsError extends Error {
  readonly code = 'CLIENT_BAD_CREDENTIALS';
  override readonly name = 'ClientCredentialsError';
}

/** Adds the credential flags to a client command. */
export function credentialOptions(cmd: Command): Command {
  return cmd
    .addOption(new Option('--tls-ca <file>', 'connect with TLS, trusting nodes whose certificate this CA signed').env('MYDATASTORE_TLS_CA').argParser(nonEmpty('--tls-ca')))
    .addOption(new Option('--tls-cert <file>', 'client certificate to show (with --tls-key)').env('MYDATASTORE_TLS_CERT').argParser(nonEmpty('--tls-cert')))
    .addOption(new Option('--tls-key <file>', 'private key of --tls-cert').env('MYDATASTORE_TLS_KEY').argParser(nonEmpty('--tls-key')))
    .addOption(new Option('--token-file <file>', 'file holding a client token (or set MYDATASTORE_TOKEN to the token itself)').env('MYDATASTORE_TOKEN_FILE').argParser(nonEmpty('--token-file')));
}

function read(file: string, what: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    throw new ClientCredentialsError(`cannot read the ${what} ${file}: ${(err as Error).message}`);
  }
}

/** Reads the files the flags name; `env` gives MYDATASTORE_TOKEN. */
export function clientCredentials(f: CredentialFlags, env: NodeJS.ProcessEnv = process.env): ClientCredentials {
  if ((f.tlsCert === undefined) !== (f.tlsKey === undefined)) throw new ClientCredentialsError('--tls-cert and --tls-key go together');
  const token = f.tokenFile !== undefined ? read(f.tokenFile, 'token file').trim() : env.MYDATASTORE_TOKEN?.trim();
  if (f.tlsCa === undefined) {
    if (f.tlsCert !== undefined) throw new ClientCredentialsError('--tls-cert needs --tls-ca (the CA that signed the nodes\' certificates)');
    if (token !== undefined && token !== '') throw new ClientCredentialsError('a token needs --tls-ca: without TLS it would cross the network in clear text');
    return {};
  }
  const tls: TlsMaterial = { ca: read(f.tlsCa, 'CA certificate') };
  if (f.tlsCert !== undefined && f.tlsKey !== undefined) {
    tls.cert = read(f.tlsCert, 'certificate');
    tls.key = read(f.tlsKey, 'private key');
  }
  return token === undefined || token === '' ? { tls } : { tls, token };
}
