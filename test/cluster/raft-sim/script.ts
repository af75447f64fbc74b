/**
 * Scripted Raft interaction tests in the style of etcd raft's testdata (datadriven): a text file of
 * commands, each followed by `----` and the output it must produce, ended by a blank line. The harness
 * delivers messages by hand, so every message of an election or a backtracking exchange is visible.
 * Run with RAFT_REWRITE=1 to regenerate expected outputs (then read the diff!).
 *
 * Commands (node ids are 1, 2, 3, ...):
 *   add-nodes N [prevote=false] [checkquorum=false] [bootstrap]   fresh nodes; election timeout exactly
 *                        electionTicks=10; with `bootstrap` the configuration is written as conf entries
 *                        1..N (RaftOptions.conf) instead of being given outside the log (`peers`)
 *   restart ID term=T [vote=V] [commit=C] [log=T1,T2,...]   (re)start from persisted state
 *   campaign ID | tick ID [N] | propose ID DATA
 *   step ID TYPE from=F term=T [index=I] [reject]   inject one (possibly stale) response: app-resp, vote-resp
 *   stabilize            handle every node's Ready and deliver messages until quiet, printing what is sent
 *   partition A B | C    drop messages between the groups (printed as DROPPED); heal
 *   status | log ID | progress ID
 *   add-node ID          a fresh node with an empty configuration (to be added to the cluster)
 *   conf-change ID add-voter|add-learner|remove NODE   propose a configuration change on ID
 *   conf ID              the configuration in force on ID
 *   compact ID [INDEX]   the application of ID snapshots its state at INDEX (default: its applied index)
 *   transfer ID TO       ID hands its leadership to TO
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { decodeConfChange } from '../../../cluster/raft/conf-change.js';
import { Raft } from '../../../cluster/raft/raft.js';
import type { ConfChange, ConfState, Entry, HardState, RaftConfig, RaftMessage, Snapshot } from '../../../cluster/raft/types.js';

interface ScriptNode {
  raft: Raft;
  hardState: HardState;
  stored: Entry[];
  snapshot?: Snapshot;
}

const zeroRng = { next: (): number => 0 };

export class ScriptCluster {
  private readonly nodes = new Map<string, ScriptNode>();
  private config: Partial<RaftConfig> = {};
  private ids: string[] = [];
  private pending: RaftMessage[] = [];
  private groups = new Map<string, number>();

  run(cmd: string, args: string[]): string[] {
    const kv = Object.fromEntries(args.filter((a) => a.includes('=')).map((a) => a.split('=') as [string, string]));
    const pos = args.filter((a) => !a.includes('='));
    switch (cmd) {
      case 'add-nodes': {
        this.ids = Array.from({ length: Number(pos[0]) }, (_, i) => String(i + 1));
        this.nodes.clear();
        this.pending = [];
        this.groups.clear();
        this.config = { electionTicks: 10, heartbeatTicks: 1, preVote: kv.prevote !== 'false', checkQuorum: kv.checkquorum !== 'false' };
        const conf = pos.includes('bootstrap') ? { voters: [...this.ids], learners: [] } : undefined;
        for (const id of this.ids) this.start(id, { term: 0, vote: '', commit: 0 }, [], conf);
        return conf === undefined ? ['ok'] : this.ids.flatMap((id) => this.drain(id));
      }
      case 'restart': {
        const id = pos[0]!;
        const terms = kv.log === undefined || kv.log === '' ? [] : kv.log.split(',').map(Number);
        const entries = terms.map((term, i) => ({ index: i + 1, term, type: 'normal' as const, data: new Uint8Array(0) }));
        this.start(id, { term: Number(kv.term ?? 0), vote: kv.vote ?? '', commit: Number(kv.commit ?? 0) }, entries);
        return ['ok'];
      }
      case 'campaign':
        this.node(pos[0]!).raft.campaign();
        return this.drain(pos[0]!);
      case 'tick': {
        const r = this.node(pos[0]!).raft;
        for (let i = 0; i < Number(pos[1] ?? 1); i++) r.tick();
        return this.drain(pos[0]!);
      }
      case 'add-node': {
        const id = pos[0]!;
        this.ids.push(id);
        this.start(id, { term: 0, vote: '', commit: 0 }, [], { voters: [], learners: [] });
        return ['ok'];
      }
      case 'conf-change':
        return this.attempt(pos[0]!, () => this.node(pos[0]!).raft.proposeConfChange({ type: pos[1] as ConfChange['type'], node: pos[2]! }));
      case 'conf':
        return [fmtConf(this.node(pos[0]!).raft.confState())];
      case 'compact': {
        const n = this.node(pos[0]!);
        try {
          const s = n.raft.compact(Number(pos[1] ?? n.raft.log.applied), Buffer.from(`state@${pos[1] ?? n.raft.log.applied}`));
          n.snapshot = s;
          n.stored = n.stored.filter((e) => e.index > s.index);
          return [`snapshot ${s.index}/${s.term} ${fmtConf(s.conf)}`];
        } catch (err) {
          return [`error ${(err as Error & { code?: string }).code}: ${(err as Error).message}`];
        }
      }
      case 'transfer':
        try {
          this.node(pos[0]!).raft.transferLeadership(pos[1]!);
          return this.drain(pos[0]!);
        } catch (err) {
          return [`error ${(err as Error & { code?: string }).code}: ${(err as Error).message}`];
        }
      case 'propose': {
        try {
          const { index, term } = this.node(pos[0]!).raft.propose(Buffer.from(pos[1] ?? ''));
          return [`proposed ${index}/${term}`, ...this.drain(pos[0]!)];
        } catch (err) {
          return [`error ${(err as Error & { code?: string }).code}: ${(err as Error).message}`];
        }
      }
      case 'stabilize':
        return this.stabilize();
      case 'step': {
        const head = { from: kv.from ?? '', to: pos[0]!, term: Number(kv.term) };
        const reject = pos.includes('reject');
        if (pos[1] === 'app-resp') {
          this.node(pos[0]!).raft.step({ ...head, type: 'app-resp', index: Number(kv.index), reject, hintTerm: 0, hintIndex: 0 });
        } else if (pos[1] === 'vote-resp') {
          this.node(pos[0]!).raft.step({ ...head, type: 'vote-resp', reject });
        } else {
          throw new Error(`step: unsupported type ${pos[1]}`);
        }
        return this.drain(pos[0]!);
      }
      case 'partition': {
        this.groups.clear();
        args.join(' ').split('|').forEach((g, i) => g.trim().split(/\s+/).forEach((id) => this.groups.set(id, i)));
        return ['ok'];
      }
      case 'heal':
        this.groups.clear();
        return ['ok'];
      case 'status':
        return this.ids.map((id) => {
          const r = this.node(id).raft;
          const l = r.log;
          return `${id}: ${r.role} term=${r.term} vote=${r.vote || '-'} lead=${r.leader || '-'} commit=${l.committed} last=${l.lastIndex()}/${l.lastTerm()}`;
        });
      case 'log':
        return [this.node(pos[0]!).raft.log.all().map(fmtEntry).join(' ') || '(empty)'];
      case 'progress': {
        const r = this.node(pos[0]!).raft;
        return this.ids
          .filter((id) => id !== r.id)
          .map((id) => {
            const p = r.progressOf(id);
            return p === undefined ? `${id}: -` : `${id}: ${p.state} match=${p.match} next=${p.next} inflight=${p.inflight.length}`;
          });
      }
      default:
        throw new Error(`unknown command ${cmd}`);
    }
  }

  private node(id: string): ScriptNode {
    const n = this.nodes.get(id);
    if (n === undefined) throw new Error(`no node ${id}`);
    return n;
  }

  private start(id: string, hardState: HardState, stored: Entry[], conf?: ConfState): void {
    const persisted = { hardState, entries: stored };
    const raft =
      conf === undefined
        ? new Raft({ id, peers: this.ids, rng: zeroRng, config: this.config, persisted })
        : new Raft({ id, conf, rng: zeroRng, config: this.config, persisted });
    this.nodes.set(id, { raft, hardState, stored });
  }

  private attempt(id: string, f: () => { index: number; term: number }): string[] {
    try {
      const { index, term } = f();
      return [`proposed ${index}/${term}`, ...this.drain(id)];
    } catch (err) {
      return [`error ${(err as Error & { code?: string }).code}: ${(err as Error).message}`];
    }
  }

  /** Handles one node's Ready: persist, queue messages, apply; returns the printed lines. */
  private drain(id: string): string[] {
    const n = this.node(id);
    const out: string[] = [];
    while (n.raft.hasReady()) {
      const rd = n.raft.ready();
      if (rd.snapshot !== undefined) {
        n.snapshot = rd.snapshot;
        n.stored = [];
        out.push(`${id} installs snapshot ${rd.snapshot.index}/${rd.snapshot.term} ${fmtConf(rd.snapshot.conf)}`);
      }
      if (rd.hardState !== undefined) n.hardState = rd.hardState;
      const first = rd.entries[0];
      if (first !== undefined) n.stored = n.stored.filter((e) => e.index < first.index).concat(rd.entries);
      if (rd.softState !== undefined) out.push(`${id} is ${rd.softState.role} (lead=${rd.softState.leader || '-'})`);
      for (const m of rd.messages) {
        const dropped = (this.groups.get(m.from) ?? -1) !== (this.groups.get(m.to) ?? -1);
        out.push(fmtMessage(m) + (dropped ? ' DROPPED' : ''));
        if (!dropped) this.pending.push(m);
      }
      if (rd.committedEntries.length > 0) out.push(`${id} applies ${rd.committedEntries.map(fmtEntry).join(' ')}`);
      n.raft.advance(rd);
    }
    return out;
  }

  private stabilize(): string[] {
    const out: string[] = [];
    for (let round = 0; ; round++) {
      if (round > 1000) throw new Error('stabilize: no quiet state after 1000 rounds');
      for (const id of this.ids) out.push(...this.drain(id));
      if (this.pending.length === 0) return out;
      const batch = this.pending;
      this.pending = [];
      for (const m of batch) this.node(m.to).raft.step(m);
    }
  }
}

