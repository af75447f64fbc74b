/** The RPC layer: protobuf messages over raw TCP. See rpc/PROTOCOL.md for the wire format. */
export * from './errors.js';
export { RpcClient } from './client.js';
export type { ClientOptions, CallOptions } from './client.js';
export { RpcServer } from './server.js';
export type { ServerOptions, CallContext, Handler, ServerStats } from './server.js';
export { Methods } from './methods.js';
export type { Method, AnyMethod, RequestIn, RequestOf, ResponseIn, ResponseOf } from './methods.js';
export { parseAddress, formatAddress } from './address.js';
export type { Logger, LogLevel } from './logger.js';
export { consoleLogger, silentLogger } from './logger.js';
