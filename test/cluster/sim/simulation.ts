/**
 * A deterministic simulation of a SWIM cluster: the real SwimNode state machines, a manual clock, an
 * in-memory lossy network (network.ts), crash/restart/leave of nodes. Everything random comes from one
 * seed, and every delivered message and membership event is folded into a running hash, so a test can
 * check that the same seed replays the same run exactly.
 */
import { xxh32 } from '../../../cluster/hash.js';
import { SwimNode } from '../../../cluster/membership/node.js';
import type { GossipMessage, MemberEvent, MemberRecord, MembershipConfig } from '../../../cluster/membership/types.js';
import { EventQueue } from './event-queue.js';
import { SimNetwork, type NetworkOptions } from './network.js';
import { SimRng } from './rng.js';

export interface SimulationOptions extends NetworkOptions {
  readonly seed: number;
  readonly config?: Partial<MembershipConfig>;
}

/** A membership event as seen by one node at one time. */
export interface ObservedEvent {
  readonly time: number;
  readonly observer: string;
  readonly event: MemberEvent;
}

export class Simulation {
  readonly network: SimNetwork;
  private readonly rng: SimRng;
  private readonly queue = new EventQueue();
  private readonly nodes = new Map<string, SwimNode>();
  /** Each running node's scheduled wake-up; a queued wake-up at another time is stale. */
  private readonly wakeAt = new Map<string, number>();
  private readonly addressOf = new Map<string, string>();
  private readonly idAt = new Map<string, string>();
  private readonly listeners: ((e: ObservedEvent) => void)[] = [];
  private time = 0;
  private digest = 0;
  /** Messages delivered, for reporting. */
  delivered = 0;

  constructor(private readonly options: SimulationOptions) {
    this.rng = new SimRng(options.seed);
    this.network = new SimNetwork(this.rng.fork(), options);
  }

  get now(): number {
    return this.time;
  }

  /** A hash of everything that happened so far: equal for two runs of the same scenario and seed. */
  get hash(): number {
    return this.digest;
  }

  onEvent(listener: (e: ObservedEvent) => void): void {
    this.listeners.push(listener);
  }

  /**
   * Starts a node (again, if it crashed: same id and address) and joins it via seeds. Its starting
   * incarnation is the clock, as a real driver's would be, unless a test passes one (a clock set back).
   */
  start(id: string, seeds: readonly string[] = [], meta: Record<string, string> = {}, incarnation = this.time): SwimNode {
    if (this.nodes.has(id)) throw new Error(`${id} is already running`);
    const address = this.addressOf.get(id) ?? `${id}:7000`;
    this.addressOf.set(id, address);
    this.idAt.set(address, id);
    const node = new SwimNode({ id, address, meta, incarnation, rng: this.rng.fork(), now: this.time, config: this.options.config });
    this.nodes.set(id, node);
    node.join(seeds, this.time);
    this.flush(id, node);
    return node;
  }

  /** Stops a node without a word (kill -9): its state is lost, messages to it vanish. */
  crash(id: string): void {
    this.nodes.delete(id);
    this.wakeAt.delete(id);
    this.record(`crash ${id}`);
  }

  /** Graceful leave: the node runs on until its `left` record is disseminated (at most `maxLingerMs`), then stops. */
  leave(id: string, maxLingerMs = 10_000): void {
    const node = this.running(id);
    node.leave(this.time);
    this.flush(id, node);
    const deadline = this.time + maxLingerMs;
    const check = (): void => {
      if (this.nodes.get(id) !== node) return;
      if (node.leaveDisseminated() || this.time >= deadline) this.crash(id);
      else this.queue.push(this.time + 250, check);
    };
    this.queue.push(this.time + 250, check);
  }

  /** A node publishes new metadata. */
  setMeta(id: string, meta: Record<string, string>): void {
    const node = this.running(id);
    node.setMeta(meta, this.time);
    this.flush(id, node);
  }

  address(id: string): string {
    const a = this.addressOf.get(id);
    if (a === undefined) throw new Error(`unknown node ${id}`);
    return a;
  }

  running(id: string): SwimNode {
    const node = this.nodes.get(id);
    if (node === undefined) throw new Error(`${id} is not running`);
    return node;
  }

  isRunning(id: string): boolean {
    return this.nodes.has(id);
  }

  runningIds(): string[] {
    return [...this.nodes.keys()];
  }

  /** What running node `observer` believes of `member`. */
  view(observer: string, member: string): MemberRecord | undefined {
    return this.running(observer).member(member);
  }

  /** Runs the simulation until `until` (inclusive), or earlier when `stop` returns true after a step. */
  runUntil(until: number, stop?: () => boolean): void {
    while (this.queue.peekTime() <= until) {
      const e = this.queue.pop()!;
      this.time = e.time;
      e.run();
      if (stop?.()) return;
    }
    this.time = Math.max(this.time, until);
  }

  runFor(ms: number, stop?: () => boolean): void {
    this.runUntil(this.time + ms, stop);
  }

  private deliver(fromId: string, to: string, message: GossipMessage): void {
    const toId = this.idAt.get(to);
    const node = toId === undefined ? undefined : this.nodes.get(toId);
    if (node === undefined || toId === undefined) return;
    this.delivered++;
    this.record(`${fromId}>${toId} ${message.type} ${'seq' in message ? message.seq : ''}`);
    node.receive(this.address(fromId), message, this.time);
    this.flush(toId, node);
  }

  private wake(id: string, at: number): void {
    const node = this.nodes.get(id);
    if (node === undefined || this.wakeAt.get(id) !== at) return;
    this.wakeAt.delete(id);
    node.tick(this.time);
    this.flush(id, node);
  }

  /** Routes a node's outputs and schedules its next tick. */
  private flush(id: string, node: SwimNode): void {
    const { messages, events } = node.ready();
    for (const { to, message } of messages) {
      const toId = this.idAt.get(to);
      const delay = toId === undefined ? undefined : this.network.route(id, toId);
      if (delay !== undefined) this.queue.push(this.time + delay, () => this.deliver(id, to, message));
    }
    for (const event of events) {
      const m = event.member;
      this.record(`${id} sees ${m.id} ${event.previous ?? 'new'}->${m.state}@${m.incarnation}`);
      for (const l of this.listeners) l({ time: this.time, observer: id, event });
    }
    const next = Math.max(node.nextDeadline(), this.time);
    const scheduled = this.wakeAt.get(id);
    if (next !== Infinity && (scheduled === undefined || next < scheduled)) {
      this.wakeAt.set(id, next);
      this.queue.push(next, () => this.wake(id, next));
    }
  }

  private record(line: string): void {
    this.digest = xxh32(`${this.time} ${line}`, this.digest);
  }
}