function fmtConf(c: ConfState): string {
  return `voters=(${c.voters.join(' ')}) learners=(${c.learners.join(' ')})`;
}

function fmtEntry(e: Entry): string {
  if (e.type === 'conf') {
    const cc = decodeConfChange(e.data);
    return `${e.index}/${e.term}:${cc.type}(${cc.node})`;
  }
  return e.data.length === 0 ? `${e.index}/${e.term}` : `${e.index}/${e.term}:${Buffer.from(e.data).toString()}`;
}

export function fmtMessage(m: RaftMessage): string {
  const head = `${m.from}->${m.to} ${m.type} term=${m.term}`;
  switch (m.type) {
    case 'pre-vote':
      return `${head} last=${m.lastIndex}/${m.lastTerm}`;
    case 'vote':
      return `${head} last=${m.lastIndex}/${m.lastTerm}${m.transfer === true ? ' transfer' : ''}`;
    case 'pre-vote-resp':
    case 'vote-resp':
      return m.reject ? `${head} REJECT` : head;
    case 'app':
      return `${head} prev=${m.prevIndex}/${m.prevTerm} commit=${m.commit} entries=[${m.entries.map(fmtEntry).join(' ')}]`;
    case 'app-resp':
      return m.reject ? `${head} REJECT index=${m.index} hint=${m.hintIndex}/${m.hintTerm}` : `${head} index=${m.index}`;
    case 'heartbeat':
      return `${head} commit=${m.commit}`;
    case 'heartbeat-resp':
    case 'timeout-now':
      return head;
    case 'snap':
      return `${head} snapshot=${m.snapshot.index}/${m.snapshot.term} ${fmtConf(m.snapshot.conf)}`;
  }
}

