/**
 * Commands of the cluster state machine and their codec. A command travels as the `data` of a 'normal'
 * Raft entry, encoded as the protobuf message mydatastore.ClusterCommand (proto/cluster-state.proto,
 * framing in cluster/state/FORMAT.md). Decoding validates everything the state machine relies on, so a
 * decoded command is well-formed; whether it *applies* is decided by the state (cluster-state.ts).
 */
import Long from 'long';
import { mydatastore } from '../../proto/gen/messages.js';
import { type ClusterConfig, configProblem } from './config.js';
import { ClusterCommandError } from './errors.js';

export type ClusterCommand =
  | { readonly type: 'add-member'; readonly id: string; readonly address: string; readonly zone: string }
  | { readonly type: 'set-member-status'; readonly id: string; readonly status: 'leaving' | 'removed' }
  | { readonly type: 'set-config'; readonly config: ClusterConfig }
  | { readonly type: 'increment-epoch'; readonly to: number }
  | { readonly type: 'stream-done'; readonly id: string; readonly transition: number }
  | { readonly type: 'finish-transition'; readonly transition: number };

/** Version of the command encoding (ClusterCommand.version). */
export const COMMAND_VERSION = 1;
/** Largest encoded command accepted: commands are small; anything bigger is not ours. */
export const MAX_COMMAND_BYTES = 4096;
/** Longest id, address or zone, in UTF-8 bytes. */
export const MAX_FIELD_BYTES = 1024;

const pb = mydatastore.ClusterCommand;
const Status = mydatastore.ClusterMemberStatus;

function text(v: string | null | undefined, what: string, required: boolean): string {
  const s = v ?? '';
  if (required && s.length === 0) throw new ClusterCommandError(`${what} is empty`);
  if (Buffer.byteLength(s, 'utf8') > MAX_FIELD_BYTES) throw new ClusterCommandError(`${what} longer than ${MAX_FIELD_BYTES} bytes`);
  return s;
}

/** A uint64 (Long, number or absent) as a safe integer, or a typed error. */
export function safeUint(v: Long | number | null | undefined, what: string, errorOf: (m: string) => Error): number {
  if (v === null || v === undefined) return 0;
  if (Long.isLong(v)) {
    if (v.greaterThan(Number.MAX_SAFE_INTEGER)) throw errorOf(`${what} exceeds 2^53 - 1`);
    return v.toNumber();
  }
  if (!Number.isSafeInteger(v) || v < 0) throw errorOf(`${what} out of range`);
  return v;
}

/** Checks a command built in code (the planner's or an operator's) before it goes into the log. */
function validate(c: ClusterCommand): ClusterCommand {
  switch (c.type) {
    case 'add-member':
      text(c.id, 'member id', true);
      text(c.address, 'member address', true);
      text(c.zone, 'member zone', false);
      return c;
    case 'set-member-status':
      text(c.id, 'member id', true);
      if (c.status !== 'leaving' && c.status !== 'removed') throw new ClusterCommandError(`bad member status ${String(c.status)}`);
      return c;
    case 'set-config': {
      const problem = configProblem(c.config);
      if (problem !== undefined) throw new ClusterCommandError(`bad configuration: ${problem}`);
      return c;
    }
    case 'increment-epoch':
      if (!Number.isSafeInteger(c.to) || c.to < 1) throw new ClusterCommandError(`bad epoch ${c.to}`);
      return c;
    case 'stream-done':
      text(c.id, 'member id', true);
      if (!Number.isSafeInteger(c.transition) || c.transition < 1) throw new ClusterCommandError(`bad transition ${c.transition}`);
      return c;
    case 'finish-transition':
      if (!Number.isSafeInteger(c.transition) || c.transition < 1) throw new ClusterCommandError(`bad transition ${c.transition}`);
      return c;
    default:
      throw new ClusterCommandError(`unknown command type ${String((c as { type: unknown }).type)}`);
  }
}

