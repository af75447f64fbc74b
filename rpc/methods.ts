/**
 * Method table: each method id and the protobuf messages of its request and response. The ids are part
 * of the wire protocol (rpc/PROTOCOL.md lists them); never renumber one.
 *
 *   0         reserved for control frames (connection errors, GOAWAY)
 *   1..63     client API (proto/client.proto)
 *   64..127   internal node-to-node traffic (proto/cluster.proto, proto/antientropy.proto, proto/streaming.proto)
 *   68, 69    retired: never-served anti-entropy drafts; do not reuse
 */
import type { Reader, Writer } from 'protobufjs/minimal.js';
import { mydatastore } from '../proto/gen/messages.js';
import type { Access } from './security.js';

/** What protobufjs-cli generates for each message: static encode/decode, no reflection. */
export interface MessageCodec<In, Out> {
  encode(message: In, writer?: Writer): Writer;
  decode(reader: Reader | Uint8Array, length?: number): Out;
}

export interface Method<ReqIn, Req, ResIn, Res> {
  readonly id: number;
  readonly name: string;
  /** Who may call it when the server checks credentials (rpc/security.ts). */
  readonly access: Access;
  readonly request: MessageCodec<ReqIn, Req>;
  readonly response: MessageCodec<ResIn, Res>;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyMethod = Method<any, any, any, any>;
export type RequestIn<M> = M extends Method<infer I, unknown, unknown, unknown> ? I : never;
export type RequestOf<M> = M extends Method<unknown, infer R, unknown, unknown> ? R : never;
export type ResponseIn<M> = M extends Method<unknown, unknown, infer I, unknown> ? I : never;
export type ResponseOf<M> = M extends Method<unknown, unknown, unknown, infer R> ? R : never;

function method<ReqIn, Req, ResIn, Res>(
  id: number,
  name: string,
  access: Access,
  request: MessageCodec<ReqIn, Req>,
  response: MessageCodec<ResIn, Res>,
): Method<ReqIn, Req, ResIn, Res> {
  return { id, name, access, request, response };
}

const c = mydatastore.client;
const k = mydatastore.cluster;
const ae = mydatastore.antientropy;
const st = mydatastore.streaming;

export const Methods = {
  Ping: method(1, 'Ping', 'open', c.PingRequest, c.PingResponse),
  Get: method(2, 'Get', 'client', c.GetRequest, c.GetResponse),
  Put: method(3, 'Put', 'client', c.PutRequest, c.PutResponse),
  Delete: method(4, 'Delete', 'client', c.DeleteRequest, c.DeleteResponse),
  Batch: method(5, 'Batch', 'client', c.BatchRequest, c.BatchResponse),
  Authenticate: method(6, 'Authenticate', 'open', c.AuthenticateRequest, c.AuthenticateResponse),

  Gossip: method(64, 'Gossip', 'node', k.GossipRequest, k.GossipResponse),
  Raft: method(65, 'Raft', 'node', k.RaftRequest, k.RaftResponse),
  ReplicaWrite: method(66, 'ReplicaWrite', 'node', k.ReplicaWriteRequest, k.ReplicaWriteResponse),
  ReplicaRead: method(67, 'ReplicaRead', 'node', k.ReplicaReadRequest, k.ReplicaReadResponse),
  Members: method(70, 'Members', 'client', k.MembersRequest, k.MembersResponse),
  Status: method(71, 'Status', 'client', k.StatusRequest, k.StatusResponse),
  Decommission: method(72, 'Decommission', 'client', k.DecommissionRequest, k.DecommissionResponse),
  TreeHashes: method(73, 'TreeHashes', 'node', ae.TreeHashesRequest, ae.TreeHashesResponse),
  BucketRecords: method(74, 'BucketRecords', 'node', ae.BucketRecordsRequest, ae.BucketRecordsResponse),
  StreamPartition: method(75, 'StreamPartition', 'node', st.StreamPartitionRequest, st.StreamPartitionResponse),
  StreamDone: method(76, 'StreamDone', 'node', st.StreamDoneRequest, st.StreamDoneResponse),
} as const;

export const ErrorDetail = mydatastore.ErrorDetail;

const BY_ID = new Map<number, AnyMethod>(Object.values(Methods).map((m) => [m.id, m]));

/** The method with this id, if the table has one. */
export function methodById(id: number): AnyMethod | undefined {
  return BY_ID.get(id);
}

/** Method name by id, for logs and error messages. */
export function methodName(id: number): string {
  return methodById(id)?.name ?? `method#${id}`;
}
