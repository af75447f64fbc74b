/**
 * Encodes Raft messages to bytes and back: the opaque `message` of RaftRequest in proto/cluster.proto.
 * A small fixed binary layout (the messages change with the algorithm, not with the RPC schema):
 *
 *     u8 version (=2) | u8 type | str from | str to | u53 term | type-specific fields
 *     str   = u16 byte length, UTF-8 bytes
 *     u53   = u32 high word, u32 low word (big endian), at most 2^53 - 1
 *     type: 1 pre-vote, 2 vote, 3 pre-vote-resp, 4 vote-resp, 5 app, 6 app-resp, 7 heartbeat,
 *           8 heartbeat-resp, 9 snap, 10 timeout-now
 *     pre-vote:                  u53 lastIndex | u53 lastTerm
 *     vote:                      u53 lastIndex | u53 lastTerm | u8 transfer
 *     vote-resp / pre-vote-resp: u8 reject
 *     app:                       u53 prevIndex | u53 prevTerm | u53 commit | u32 n | n × entry
 *     entry:                     u53 index | u53 term | u8 kind (1 normal, 2 conf) | u32 len | data
 *     app-resp:                  u53 index | u8 reject | u53 hintTerm | u53 hintIndex
 *     heartbeat:                 u53 commit
 *     heartbeat-resp:            (nothing)
 *     snap:                      u53 index | u53 term | u16 nv | nv × str voter | u16 nl | nl × str learner
 *                                | u32 len | data (snapshot data, at most MAX_SNAPSHOT_BYTES = 64 MiB)
 *     timeout-now:               (nothing)
 *
 * Example: heartbeat-resp from "a" to "b" at term 2 is
 *     02 08 | 00 01 61 | 00 01 62 | 00 00 00 00 00 00 00 02
 * Version 1 (no entry kind, no snap/timeout-now, no transfer flag) is refused: every node of a cluster
 * runs the same version. The layout is also in MESSAGES.md next to this file.
 *
 * Decoding validates everything and bounds sizes; a bad message throws RaftDecodeError (RAFT_BAD_MESSAGE).
 */
import { RaftDecodeError, type Entry, type MessageType, type RaftMessage } from './types.js';

export const CODEC_VERSION = 2;
/** Most entries in one append. */
export const MAX_ENTRIES_PER_MESSAGE = 10_000;
/** Largest entry payload. */
export const MAX_ENTRY_BYTES = 1 << 20;
/** Longest node id, in bytes. */
export const MAX_ID_BYTES = 1024;
/** Largest snapshot payload in one 'snap' message. */
export const MAX_SNAPSHOT_BYTES = 64 << 20;
/** Most voters, and most learners, in a snapshot's configuration. */
export const MAX_CONF_MEMBERS = 10_000;

const TYPES: readonly MessageType[] = [
  'pre-vote',
  'vote',
  'pre-vote-resp',
  'vote-resp',
  'app',
  'app-resp',
  'heartbeat',
  'heartbeat-resp',
  'snap',
  'timeout-now',
];
const KINDS: readonly Entry['type'][] = ['normal', 'conf'];
const utf8 = new TextEncoder();
const utf8Decoder = new TextDecoder('utf-8', { fatal: true });

class Writer {
  private buf = new Uint8Array(64);
  private view = new DataView(this.buf.buffer);
  len = 0;

