/**
 * One directed network link of the fault harness: node A's connections to peer B go through their own
 * LinkProxy (tools/dial-map.ts points A there), which forwards them to B. The harness can
 *   - cut it: open connections are reset and new ones are accepted but never forwarded (a black hole:
 *     A's requests to B time out, as across a real partition, instead of failing fast); healing resets
 *     the held connections so that A reconnects through a working link;
 *   - delay it: every chunk, both ways, is held `delayMs` before it is passed on (order kept).
 * Cutting A→B leaves B→A (another LinkProxy) working: that is a one-way partition. Bytes are never
 * dropped from the middle of a live connection (TCP would not lose them either): a connection either
 * carries everything in order or is reset.
 */
import { createServer, connect, type Server, type Socket } from 'node:net';

export class LinkProxy {
  private server: Server | undefined;
  private readonly live = new Set<Socket>();
  private readonly held = new Set<Socket>();
  private cutNow = false;
  private delayMs = 0;
  /** Connections accepted, for the report. */
  accepted = 0;

  private constructor(
    readonly from: string,
    readonly to: string,
    private readonly target: { host: string; port: number },
  ) {}

  /** Listens on 127.0.0.1, any free port, forwarding to `target`. */
  static async start(from: string, to: string, target: { host: string; port: number }): Promise<LinkProxy> {
    const p = new LinkProxy(from, to, target);
    const server = createServer((socket) => p.accept(socket));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    p.server = server;
    return p;
  }

  get port(): number {
    const a = this.server?.address();
    if (a === null || a === undefined || typeof a === 'string') throw new Error('the proxy is not listening');
    return a.port;
  }

  get isCut(): boolean {
    return this.cutNow;
  }

  /** Partitions the link: resets what is open, holds new connections silently. */
  cut(): void {
    this.cutNow = true;
    for (const s of this.live) s.destroy();
  }

  /** Heals the link: held connections are reset, so the dialler reconnects and gets through. */
  heal(): void {
    this.cutNow = false;
    for (const s of this.held) s.destroy();
    this.held.clear();
  }

  /** Delays every chunk by `ms` from now on (0: none). */
  setDelay(ms: number): void {
    this.delayMs = ms;
  }

  async stop(): Promise<void> {
    for (const s of [...this.live, ...this.held]) s.destroy();
    await new Promise<void>((resolve) => (this.server === undefined ? resolve() : this.server.close(() => resolve())));
  }

  private accept(client: Socket): void {
    this.accepted++;
    client.on('error', () => undefined);
    if (this.cutNow) {
      this.held.add(client);
      client.on('close', () => this.held.delete(client));
      client.resume(); // swallow what it sends
      return;
    }
    const upstream = connect({ host: this.target.host, port: this.target.port, noDelay: true });
    upstream.on('error', () => undefined);
    client.setNoDelay(true);
    for (const s of [client, upstream]) {
      this.live.add(s);
      s.on('close', () => {
        this.live.delete(s);
        client.destroy();
        upstream.destroy();
      });
    }
    this.pipe(client, upstream);
    this.pipe(upstream, client);
  }

  /** Forwards `from`'s bytes to `to`, each chunk after the delay in force when it arrived. */
  private pipe(from: Socket, to: Socket): void {
    let last = 0; // when the previous chunk goes out: a later chunk never overtakes it
    from.on('data', (chunk: Buffer) => {
      if (this.delayMs <= 0 && last <= Date.now()) {
        to.write(chunk);
        return;
      }
      const at = Math.max(Date.now() + this.delayMs, last);
      last = at;
      setTimeout(() => {
        if (!to.destroyed) to.write(chunk);
      }, at - Date.now());
    });
  }
}
