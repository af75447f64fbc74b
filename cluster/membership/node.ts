/**
 * SwimNode: the SWIM membership protocol of one node as a pure state machine (no I/O, no clock, no
 * randomness of its own). In the etcd-raft style the driver feeds it inputs — `tick(now)`,
 * `receive(fromAddress, message, now)`, `join(seeds, now)`, `leave(now)` — and collects its outputs with
 * `ready()`: messages to send (with destination addresses) and membership change events. `nextDeadline()`
 * says when `tick` must next run.
 *
 * Protocol (SWIM, with memberlist's and Lifeguard's refinements):
 * - Every probe interval, ping the next member of a shuffled round-robin list. No ack within
 *   probeTimeout → ask k others to ping it (ping-req). Still no ack by the end of the interval → suspect.
 * - A suspect that does not refute within the suspicion timeout (∝ log n) is declared dead. A node told
 *   it is suspected (or dead) refutes by raising its incarnation past the rumour and gossiping alive.
 *   When probing a suspect, its own record rides on the ping so it learns of the suspicion at once
 *   (Lifeguard's "buddy system").
 * - Changes piggy-back on pings, ping-reqs and acks, each about λ·log(n) times (dissemination.ts).
 * - Push-pull: a full-state exchange with one random live member every pushPullInterval, with the seeds
 *   on join, and with one random dead member every reconnectInterval, so two sides of a healed partition
 *   find each other again (serf's reconnect).
 * - Graceful leave: the node marks itself left and tells leaveFanout members directly besides gossiping.
 *
 * Incarnation on restart: the driver passes a starting incarnation that is larger than any the node used
 * before — by default the wall-clock time in milliseconds at start (see `SwimNodeOptions.incarnation`). A
 * restarted node's `alive` then beats its old suspect/dead/left records immediately, with no round trip.
 * Refutations add 1 per suspicion, far fewer than the milliseconds between two starts. If the clock was
 * set back, peers still hold a higher incarnation for us and the refutation rule below lifts ours past
 * theirs: the timestamp is an optimisation, the refutation flow is what guarantees correctness.
 */
import { DisseminationQueue } from './dissemination.js';
import { MemberTable } from './member-table.js';
import { pickRandom, ProbeSchedule } from './probe-schedule.js';
import { retransmitLimit, SuspicionTimers } from './suspicion.js';
import {
  DEFAULT_CONFIG,
  type GossipMessage,
  type MemberEvent,
  type MemberRecord,
  type MembershipConfig,
  type Outbound,
  type Random,
} from './types.js';

/** Most indirect probes this node runs for others at once. */
const MAX_RELAYS = 1024;

export interface SwimNodeOptions {
  readonly id: string;
  /** host:port this node's RPC listener is reachable at. */
  readonly address: string;
  readonly meta?: Readonly<Record<string, string>>;
  /**
   * Starting incarnation: must exceed any incarnation this node id used in an earlier life. Drivers pass
   * Date.now() (or a persisted counter + 1); the simulator passes its clock.
   */
  readonly incarnation: number;
  readonly rng: Random;
  readonly now: number;
  readonly config?: Partial<MembershipConfig>;
}

/** The probe in progress. */
interface Probe {
  readonly target: string;
  readonly seq: number;
  readonly indirectAt: number;
  readonly endAt: number;
  indirectSent: boolean;
  acked: boolean;
}

/** A ping this node sends on behalf of another (ping-req); its ack is forwarded back. */
interface Relay {
  readonly to: string;
  readonly seq: number;
  readonly expiresAt: number;
}

export class SwimNode {
  readonly id: string;
  readonly config: MembershipConfig;
  private readonly rng: Random;
  private readonly table = new MemberTable();
  private readonly queue = new DisseminationQueue();
  private readonly schedule: ProbeSchedule;
  private readonly suspicions = new SuspicionTimers();
  private readonly relays = new Map<number, Relay>();
  private outbox: Outbound[] = [];
  private events: MemberEvent[] = [];
  private probe: Probe | undefined;
  private seq = 0;
  private seeds: string[] = [];
  private nextProbeAt: number;
  private nextPushPullAt: number;
  private nextReconnectAt: number;
  private leaving = false;

