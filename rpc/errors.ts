/**
 * The RPC error hierarchy, shared by client and server. Each class has a stable `code` string (for
 * programs and logs) and the wire `status` number it travels as (proto/common.proto's Status).
 * A server handler throws one of these; the client's promise rejects with the same class.
 */
import Long from 'long';
import { mydatastore } from '../proto/gen/messages.js';

export const Status = mydatastore.Status;
export type Status = mydatastore.Status;

export interface ErrorExtras {
  /** WRONG_OWNER: the replica's committed epoch. */
  epoch?: bigint;
  /** A hint for OVERLOADED / UNAVAILABLE / SHUTTING_DOWN. */
  retryAfterMs?: number;
  /** UNAVAILABLE from a quorum: acknowledgements received and required. */
  acks?: number;
  required?: number;
}

export abstract class RpcError extends Error {
  abstract readonly code: string;
  abstract readonly status: Status;
  readonly epoch?: bigint;
  readonly retryAfterMs?: number;
  readonly acks?: number;
  readonly required?: number;

  constructor(message: string, extras: ErrorExtras = {}, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
    if (extras.epoch !== undefined) this.epoch = extras.epoch;
    if (extras.retryAfterMs !== undefined) this.retryAfterMs = extras.retryAfterMs;
    if (extras.acks !== undefined) this.acks = extras.acks;
    if (extras.required !== undefined) this.required = extras.required;
  }
}

export class NotFoundError extends RpcError {
  readonly code = 'RPC_NOT_FOUND';
  readonly status = Status.NOT_FOUND;
}
export class InvalidArgumentError extends RpcError {
  readonly code = 'RPC_INVALID_ARGUMENT';
  readonly status = Status.INVALID_ARGUMENT;
}
export class UnavailableError extends RpcError {
  readonly code = 'RPC_UNAVAILABLE';
  readonly status = Status.UNAVAILABLE;
}
export class TimeoutError extends RpcError {
  readonly code = 'RPC_TIMEOUT';
  readonly status = Status.TIMEOUT;
}
export class OverloadedError extends RpcError {
  readonly code = 'RPC_OVERLOADED';
  readonly status = Status.OVERLOADED;
}
export class InternalError extends RpcError {
  readonly code = 'RPC_INTERNAL';
  readonly status = Status.INTERNAL;
}
export class UnauthenticatedError extends RpcError {
  readonly code = 'RPC_UNAUTHENTICATED';
  readonly status = Status.UNAUTHENTICATED;
}
export class PermissionDeniedError extends RpcError {
  readonly code = 'RPC_PERMISSION_DENIED';
  readonly status = Status.PERMISSION_DENIED;
}
export class UnknownMethodError extends RpcError {
  readonly code = 'RPC_UNKNOWN_METHOD';
  readonly status = Status.UNKNOWN_METHOD;
}
export class FrameTooLargeError extends RpcError {
  readonly code = 'RPC_FRAME_TOO_LARGE';
  readonly status = Status.FRAME_TOO_LARGE;
}
export class ProtocolError extends RpcError {
  readonly code = 'RPC_PROTOCOL_ERROR';
  readonly status = Status.PROTOCOL_ERROR;
}
export class CancelledError extends RpcError {
  readonly code = 'RPC_CANCELLED';
  readonly status = Status.CANCELLED;
}
export class WrongOwnerError extends RpcError {
  readonly code = 'RPC_WRONG_OWNER';
  readonly status = Status.WRONG_OWNER;
}
export class ShuttingDownError extends RpcError {
  readonly code = 'RPC_SHUTTING_DOWN';
  readonly status = Status.SHUTTING_DOWN;
}

export interface ConnectionErrorExtras extends ErrorExtras {
  /** Whether the request's frame may have reached the server (default true: unknown counts as sent). */
  sent?: boolean;
  /** The TLS handshake failed: one side does not trust the other's certificate (rpc/SECURITY.md). */
  tlsRefused?: boolean;
}

