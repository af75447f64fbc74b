/** The cluster state machine replicated through Raft: commands, state, snapshot and the leader's planner. */
export { type ClusterCommand, decodeCommand, describeCommand, encodeCommand, MAX_COMMAND_BYTES } from './commands.js';
export {
  type ApplyResult,
  type ClusterConfig,
  type ClusterMember,
  type ClusterState,
  type MemberStatus,
  ClusterStateMachine,
  DEFAULT_CLUSTER_CONFIG,
  describeState,
  ringOf,
} from './cluster-state.js';
export { configProblem } from './config.js';
export { ClusterCommandError, ClusterSnapshotError } from './errors.js';
export {
  DEFAULT_PLANNER_OPTIONS,
  type GossipView,
  type LeaderPlan,
  type PlannerInput,
  type PlannerOptions,
  planLeaderActions,
} from './planner.js';
export { inReadRing, inTransition, inWriteRing, ownersInEither, type Transition, transitionOf } from './transition.js';
