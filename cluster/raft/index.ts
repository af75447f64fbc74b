/** The pure Raft core: state machine, log, messages and their codec. The node wiring lives elsewhere. */
export { Raft, type RaftOptions } from './raft.js';
export { RaftLog } from './log.js';
export { decodeMessage, encodeMessage, MAX_ENTRIES_PER_MESSAGE, MAX_ENTRY_BYTES, MAX_ID_BYTES, MAX_SNAPSHOT_BYTES } from './codec.js';
export { applyConfChange, decodeConfChange, encodeConfChange } from './conf-change.js';
export * from './types.js';
