/**
 * Who is calling the HTTP gateway (rpc/SECURITY.md): a client or node certificate of the cluster's CA shown
 * in the TLS handshake, or `Authorization: Bearer <token>` with a token from the node's tokens file.
 */
import type { IncomingMessage } from 'node:http';
import type { TLSSocket } from 'node:tls';
import { certificateIdentity } from '../rpc/security.js';
import type { TokenTable } from '../rpc/security.js';

/** Why the request may not proceed, or undefined if its caller proved who it is. */
export function callerProblem(req: IncomingMessage, tokens: TokenTable | undefined): string | undefined {
  const socket = req.socket as TLSSocket;
  let certProblem: string | undefined;
  if (socket.encrypted === true) {
    const check = certificateIdentity(socket);
    if (check.identity !== undefined) return undefined;
    certProblem = check.problem;
  }
  const header = req.headers.authorization;
  if (header !== undefined) {
    const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
    if (m === null) return 'the Authorization header must be "Bearer <token>"';
    if (tokens?.lookup(m[1]!) !== undefined) return undefined;
    return tokens === undefined || tokens.size === 0 ? 'this node accepts no tokens' : 'the token is not one this node accepts';
  }
  return `this endpoint needs a client certificate or "Authorization: Bearer <token>"; ${certProblem ?? 'the request showed neither'}`;
}
