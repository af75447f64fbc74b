/**
 * The id of an HTTP request: the caller's `X-Request-Id` when it is a plausible id (1-128 visible ASCII
 * characters), so that a request can be followed from a client or proxy into the node's log; otherwise
 * a fresh UUID. The gateway echoes it in the response's `X-Request-Id` header (http/HTTP.md).
 */
import { randomUUID } from 'node:crypto';

export const REQUEST_ID_HEADER = 'x-request-id';

const PLAUSIBLE = /^[\x21-\x7e]{1,128}$/;

export function requestIdOf(header: string | string[] | undefined): string {
  const given = Array.isArray(header) ? header[0] : header;
  return given !== undefined && PLAUSIBLE.test(given) ? given : randomUUID();
}