export interface ScriptBlock {
  readonly line: number;
  readonly command: string;
  readonly expected: string;
  actual?: string;
}

/** Parses a script: `command` / `----` / expected lines / blank line; `#` lines outside blocks are comments. */
export function parseScript(text: string): ScriptBlock[] {
  const lines = text.split('\n');
  const blocks: ScriptBlock[] = [];
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i]!;
    if (l.trim() === '' || l.startsWith('#')) continue;
    if (lines[i + 1] !== '----') throw new Error(`line ${i + 2}: expected ----`);
    const start = i;
    const out: string[] = [];
    i += 2;
    while (i < lines.length && lines[i] !== '') out.push(lines[i++]!);
    blocks.push({ line: start + 1, command: l, expected: out.join('\n') });
  }
  return blocks;
}

/** Runs a script file; returns its blocks with actual outputs. With rewrite, writes the actual outputs back. */
export function runScript(path: string, rewrite: boolean): ScriptBlock[] {
  const text = readFileSync(path, 'utf8');
  const blocks = parseScript(text);
  const cluster = new ScriptCluster();
  for (const b of blocks) {
    const [cmd, ...args] = b.command.trim().split(/\s+/);
    b.actual = cluster.run(cmd!, args).join('\n') || 'ok';
  }
  if (rewrite) {
    let out = text;
    for (const b of [...blocks].reverse()) {
      const lines = out.split('\n');
      let end = b.line + 1;
      while (end < lines.length && lines[end] !== '') end++;
      lines.splice(b.line + 1, end - b.line - 1, ...b.actual!.split('\n'));
      out = lines.join('\n');
    }
    writeFileSync(path, out);
  }
  return blocks;
}