  private room(n: number): void {
    if (this.len + n <= this.buf.length) return;
    const next = new Uint8Array(Math.max(this.buf.length * 2, this.len + n));
    next.set(this.buf.subarray(0, this.len));
    this.buf = next;
    this.view = new DataView(next.buffer);
  }
  u8(v: number): void {
    this.room(1);
    this.view.setUint8(this.len++, v);
  }
  u16(v: number): void {
    this.room(2);
    this.view.setUint16(this.len, v);
    this.len += 2;
  }
  u32(v: number): void {
    this.room(4);
    this.view.setUint32(this.len, v);
    this.len += 4;
  }
  u53(v: number): void {
    if (!Number.isSafeInteger(v) || v < 0) throw new RangeError(`raft codec: ${v} is not a u53`);
    this.u32(Math.floor(v / 0x100000000));
    this.u32(v >>> 0);
  }
  bytes(b: Uint8Array): void {
    this.room(b.length);
    this.buf.set(b, this.len);
    this.len += b.length;
  }
  str(s: string): void {
    const b = utf8.encode(s);
    if (b.length > MAX_ID_BYTES) throw new RangeError('raft codec: id too long');
    this.room(2);
    this.view.setUint16(this.len, b.length);
    this.len += 2;
    this.bytes(b);
  }
  done(): Uint8Array {
    return this.buf.slice(0, this.len);
  }
}

class Reader {
  private pos = 0;
  private readonly view: DataView;
  constructor(private readonly buf: Uint8Array) {
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  }
  private need(n: number): void {
    if (this.pos + n > this.buf.length) throw new RaftDecodeError(`truncated message at byte ${this.pos}`);
  }
  u8(): number {
    this.need(1);
    return this.view.getUint8(this.pos++);
  }
  u16(): number {
    this.need(2);
    const v = this.view.getUint16(this.pos);
    this.pos += 2;
    return v;
  }
  u32(): number {
    this.need(4);
    const v = this.view.getUint32(this.pos);
    this.pos += 4;
    return v;
  }
  u53(): number {
    const hi = this.u32();
    if (hi > 0x1fffff) throw new RaftDecodeError('integer over 2^53');
    return hi * 0x100000000 + this.u32();
  }
  bool(): boolean {
    const v = this.u8();
    if (v > 1) throw new RaftDecodeError(`bad boolean ${v}`);
    return v === 1;
  }
  bytes(n: number): Uint8Array {
    this.need(n);
    const b = this.buf.slice(this.pos, this.pos + n);
    this.pos += n;
    return b;
  }
  str(): string {
    this.need(2);
    const n = this.view.getUint16(this.pos);
    this.pos += 2;
    if (n > MAX_ID_BYTES) throw new RaftDecodeError('id too long');
    try {
      return utf8Decoder.decode(this.bytes(n));
    } catch {
      throw new RaftDecodeError('id is not UTF-8');
    }
  }
  end(): void {
    if (this.pos !== this.buf.length) throw new RaftDecodeError(`${this.buf.length - this.pos} trailing bytes`);
  }
}

export function encodeMessage(m: RaftMessage): Uint8Array {
  const w = new Writer();
  w.u8(CODEC_VERSION);
  w.u8(TYPES.indexOf(m.type) + 1);
  w.str(m.from);
  w.str(m.to);
  w.u53(m.term);
  switch (m.type) {
    case 'pre-vote':
      w.u53(m.lastIndex);
      w.u53(m.lastTerm);
      break;
    case 'vote':
      w.u53(m.lastIndex);
      w.u53(m.lastTerm);
      w.u8(m.transfer === true ? 1 : 0);
      break;
    case 'pre-vote-resp':
    case 'vote-resp':
      w.u8(m.reject ? 1 : 0);
      break;
    case 'app':
      w.u53(m.prevIndex);
      w.u53(m.prevTerm);
      w.u53(m.commit);
      w.u32(m.entries.length);
      for (const e of m.entries) {
        w.u53(e.index);
        w.u53(e.term);
        w.u8(KINDS.indexOf(e.type) + 1);
        w.u32(e.data.length);
        w.bytes(e.data);
      }
      break;
    case 'snap': {
      const s = m.snapshot;
      if (s.data.length > MAX_SNAPSHOT_BYTES) throw new RangeError(`raft codec: snapshot of ${s.data.length} bytes`);
      w.u53(s.index);
      w.u53(s.term);
      for (const ids of [s.conf.voters, s.conf.learners]) {
        w.u16(ids.length);
        for (const id of ids) w.str(id);
      }
      w.u32(s.data.length);
      w.bytes(s.data);
      break;
    }
    case 'app-resp':
      w.u53(m.index);
      w.u8(m.reject ? 1 : 0);
      w.u53(m.hintTerm);
      w.u53(m.hintIndex);
      break;
    case 'heartbeat':
      w.u53(m.commit);
      break;
    case 'heartbeat-resp':
    case 'timeout-now':
      break;
  }
  return w.done();
}

