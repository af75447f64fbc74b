/** The HTTP gateway beside the protobuf API; endpoints and error codes in http/HTTP.md. */
export { startHttpGateway } from './gateway.js';
export type { HttpGateway, HttpGatewayOptions, Readiness } from './gateway.js';
export type { KvService, KvOptions } from './kv-service.js';
export type { ConsistencyParam } from './request.js';
export { HttpError, HTTP_ERROR_CODES } from './http-errors.js';
