/**
 * Types of the SWIM membership state machine: member records, the messages nodes exchange, what the
 * machine hands back to its driver, and its configuration. Plain TypeScript, no I/O; `codec.ts` maps the
 * messages to the protobuf ones of proto/cluster.proto.
 */

export type MemberState = 'alive' | 'suspect' | 'dead' | 'left';

/** What one node believes of one member; also the unit of gossip. */
export interface MemberRecord {
  readonly id: string;
  /** host:port of the member's RPC listener. */
  readonly address: string;
  /** Bumped only by the member itself (to refute suspicion, or to publish new meta). */
  readonly incarnation: number;
  readonly state: MemberState;
  /** Free-form metadata: zone, status, ... */
  readonly meta: Readonly<Record<string, string>>;
  /**
   * For a suspect: the node whose probe failed. Suspicions from different nodes are independent
   * confirmations that shorten the suspicion timeout (Lifeguard); a repeated rumour is not.
   */
  readonly suspectedBy?: string;
}

/**
 * Messages. `ping`, `ping-req`, `push-pull` and `gossip` are requests; `ack` answers a ping or a ping-req
 * (same seq) and `push-pull-reply` answers a push-pull, so a request/response transport carries a reply
 * as the response of its request. Every message carries piggy-backed membership updates.
 */
export type GossipMessage =
  | { readonly type: 'ping'; readonly from: string; readonly seq: number; readonly target: string; readonly updates: readonly MemberRecord[] }
  | {
      readonly type: 'ping-req';
      readonly from: string;
      readonly seq: number;
      readonly target: string;
      readonly targetAddress: string;
      readonly updates: readonly MemberRecord[];
    }
  | { readonly type: 'ack'; readonly from: string; readonly seq: number; readonly updates: readonly MemberRecord[] }
  | { readonly type: 'push-pull'; readonly from: string; readonly join: boolean; readonly members: readonly MemberRecord[] }
  | { readonly type: 'push-pull-reply'; readonly from: string; readonly members: readonly MemberRecord[] }
  | { readonly type: 'gossip'; readonly from: string; readonly updates: readonly MemberRecord[] };

/** A message for the driver to send. */
export interface Outbound {
  /** Destination address (host:port). */
  readonly to: string;
  readonly message: GossipMessage;
}

/** A change of this node's view of a member, for the driver to log and for the ring/coordinator. */
export interface MemberEvent {
  readonly member: MemberRecord;
  /** The state before the change, or undefined for a member seen for the first time. */
  readonly previous: MemberState | undefined;
}

/** The injected source of randomness: a float in [0, 1). A seeded one replays a simulation exactly. */
export interface Random {
  next(): number;
}

export interface MembershipConfig {
  /** Time between two probes (ms). */
  readonly probeIntervalMs: number;
  /** How long to wait for a direct ack before asking others to probe (ms). */
  readonly probeTimeoutMs: number;
  /** Members asked to probe indirectly. */
  readonly indirectProbes: number;
  /** Shortest suspicion timeout = suspicionMult · max(1, log10(n)) · probeInterval. */
  readonly suspicionMult: number;
  /** Longest suspicion timeout, as a multiple of the shortest: the timeout of an unconfirmed suspicion. */
  readonly suspicionMaxMult: number;
  /** Each update is piggy-backed retransmitMult · ceil(log10(n + 1)) times. */
  readonly retransmitMult: number;
  /** Most updates piggy-backed on one message. */
  readonly maxPiggyback: number;
  /** Full-state exchange with one random live member every this often (ms). */
  readonly pushPullIntervalMs: number;
  /** Push-pull with one random dead member every this often (ms), so views heal after a partition. */
  readonly reconnectIntervalMs: number;
  /** Forget dead and left members after this long (ms). */
  readonly reclaimMs: number;
  /** Members told directly of a graceful leave (besides piggy-backing). */
  readonly leaveFanout: number;
}

export const DEFAULT_CONFIG: MembershipConfig = {
  probeIntervalMs: 1000,
  probeTimeoutMs: 500,
  indirectProbes: 3,
  suspicionMult: 4,
  suspicionMaxMult: 6,
  retransmitMult: 4,
  maxPiggyback: 16,
  pushPullIntervalMs: 30_000,
  reconnectIntervalMs: 10_000,
  reclaimMs: 24 * 3600_000,
  leaveFanout: 3,
};