export function decodeMessage(bytes: Uint8Array): RaftMessage {
  const r = new Reader(bytes);
  const version = r.u8();
  if (version !== CODEC_VERSION) throw new RaftDecodeError(`unknown version ${version}`);
  const code = r.u8();
  const type = TYPES[code - 1];
  if (type === undefined) throw new RaftDecodeError(`unknown message type ${code}`);
  const base = { from: r.str(), to: r.str(), term: r.u53() };
  let m: RaftMessage;
  switch (type) {
    case 'pre-vote':
      m = { ...base, type, lastIndex: r.u53(), lastTerm: r.u53() };
      break;
    case 'vote': {
      const last = { lastIndex: r.u53(), lastTerm: r.u53() };
      m = r.bool() ? { ...base, type, ...last, transfer: true } : { ...base, type, ...last };
      break;
    }
    case 'pre-vote-resp':
    case 'vote-resp':
      m = { ...base, type, reject: r.bool() };
      break;
    case 'app': {
      const prevIndex = r.u53();
      const prevTerm = r.u53();
      const commit = r.u53();
      const n = r.u32();
      if (n > MAX_ENTRIES_PER_MESSAGE) throw new RaftDecodeError(`${n} entries, limit ${MAX_ENTRIES_PER_MESSAGE}`);
      const entries: Entry[] = [];
      for (let i = 0; i < n; i++) {
        const index = r.u53();
        const term = r.u53();
        const kind = r.u8();
        const etype = KINDS[kind - 1];
        if (etype === undefined) throw new RaftDecodeError(`unknown entry kind ${kind}`);
        const len = r.u32();
        if (len > MAX_ENTRY_BYTES) throw new RaftDecodeError(`entry of ${len} bytes, limit ${MAX_ENTRY_BYTES}`);
        if (index !== prevIndex + i + 1) throw new RaftDecodeError(`entry index ${index}, want ${prevIndex + i + 1}`);
        entries.push({ index, term, type: etype, data: r.bytes(len) });
      }
      m = { ...base, type, prevIndex, prevTerm, commit, entries };
      break;
    }
    case 'app-resp':
      m = { ...base, type, index: r.u53(), reject: r.bool(), hintTerm: r.u53(), hintIndex: r.u53() };
      break;
    case 'heartbeat':
      m = { ...base, type, commit: r.u53() };
      break;
    case 'heartbeat-resp':
    case 'timeout-now':
      m = { ...base, type };
      break;
    case 'snap': {
      const index = r.u53();
      const term = r.u53();
      const [voters, learners] = [readIds(r), readIds(r)];
      const len = r.u32();
      if (len > MAX_SNAPSHOT_BYTES) throw new RaftDecodeError(`snapshot of ${len} bytes, limit ${MAX_SNAPSHOT_BYTES}`);
      m = { ...base, type, snapshot: { index, term, conf: { voters, learners }, data: r.bytes(len) } };
      break;
    }
  }
  r.end();
  return m;
}

function readIds(r: Reader): string[] {
  const n = r.u16();
  if (n > MAX_CONF_MEMBERS) throw new RaftDecodeError(`${n} members, limit ${MAX_CONF_MEMBERS}`);
  const ids: string[] = [];
  for (let i = 0; i < n; i++) ids.push(r.str());
  return ids;
}