  constructor(options: SwimNodeOptions) {
    this.id = options.id;
    this.rng = options.rng;
    this.config = { ...DEFAULT_CONFIG, ...options.config };
    this.schedule = new ProbeSchedule(this.rng);
    const self: MemberRecord = {
      id: options.id,
      address: options.address,
      incarnation: options.incarnation,
      state: 'alive',
      meta: { ...options.meta },
    };
    this.table.set(self, options.now);
    // Spread the first probe over one interval so that nodes started together do not probe in lockstep.
    this.nextProbeAt = options.now + Math.floor(this.rng.next() * this.config.probeIntervalMs);
    this.nextPushPullAt = options.now + this.config.pushPullIntervalMs;
    this.nextReconnectAt = options.now + this.config.reconnectIntervalMs;
  }

  // ---- inputs ------------------------------------------------------------------------------------

  /** Contacts the seeds with a full-state exchange; retried every probe interval while alone. */
  join(seeds: readonly string[], _now: number): void {
    this.seeds = seeds.filter((s) => s !== this.self.address);
    for (const to of this.seeds) this.send(to, { type: 'push-pull', from: this.id, join: true, members: this.table.all() });
  }

  /**
   * Graceful leave: gossip `left`. The node keeps pinging (its pings carry the news) but suspects nobody;
   * the driver keeps it running until `leaveDisseminated()` (or a timeout), then stops it.
   */
  leave(now: number): void {
    if (this.leaving) return;
    this.leaving = true;
    this.table.set({ ...this.self, state: 'left' }, now);
    this.queue.enqueue(this.id);
    const peers = this.table.inStates('alive', 'suspect').filter((m) => m.id !== this.id);
    for (const peer of pickRandom(peers, this.config.leaveFanout, this.rng)) {
      this.send(peer.address, { type: 'gossip', from: this.id, updates: [this.self] });
    }
    this.probe = undefined;
  }

  /** After `leave()`: whether the `left` record has been piggy-backed its full number of times. */
  leaveDisseminated(): boolean {
    return this.leaving && !this.queue.has(this.id);
  }

  /** Publishes new metadata (zone, status...): a new incarnation so it supersedes the old record. */
  setMeta(meta: Readonly<Record<string, string>>, now: number): void {
    this.table.set({ ...this.self, incarnation: this.self.incarnation + 1, meta: { ...meta } }, now);
    this.queue.enqueue(this.id);
  }

  tick(now: number): void {
    const probe = this.probe;
    if (probe !== undefined && !probe.acked && !this.leaving) {
      if (!probe.indirectSent && now >= probe.indirectAt) this.probeIndirectly(probe);
      if (now >= probe.endAt) this.suspect(probe.target, now);
    }
    if (probe !== undefined && now >= probe.endAt) this.probe = undefined;
    if (now >= this.nextProbeAt) {
      this.startProbe(now);
      this.nextProbeAt = Math.max(this.nextProbeAt + this.config.probeIntervalMs, now + 1);
    }
    if (this.leaving) return;
    for (const { id, incarnation } of this.suspicions.expired(now)) {
      const m = this.table.get(id);
      if (m?.state === 'suspect' && m.incarnation === incarnation) this.update({ ...m, state: 'dead' }, now);
    }
    if (now >= this.nextPushPullAt) {
      this.nextPushPullAt = now + this.config.pushPullIntervalMs;
      this.pushPullWithRandomMember(now);
    }
    if (now >= this.nextReconnectAt) {
      this.nextReconnectAt = now + this.config.reconnectIntervalMs;
      const dead = this.table.inStates('dead');
      const [peer] = pickRandom(dead, 1, this.rng);
      if (peer !== undefined) this.send(peer.address, { type: 'push-pull', from: this.id, join: false, members: this.table.all() });
    }
  }