export function encodeCommand(c: ClusterCommand): Uint8Array {
  validate(c);
  const m: mydatastore.ClusterCommand.$Properties = { version: COMMAND_VERSION };
  switch (c.type) {
    case 'add-member':
      m.addMember = { id: c.id, address: c.address, zone: c.zone };
      break;
    case 'set-member-status':
      m.setMemberStatus = {
        id: c.id,
        status: c.status === 'leaving' ? Status.CLUSTER_MEMBER_LEAVING : Status.CLUSTER_MEMBER_REMOVED,
      };
      break;
    case 'set-config':
      m.setConfig = {
        partitions: c.config.partitions,
        replicas: c.config.replicas,
        readQuorum: c.config.readQuorum,
        writeQuorum: c.config.writeQuorum,
      };
      break;
    case 'increment-epoch':
      m.incrementEpoch = { to: Long.fromNumber(c.to, true) };
      break;
    case 'stream-done':
      m.streamDone = { id: c.id, transition: Long.fromNumber(c.transition, true) };
      break;
    case 'finish-transition':
      m.finishTransition = { transition: Long.fromNumber(c.transition, true) };
      break;
  }
  return pb.encode(m).finish();
}

export function decodeCommand(b: Uint8Array): ClusterCommand {
  if (b.length === 0) throw new ClusterCommandError('empty command');
  if (b.length > MAX_COMMAND_BYTES) throw new ClusterCommandError(`command of ${b.length} bytes exceeds ${MAX_COMMAND_BYTES}`);
  let m: mydatastore.ClusterCommand;
  try {
    m = pb.decode(b);
  } catch (err) {
    throw new ClusterCommandError(`malformed command: ${err instanceof Error ? err.message : String(err)}`);
  }
  if (m.version !== COMMAND_VERSION) throw new ClusterCommandError(`unsupported command version ${m.version}`);
  // Several operations on the wire decode to the last one (protobuf's oneof rule), the same everywhere.
  const set = [m.addMember, m.setMemberStatus, m.setConfig, m.incrementEpoch, m.streamDone, m.finishTransition].filter((x) => x != null).length;
  if (set !== 1) throw new ClusterCommandError(`a command sets exactly one operation, this one sets ${set}`);
  if (m.addMember != null) {
    const a = m.addMember;
    return validate({
      type: 'add-member',
      id: text(a.id, 'member id', true),
      address: text(a.address, 'member address', true),
      zone: text(a.zone, 'member zone', false),
    });
  }
  if (m.setMemberStatus != null) {
    const s = m.setMemberStatus;
    const status =
      s.status === Status.CLUSTER_MEMBER_LEAVING ? 'leaving' : s.status === Status.CLUSTER_MEMBER_REMOVED ? 'removed' : undefined;
    if (status === undefined) throw new ClusterCommandError(`bad member status ${String(s.status)}`);
    return validate({ type: 'set-member-status', id: text(s.id, 'member id', true), status });
  }
  if (m.setConfig != null) {
    const s = m.setConfig;
    return validate({
      type: 'set-config',
      config: {
        partitions: s.partitions ?? 0,
        replicas: s.replicas ?? 0,
        readQuorum: s.readQuorum ?? 0,
        writeQuorum: s.writeQuorum ?? 0,
      },
    });
  }
  const err = (msg: string): Error => new ClusterCommandError(msg);
  if (m.streamDone != null) {
    const d = m.streamDone;
    return validate({ type: 'stream-done', id: text(d.id, 'member id', true), transition: safeUint(d.transition, 'transition', err) });
  }
  if (m.finishTransition != null) {
    return validate({ type: 'finish-transition', transition: safeUint(m.finishTransition.transition, 'transition', err) });
  }
  const to = safeUint(m.incrementEpoch?.to, 'epoch', err);
  return validate({ type: 'increment-epoch', to });
}

/** One-line rendering for logs. */
export function describeCommand(c: ClusterCommand): string {
  switch (c.type) {
    case 'add-member':
      return `add-member ${c.id} at ${c.address}${c.zone === '' ? '' : ` zone ${c.zone}`}`;
    case 'set-member-status':
      return `set-member-status ${c.id} ${c.status}`;
    case 'set-config':
      return `set-config P=${c.config.partitions} N=${c.config.replicas} R=${c.config.readQuorum} W=${c.config.writeQuorum}`;
    case 'increment-epoch':
      return `increment-epoch to ${c.to}`;
    case 'stream-done':
      return `stream-done ${c.id} transition ${c.transition}`;
    case 'finish-transition':
      return `finish-transition ${c.transition}`;
  }
}
