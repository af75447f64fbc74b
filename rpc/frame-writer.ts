import type { Socket } from 'node:net';

/**
 * Coalesces the frames written during one event-loop turn into a single socket write (fewer syscalls
 * and packets under load), and says when the socket is backed up so callers stop producing.
 */
export class FrameWriter {
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private scheduled = false;
  private readonly flushBound = () => this.flush();

  constructor(
    private readonly socket: Socket,
    /** Above this many queued bytes (ours plus the socket's) `blocked` is true. */
    private readonly highWaterMark = 256 * 1024,
  ) {}

  write(frame: Buffer): void {
    this.pending.push(frame);
    this.pendingBytes += frame.length;
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(this.flushBound);
    }
  }

  flush(): void {
    this.scheduled = false;
    if (this.pendingBytes === 0 || this.socket.destroyed) {
      this.pending = [];
      this.pendingBytes = 0;
      return;
    }
    const out = this.pending.length === 1 ? this.pending[0]! : Buffer.concat(this.pending, this.pendingBytes);
    this.pending = [];
    this.pendingBytes = 0;
    this.socket.write(out);
  }

  /** Bytes accepted but not yet handed to the kernel. */
  get bufferedBytes(): number {
    return this.pendingBytes + this.socket.writableLength;
  }

  /** True while the peer reads slower than we write: stop taking new work until 'drain'. */
  get blocked(): boolean {
    return this.bufferedBytes > this.highWaterMark;
  }
}