  receive(fromAddress: string, message: GossipMessage, now: number): void {
    switch (message.type) {
      case 'ping':
        this.merge(message.updates, now);
        // Another node may now live at the address we were pinged on: only the named target answers.
        if (message.target !== this.id) return;
        this.send(fromAddress, { type: 'ack', from: this.id, seq: message.seq, updates: this.piggyback() });
        return;
      case 'ping-req': {
        this.merge(message.updates, now);
        if (this.relays.size >= MAX_RELAYS) return; // bounded: a flood of ping-reqs cannot grow memory
        const seq = ++this.seq;
        this.relays.set(seq, { to: fromAddress, seq: message.seq, expiresAt: now + this.config.probeIntervalMs });
        this.send(message.targetAddress, { type: 'ping', from: this.id, seq, target: message.target, updates: this.piggyback() });
        return;
      }
      case 'ack': {
        this.merge(message.updates, now);
        if (this.probe !== undefined && this.probe.seq === message.seq) {
          this.probe.acked = true;
          return;
        }
        const relay = this.relays.get(message.seq);
        if (relay === undefined) return;
        this.relays.delete(message.seq);
        if (relay.expiresAt >= now) this.send(relay.to, { type: 'ack', from: this.id, seq: relay.seq, updates: this.piggyback() });
        return;
      }
      case 'push-pull':
        this.mergeState(message.from, message.members, now);
        this.send(fromAddress, { type: 'push-pull-reply', from: this.id, members: this.table.all() });
        return;
      case 'push-pull-reply':
        this.mergeState(message.from, message.members, now);
        return;
      case 'gossip':
        this.merge(message.updates, now);
        return;
    }
  }

  // ---- outputs and queries ---------------------------------------------------------------------------

  /** Hands over (and clears) the messages to send and the membership events since the last call. */
  ready(): { messages: Outbound[]; events: MemberEvent[] } {
    const out = { messages: this.outbox, events: this.events };
    this.outbox = [];
    this.events = [];
    return out;
  }

  /** The next time `tick` has work to do. */
  nextDeadline(): number {
    if (this.leaving) return this.nextProbeAt;
    let next = Math.min(this.nextProbeAt, this.nextPushPullAt, this.nextReconnectAt, this.suspicions.nextDeadline());
    const p = this.probe;
    if (p !== undefined && !p.acked) next = Math.min(next, p.indirectSent ? p.endAt : p.indirectAt);
    return next;
  }

  get self(): MemberRecord {
    return this.table.get(this.id)!;
  }

  get hasLeft(): boolean {
    return this.leaving;
  }

  member(id: string): MemberRecord | undefined {
    return this.table.get(id);
  }

  /** Every member this node knows of, itself included, dead and left ones too. */
  members(): MemberRecord[] {
    return this.table.all();
  }

  /** Alive and suspect members, itself included unless it left: the ring's input until Raft owns the member list. */
  liveMembers(): MemberRecord[] {
    return this.table.inStates('alive', 'suspect');
  }

  // ---- probing -------------------------------------------------------------------------------------

  private startProbe(now: number): void {
    this.expireRelays(now);
    this.reclaim(now);
    const probeable = (id: string): boolean => {
      const s = this.table.get(id)?.state;
      return id !== this.id && (s === 'alive' || s === 'suspect');
    };
    const target = this.schedule.next(probeable, () => this.table.ids().filter(probeable));
    if (target === undefined) {
      // Alone (the seeds were down, or our join was lost): ask the seeds again every probe interval.
      if (this.seeds.length > 0 && !this.leaving) this.join(this.seeds, now);
      return;
    }
    const member = this.table.get(target)!;
    const seq = ++this.seq;
    this.probe = {
      target,
      seq,
      indirectAt: now + this.config.probeTimeoutMs,
      endAt: now + this.config.probeIntervalMs,
      indirectSent: false,
      acked: false,
    };
    const updates = this.piggyback();
    // Buddy system: a suspect learns of its suspicion from the prober itself, and can refute at once.
    if (member.state === 'suspect' && !updates.some((u) => u.id === target)) updates.unshift(member);
    this.send(member.address, { type: 'ping', from: this.id, seq, target, updates });
  }

  private probeIndirectly(probe: Probe): void {
    probe.indirectSent = true;
    const target = this.table.get(probe.target);
    if (target === undefined) return;
    const helpers = this.table.inStates('alive').filter((m) => m.id !== this.id && m.id !== probe.target);
    for (const helper of pickRandom(helpers, this.config.indirectProbes, this.rng)) {
      this.send(helper.address, {
        type: 'ping-req',
        from: this.id,
        seq: probe.seq,
        target: probe.target,
        targetAddress: target.address,
        updates: this.piggyback(),
      });
    }
  }

  /** Our probe of `id` failed: suspect it, or confirm (and re-gossip as ours) an existing suspicion. */
  private suspect(id: string, now: number): void {
    const m = this.table.get(id);
    if (m?.state === 'alive') {
      this.update({ ...m, state: 'suspect', suspectedBy: this.id }, now);
    } else if (m?.state === 'suspect' && this.suspicions.confirm(id, m.incarnation, this.id)) {
      this.table.set({ ...m, suspectedBy: this.id }, now);
      this.queue.enqueue(id);
    }
  }

