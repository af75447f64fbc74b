/** MyDataStore's TypeScript client: the package's main entry (`import { Client } from 'mydatastore'`). */
export { Client } from './client.js';
export type { ClientOptions, ClientStats, RequestOptions, GetOptions, WriteOptions, WriteResult, Version, BatchOp, BatchItemResult, Bytes } from './client.js';
export type { Consistency, LevelName } from './consistency.js';
export type { TlsMaterial } from '../rpc/security.js';
export {
  RpcError,
  InvalidArgumentError,
  UnavailableError,
  TimeoutError,
  ConnectionError,
  OverloadedError,
  ShuttingDownError,
  CancelledError,
  InternalError,
  NotFoundError,
  WrongOwnerError,
  UnknownMethodError,
  ProtocolError,
  FrameTooLargeError,
  UnauthenticatedError,
  PermissionDeniedError,
  Status,
} from '../rpc/errors.js';
