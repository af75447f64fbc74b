/**
 * Configuration changes, one server at a time (Raft thesis §4.1): the bytes of a 'conf' entry, and the
 * pure rules for applying a ConfChange to a ConfState.
 *
 * A conf entry's data (see MESSAGES.md next to this file):
 *
 *     u8 version (=1) | u8 kind (1 add-voter, 2 add-learner, 3 remove) | u16 n | n bytes node id (UTF-8)
 *
 * Example: add-voter "n4" is 01 01 00 02 6e 34.
 *
 * Rules: add-voter adds a new voter or promotes a learner; add-learner adds a node that is not a member;
 * remove drops a voter or a learner, but never the last voter. Each change moves at most one voter, so
 * any majority of the old voters and any majority of the new ones share a server.
 */
import { BadConfChangeError, RaftDecodeError, type ConfChange, type ConfState } from './types.js';

const KINDS: readonly ConfChange['type'][] = ['add-voter', 'add-learner', 'remove'];
const VERSION = 1;
const MAX_ID_BYTES = 1024;
const utf8 = new TextEncoder();
const utf8Decoder = new TextDecoder('utf-8', { fatal: true });

export function encodeConfChange(cc: ConfChange): Uint8Array {
  const id = utf8.encode(cc.node);
  if (id.length === 0 || id.length > MAX_ID_BYTES) throw new BadConfChangeError(`node id of ${id.length} bytes (1..${MAX_ID_BYTES})`);
  const out = new Uint8Array(4 + id.length);
  out[0] = VERSION;
  out[1] = KINDS.indexOf(cc.type) + 1;
  new DataView(out.buffer).setUint16(2, id.length);
  out.set(id, 4);
  return out;
}

/** Decodes a conf entry's data; malformed bytes throw RaftDecodeError (RAFT_BAD_MESSAGE). */
export function decodeConfChange(data: Uint8Array): ConfChange {
  if (data.length < 4) throw new RaftDecodeError(`conf change of ${data.length} bytes`);
  if (data[0] !== VERSION) throw new RaftDecodeError(`unknown conf change version ${data[0]}`);
  const type = KINDS[data[1]! - 1];
  if (type === undefined) throw new RaftDecodeError(`unknown conf change kind ${data[1]}`);
  const n = new DataView(data.buffer, data.byteOffset, data.byteLength).getUint16(2);
  if (n === 0 || n > MAX_ID_BYTES || data.length !== 4 + n) throw new RaftDecodeError(`conf change id length ${n} in ${data.length} bytes`);
  try {
    return { type, node: utf8Decoder.decode(data.subarray(4)) };
  } catch {
    throw new RaftDecodeError('conf change node id is not UTF-8');
  }
}

/** Why `cc` cannot apply to `conf`, or undefined when it can. */
export function confChangeProblem(conf: ConfState, cc: ConfChange): string | undefined {
  const voter = conf.voters.includes(cc.node);
  const learner = conf.learners.includes(cc.node);
  switch (cc.type) {
    case 'add-voter':
      return voter ? `${cc.node} is already a voter` : undefined;
    case 'add-learner':
      return voter ? `${cc.node} is a voter (remove it first)` : learner ? `${cc.node} is already a learner` : undefined;
    case 'remove':
      if (!voter && !learner) return `${cc.node} is not a member`;
      return voter && conf.voters.length === 1 ? `${cc.node} is the last voter` : undefined;
  }
}

/**
 * The configuration after `cc`. An invalid change leaves it as it is: every node replays the same
 * committed entries through this function, so they all agree even on a change that should not have been
 * proposed.
 */
export function applyConfChange(conf: ConfState, cc: ConfChange): ConfState {
  if (confChangeProblem(conf, cc) !== undefined) return conf;
  const voters = conf.voters.filter((v) => v !== cc.node);
  const learners = conf.learners.filter((l) => l !== cc.node);
  if (cc.type === 'add-voter') voters.push(cc.node);
  if (cc.type === 'add-learner') learners.push(cc.node);
  return { voters, learners };
}

/** Applies a conf entry's data; undecodable data (never written by a correct leader) changes nothing. */
export function applyConfEntry(conf: ConfState, data: Uint8Array): ConfState {
  try {
    return applyConfChange(conf, decodeConfChange(data));
  } catch {
    return conf;
  }
}

export function sameConf(a: ConfState, b: ConfState): boolean {
  const same = (x: readonly string[], y: readonly string[]): boolean => x.length === y.length && x.every((v) => y.includes(v));
  return same(a.voters, b.voters) && same(a.learners, b.learners);
}