/**
 * The connection to a node could not be made or broke while the request was in flight. It has no wire
 * status: it is never sent, only raised locally.
 *
 * `sent` says whether the request's frame was handed to a connected socket before the failure. false
 * means the request certainly never reached the server (refused or timed-out connect, address in
 * backoff, still queued in the client), so even a non-idempotent write may be retried elsewhere. true
 * means it may have been applied. It defaults to true: an error that does not know must not invite a retry.
 */
export class ConnectionError extends RpcError {
  readonly code = 'RPC_CONNECTION';
  readonly status = Status.UNAVAILABLE;
  readonly sent: boolean;
  readonly tlsRefused: boolean;

  constructor(message: string, extras: ConnectionErrorExtras = {}, options?: ErrorOptions) {
    super(message, extras, options);
    this.sent = extras.sent ?? true;
    this.tlsRefused = extras.tlsRefused ?? false;
  }

  /** The same failure for a request whose frame never left this client. */
  static notSent(message: string, tlsRefused = false): ConnectionError {
    return new ConnectionError(message, { sent: false, tlsRefused });
  }
}

type ErrorClass = new (message: string, extras?: ErrorExtras) => RpcError;

const byStatus = new Map<number, ErrorClass>([
  [Status.NOT_FOUND, NotFoundError],
  [Status.INVALID_ARGUMENT, InvalidArgumentError],
  [Status.UNAVAILABLE, UnavailableError],
  [Status.TIMEOUT, TimeoutError],
  [Status.OVERLOADED, OverloadedError],
  [Status.INTERNAL, InternalError],
  [Status.UNAUTHENTICATED, UnauthenticatedError],
  [Status.PERMISSION_DENIED, PermissionDeniedError],
  [Status.UNKNOWN_METHOD, UnknownMethodError],
  [Status.FRAME_TOO_LARGE, FrameTooLargeError],
  [Status.PROTOCOL_ERROR, ProtocolError],
  [Status.CANCELLED, CancelledError],
  [Status.WRONG_OWNER, WrongOwnerError],
  [Status.SHUTTING_DOWN, ShuttingDownError],
]);

/** Every error class of this module, for the test that checks each code is documented. */
export const ALL_RPC_ERRORS: readonly ErrorClass[] = [...byStatus.values(), ConnectionError];

/** An error as a person reads it: "CODE: message" for an RpcError, the error itself otherwise. */
export function errorText(err: unknown): string {
  return err instanceof RpcError ? `${err.code}: ${err.message}` : String(err);
}

/** The typed error for a status received on the wire; an unknown status becomes InternalError. */
export function errorFromStatus(status: number, message: string, extras?: ErrorExtras): RpcError {
  const Cls = byStatus.get(status);
  if (Cls === undefined) return new InternalError(`unknown status ${status}: ${message}`, extras);
  return new Cls(message, extras);
}

const ErrorDetail = mydatastore.ErrorDetail;

/** ErrorDetail payload for an error response frame. */
export function encodeErrorDetail(status: number, message: string, extras: ErrorExtras = {}): Uint8Array {
  return ErrorDetail.encode({
    status,
    message,
    epoch: extras.epoch === undefined ? undefined : Long.fromString(extras.epoch.toString(), true),
    retryAfterMs: extras.retryAfterMs,
    acks: extras.acks,
    required: extras.required,
  }).finish();
}

/** The typed error an error frame stands for; a payload that does not decode still yields its status. */
export function decodeErrorDetail(status: number, payload: Uint8Array): RpcError {
  try {
    const d = ErrorDetail.decode(payload);
    const extras: ErrorExtras = {};
    if (!d.epoch.isZero()) extras.epoch = BigInt(d.epoch.toString());
    if (d.retryAfterMs !== 0) extras.retryAfterMs = d.retryAfterMs;
    if (d.acks !== 0 || d.required !== 0) {
      extras.acks = d.acks;
      extras.required = d.required;
    }
    return errorFromStatus(status, d.message, extras);
  } catch {
    return errorFromStatus(status, 'peer sent an unreadable error detail');
  }
}