  private pushPullWithRandomMember(now: number): void {
    const peers = this.table.inStates('alive', 'suspect').filter((m) => m.id !== this.id);
    const [peer] = pickRandom(peers, 1, this.rng);
    if (peer !== undefined) {
      this.send(peer.address, { type: 'push-pull', from: this.id, join: false, members: this.table.all() });
    } else if (this.seeds.length > 0) {
      this.join(this.seeds, now);
    }
  }

  // ---- applying membership news ------------------------------------------------------------------------

  private merge(updates: readonly MemberRecord[], now: number): void {
    for (const u of updates) this.learn(u, now);
  }

  /**
   * A peer's full state. Its `dead` verdicts become suspicions here (memberlist does the same): we give the
   * member a chance to refute instead of trusting a verdict that may be stale, e.g. from across a partition.
   */
  private mergeState(from: string, members: readonly MemberRecord[], now: number): void {
    for (const m of members) {
      this.learn(m.state === 'dead' && m.id !== this.id ? { ...m, state: 'suspect', suspectedBy: from } : m, now);
    }
  }

  private learn(record: MemberRecord, now: number): void {
    if (record.id === this.id) {
      this.refute(record, now);
      return;
    }
    const current = this.table.get(record.id);
    if (record.state === 'suspect' && current?.state === 'suspect' && record.incarnation === current.incarnation) {
      if (record.suspectedBy !== undefined) this.suspicions.confirm(record.id, record.incarnation, record.suspectedBy);
      return;
    }
    const result = this.table.apply(record, now);
    if (result.changed) this.changed(record, result.previous, now);
  }

  /** A rumour about this node: if it could override our own record, out-bid it with a higher incarnation. */
  private refute(rumour: MemberRecord, now: number): void {
    if (this.leaving) return;
    const self = this.self;
    const threatens = rumour.state === 'alive' ? rumour.incarnation > self.incarnation : rumour.incarnation >= self.incarnation;
    if (!threatens) return;
    this.table.set({ ...withoutSuspector(self), incarnation: rumour.incarnation + 1 }, now);
    this.queue.enqueue(this.id);
  }

  /** Records a verdict reached locally (suspect, dead) and spreads it. */
  private update(record: MemberRecord, now: number): void {
    if (record.state !== 'suspect') record = withoutSuspector(record);
    const previous = this.table.get(record.id);
    this.table.set(record, now);
    this.changed(record, previous, now);
  }

  private changed(record: MemberRecord, previous: MemberRecord | undefined, now: number): void {
    this.queue.enqueue(record.id);
    this.events.push({ member: record, previous: previous?.state });
    if (record.state === 'suspect') {
      this.suspicions.start(record.id, record.incarnation, record.suspectedBy ?? '', now, this.config, this.table.liveCount());
    } else {
      this.suspicions.cancel(record.id);
    }
    if (record.state === 'alive' && previous?.state !== 'alive' && previous?.state !== 'suspect') this.schedule.add(record.id);
    if (record.state !== 'alive' && record.state !== 'suspect' && this.probe?.target === record.id) this.probe = undefined;
  }

  private piggyback(): MemberRecord[] {
    const limit = retransmitLimit(this.config, this.table.liveCount());
    const out: MemberRecord[] = [];
    for (const id of this.queue.take(this.config.maxPiggyback, limit)) {
      const m = this.table.get(id);
      if (m !== undefined) out.push(m);
    }
    return out;
  }

  private send(to: string, message: GossipMessage): void {
    this.outbox.push({ to, message });
  }

  private expireRelays(now: number): void {
    for (const [seq, relay] of this.relays) if (relay.expiresAt < now) this.relays.delete(seq);
  }

  /** Forgets dead and left members after reclaimMs. */
  private reclaim(now: number): void {
    for (const m of this.table.inStates('dead', 'left')) {
      if (now - (this.table.since(m.id) ?? now) >= this.config.reclaimMs) this.table.remove(m.id);
    }
  }
}

function withoutSuspector(record: MemberRecord): MemberRecord {
  if (record.suspectedBy === undefined) return record;
  const { suspectedBy: _, ...rest } = record;
  return rest;
}
