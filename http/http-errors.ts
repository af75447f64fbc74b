/**
 * Errors of the HTTP API: each answer that is not a success carries JSON `{ "error": { "code",
 * "message" } }` and an HTTP status. Errors from the KV service keep their own stable code
 * (`RPC_UNAVAILABLE`, `CLUSTER_BAD_CONSISTENCY`, ...); the gateway's own codes are listed in http/HTTP.md.
 */
import { Status } from '../rpc/errors.js';

export class HttpError extends Error {
  constructor(
    readonly httpStatus: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'HttpError';
  }
}

export const badRequest = (message: string) => new HttpError(400, 'HTTP_BAD_REQUEST', message);
export const keyNotFound = () => new HttpError(404, 'HTTP_KEY_NOT_FOUND', 'the key has no value');
export const noRoute = (path: string) => new HttpError(404, 'HTTP_NO_ROUTE', `no endpoint at ${path}`);
export const methodNotAllowed = (method: string, allow: string) => new HttpError(405, 'HTTP_METHOD_NOT_ALLOWED', `${method} is not allowed here (allowed: ${allow})`);
export const tooLarge = (limit: number) => new HttpError(413, 'HTTP_PAYLOAD_TOO_LARGE', `the value exceeds the limit of ${limit} bytes`);
export const unauthenticated = (message: string) => new HttpError(401, 'HTTP_UNAUTHENTICATED', message);
export const gatewayTimeout = (ms: number) => new HttpError(504, 'HTTP_TIMEOUT', `the request did not complete within ${ms} ms`);

/** Every code the gateway itself raises; test/tools/http-gateway.test.ts checks each is documented. */
export const HTTP_ERROR_CODES = ['HTTP_BAD_REQUEST', 'HTTP_KEY_NOT_FOUND', 'HTTP_NO_ROUTE', 'HTTP_METHOD_NOT_ALLOWED', 'HTTP_PAYLOAD_TOO_LARGE', 'HTTP_UNAUTHENTICATED', 'HTTP_TIMEOUT', 'HTTP_INTERNAL'] as const;

/** HTTP status of an RPC status (rpc/errors.ts classes carry `status`). */
const BY_RPC_STATUS = new Map<number, number>([
  [Status.INVALID_ARGUMENT, 400],
  [Status.NOT_FOUND, 404],
  [Status.UNAVAILABLE, 503],
  [Status.OVERLOADED, 503],
  [Status.SHUTTING_DOWN, 503],
  [Status.WRONG_OWNER, 503],
  [Status.TIMEOUT, 504],
  [Status.CANCELLED, 499],
  [Status.UNAUTHENTICATED, 401],
  [Status.PERMISSION_DENIED, 403],
]);

/** The HTTP status an RPC status answers as (500 for one without a better match). */
export function httpStatusOfRpc(status: number): number {
  return BY_RPC_STATUS.get(status) ?? 500;
}

/** Codes of errors that are the caller's fault whatever module raised them. */
const BAD_INPUT_CODES = /^(CLUSTER_BAD_CONSISTENCY|[A-Z]+_INVALID_ARGUMENT)$/;

export interface ErrorAnswer {
  httpStatus: number;
  code: string;
  message: string;
}

/** What to answer for anything a handler or the KV service threw. */
export function toErrorAnswer(err: unknown): ErrorAnswer {
  if (err instanceof HttpError) return { httpStatus: err.httpStatus, code: err.code, message: err.message };
  if (err instanceof Error) {
    const e = err as Error & { code?: unknown; status?: unknown };
    const code = typeof e.code === 'string' ? e.code : undefined;
    if (code !== undefined && typeof e.status === 'number') {
      return { httpStatus: httpStatusOfRpc(e.status), code, message: e.message };
    }
    if (code !== undefined && BAD_INPUT_CODES.test(code)) return { httpStatus: 400, code, message: e.message };
    if (code !== undefined) return { httpStatus: 500, code, message: e.message };
    return { httpStatus: 500, code: 'HTTP_INTERNAL', message: e.message };
  }
  return { httpStatus: 500, code: 'HTTP_INTERNAL', message: String(err) };
}
