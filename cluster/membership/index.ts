/** The SWIM membership core: a pure state machine and its types. Drivers do the I/O. */
export { SwimNode, type SwimNodeOptions } from './node.js';
export { supersedes } from './member-table.js';
export { expectedConfirmations, retransmitLimit, suspicionTimeoutMs } from './suspicion.js';
export {
  DEFAULT_CONFIG,
  type GossipMessage,
  type MemberEvent,
  type MemberRecord,
  type MemberState,
  type MembershipConfig,
  type Outbound,
  type Random,
} from './types.js';
