/**
 * Maps the state machine's messages to the protobuf messages of proto/cluster.proto (GossipRequest /
 * GossipResponse, method 64 `Gossip`) and back, for the driver that carries them over the RPC layer.
 * Requests are ping, ping-req, push-pull and gossip; their replies (ack, push-pull-reply) travel as the
 * response of the request they answer. Decoding validates and bounds what a peer sent.
 */
import Long from 'long';
import { mydatastore } from '../../proto/gen/messages.js';
import type { GossipMessage, MemberRecord, MemberState } from './types.js';

const pb = mydatastore.cluster;
type PbMember = mydatastore.cluster.Member.$Properties;
type PbRequest = mydatastore.cluster.GossipRequest.$Properties;
type PbResponse = mydatastore.cluster.GossipResponse.$Properties;

/** Most member records one message may carry: a full view of a very large cluster, and no more. */
export const MAX_MEMBERS_PER_MESSAGE = 10_000;
/** Longest node id, address, meta key or value accepted. */
export const MAX_FIELD_LENGTH = 1024;

/** A gossip message from a peer is malformed or over the limits; the message is dropped. */
export class GossipDecodeError extends Error {
  readonly code = 'MEMBERSHIP_BAD_MESSAGE';
  constructor(message: string) {
    super(message);
    this.name = 'GossipDecodeError';
  }
}

export type RequestMessage = Extract<GossipMessage, { type: 'ping' | 'ping-req' | 'push-pull' | 'gossip' }>;
export type ReplyMessage = Extract<GossipMessage, { type: 'ack' | 'push-pull-reply' }>;

const STATE_TO_PB: Record<MemberState, mydatastore.cluster.MemberState> = {
  alive: pb.MemberState.ALIVE,
  suspect: pb.MemberState.SUSPECT,
  dead: pb.MemberState.DEAD,
  left: pb.MemberState.LEFT,
};

function stateFromPb(s: mydatastore.cluster.MemberState | null | undefined): MemberState {
  switch (s ?? pb.MemberState.ALIVE) {
    case pb.MemberState.ALIVE:
      return 'alive';
    case pb.MemberState.SUSPECT:
      return 'suspect';
    case pb.MemberState.DEAD:
      return 'dead';
    case pb.MemberState.LEFT:
      return 'left';
    default:
      throw new GossipDecodeError(`unknown member state ${s}`);
  }
}

function text(value: string | null | undefined, what: string, required = true): string {
  const s = value ?? '';
  if (required && s === '') throw new GossipDecodeError(`missing ${what}`);
  if (s.length > MAX_FIELD_LENGTH) throw new GossipDecodeError(`${what} longer than ${MAX_FIELD_LENGTH}`);
  return s;
}

export function memberToPb(m: MemberRecord): PbMember {
  return {
    nodeId: m.id,
    address: m.address,
    incarnation: Long.fromNumber(m.incarnation, true),
    state: STATE_TO_PB[m.state],
    meta: { ...m.meta },
    suspectedBy: m.suspectedBy ?? '',
  };
}

export function memberFromPb(m: PbMember): MemberRecord {
  const inc = m.incarnation;
  const incarnation = inc === null || inc === undefined ? 0 : Long.isLong(inc) ? inc.toNumber() : Number(inc);
  if (!Number.isSafeInteger(incarnation) || incarnation < 0) throw new GossipDecodeError('incarnation out of range');
  const meta: Record<string, string> = {};
  for (const [k, v] of Object.entries(m.meta ?? {})) meta[text(k, 'meta key')] = text(v, 'meta value', false);
  const record: MemberRecord = {
    id: text(m.nodeId, 'member node id'),
    address: text(m.address, 'member address'),
    incarnation,
    state: stateFromPb(m.state),
    meta,
  };
  const by = text(m.suspectedBy, 'suspected_by', false);
  return by === '' ? record : { ...record, suspectedBy: by };
}

function members(list: readonly PbMember[] | null | undefined): MemberRecord[] {
  const l = list ?? [];
  if (l.length > MAX_MEMBERS_PER_MESSAGE) throw new GossipDecodeError(`more than ${MAX_MEMBERS_PER_MESSAGE} members`);
  return l.map(memberFromPb);
}

/** A request message of the state machine as a GossipRequest from this cluster. */
export function encodeRequest(message: RequestMessage, clusterId: string): PbRequest {
  const from = { clusterId, nodeId: message.from };
  switch (message.type) {
    case 'ping':
      return { from, kind: pb.GossipKind.PING, seq: message.seq, targetNodeId: message.target, updates: message.updates.map(memberToPb) };
    case 'ping-req':
      return {
        from,
        kind: pb.GossipKind.PING_REQ,
        seq: message.seq,
        targetNodeId: message.target,
        targetAddress: message.targetAddress,
        updates: message.updates.map(memberToPb),
      };
    case 'push-pull':
      return { from, kind: pb.GossipKind.PUSH_PULL, join: message.join, updates: message.members.map(memberToPb) };
    case 'gossip':
      return { from, kind: pb.GossipKind.GOSSIP, updates: message.updates.map(memberToPb) };
  }
}

/** A GossipRequest as the state machine's message. The driver checks the envelope's cluster id first. */
export function decodeRequest(req: PbRequest): RequestMessage {
  const from = text(req.from?.nodeId, 'sender node id');
  const seq = req.seq ?? 0;
  switch (req.kind ?? pb.GossipKind.PING) {
    case pb.GossipKind.PING:
      return { type: 'ping', from, seq, target: text(req.targetNodeId, 'target node id'), updates: members(req.updates) };
    case pb.GossipKind.PING_REQ:
      return {
        type: 'ping-req',
        from,
        seq,
        target: text(req.targetNodeId, 'target node id'),
        targetAddress: text(req.targetAddress, 'target address'),
        updates: members(req.updates),
      };
    case pb.GossipKind.PUSH_PULL:
      return { type: 'push-pull', from, join: req.join ?? false, members: members(req.updates) };
    case pb.GossipKind.GOSSIP:
      return { type: 'gossip', from, updates: members(req.updates) };
    default:
      throw new GossipDecodeError(`unknown gossip kind ${req.kind}`);
  }
}

/** The state machine's reply (or none: a gossip request, or a probe nobody answered) as a GossipResponse. */
export function encodeResponse(reply: ReplyMessage | undefined, responder: string, seq = 0): PbResponse {
  if (reply === undefined) return { nodeId: responder, seq, ack: false };
  if (reply.type === 'ack') return { nodeId: reply.from, seq: reply.seq, ack: true, updates: reply.updates.map(memberToPb) };
  return { nodeId: reply.from, updates: reply.members.map(memberToPb) };
}

/** A GossipResponse to `request` as the reply message to feed to the state machine, if it carries one. */
export function decodeResponse(res: PbResponse, request: RequestMessage): ReplyMessage | undefined {
  const from = text(res.nodeId, 'responder node id');
  switch (request.type) {
    case 'ping':
    case 'ping-req':
      return res.ack === true ? { type: 'ack', from, seq: res.seq ?? 0, updates: members(res.updates) } : undefined;
    case 'push-pull':
      return { type: 'push-pull-reply', from, members: members(res.updates) };
    case 'gossip':
      return undefined;
  }
}
