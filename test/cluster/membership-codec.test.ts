import t from 'tap';
import { mydatastore } from '../../proto/gen/messages.js';
import {
  decodeRequest,
  decodeResponse,
  encodeRequest,
  encodeResponse,
  GossipDecodeError,
  MAX_MEMBERS_PER_MESSAGE,
  type RequestMessage,
} from '../../cluster/membership/codec.js';
import type { MemberRecord } from '../../cluster/membership/types.js';

const pb = mydatastore.cluster;
const alice: MemberRecord = { id: 'alice', address: '10.0.0.1:7000', incarnation: 1_764_000_000_123, state: 'alive', meta: { zone: 'eu-1' } };
const bob: MemberRecord = { id: 'bob', address: '10.0.0.2:7000', incarnation: 3, state: 'suspect', meta: {}, suspectedBy: 'alice' };

/** Through real protobuf bytes, as the RPC layer would carry it. */
function wireRequest(m: RequestMessage): RequestMessage {
  const bytes = pb.GossipRequest.encode(encodeRequest(m, 'c1')).finish();
  const decoded = pb.GossipRequest.decode(bytes);
  t.equal(decoded.from?.clusterId, 'c1', 'the envelope carries the cluster id');
  return decodeRequest(decoded);
}

t.test('every request kind survives the protobuf round trip, 64-bit incarnations included', (t) => {
  const requests: RequestMessage[] = [
    { type: 'ping', from: 'alice', seq: 7, target: 'bob', updates: [alice, bob] },
    { type: 'ping-req', from: 'alice', seq: 8, target: 'carol', targetAddress: '10.0.0.3:7000', updates: [] },
    { type: 'push-pull', from: 'alice', join: true, members: [alice, { ...bob, state: 'dead', suspectedBy: undefined }] },
    { type: 'gossip', from: 'alice', updates: [{ ...alice, state: 'left' }] },
  ];
  for (const r of requests) {
    const back = JSON.parse(JSON.stringify(wireRequest(r))) as unknown;
    t.same(back, JSON.parse(JSON.stringify(r)), `${r.type} round-trips`);
  }
  t.end();
});

t.test('replies travel as the response of their request', (t) => {
  const ping: RequestMessage = { type: 'ping', from: 'alice', seq: 9, target: 'bob', updates: [] };
  const ackBytes = pb.GossipResponse.encode(encodeResponse({ type: 'ack', from: 'bob', seq: 9, updates: [bob] }, 'bob')).finish();
  t.same(decodeResponse(pb.GossipResponse.decode(ackBytes), ping), { type: 'ack', from: 'bob', seq: 9, updates: [bob] });
  t.equal(decodeResponse(pb.GossipResponse.decode(pb.GossipResponse.encode(encodeResponse(undefined, 'carol', 9)).finish()), ping), undefined, 'no ack: nothing to feed the node');
  const pp: RequestMessage = { type: 'push-pull', from: 'alice', join: false, members: [alice] };
  const reply = decodeResponse(encodeResponse({ type: 'push-pull-reply', from: 'bob', members: [alice, bob] }, 'bob'), pp);
  t.same(reply, { type: 'push-pull-reply', from: 'bob', members: [alice, bob] });
  t.end();
});

t.test('malformed or oversized messages from a peer are refused with a typed error', (t) => {
  t.throws(() => decodeRequest({ kind: pb.GossipKind.PING, seq: 1, targetNodeId: 'x' }), GossipDecodeError, 'no sender');
  t.throws(() => decodeRequest({ from: { nodeId: 'a' }, kind: 99 as mydatastore.cluster.GossipKind }), { code: 'MEMBERSHIP_BAD_MESSAGE' });
  t.throws(() => decodeRequest({ from: { nodeId: 'a' }, kind: pb.GossipKind.GOSSIP, updates: [{ nodeId: 'b', address: 'b:1', state: 7 as mydatastore.cluster.MemberState }] }), GossipDecodeError, 'unknown state');
  t.throws(() => decodeRequest({ from: { nodeId: 'a' }, kind: pb.GossipKind.GOSSIP, updates: [{ nodeId: 'b' }] }), GossipDecodeError, 'member without address');
  const many = Array.from({ length: MAX_MEMBERS_PER_MESSAGE + 1 }, (_, i) => ({ nodeId: `n${i}`, address: 'x:1' }));
  t.throws(() => decodeRequest({ from: { nodeId: 'a' }, kind: pb.GossipKind.PUSH_PULL, updates: many }), GossipDecodeError, 'too many members');
  t.throws(() => decodeRequest({ from: { nodeId: 'a'.repeat(2000) }, kind: pb.GossipKind.GOSSIP }), GossipDecodeError, 'overlong id');
  t.end();
});
