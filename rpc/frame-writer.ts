import type { Socket } from 'node:net';

/**
 * Coalesces the frames written during one event-loop turn into a single socket write (fewer syscalls
 * and packets under load), and says when the socket is backed up so callers stop producing.
 *
 * `onWritable` is called whenever room may have opened: after each flush that leaves us below the
 * high-water mark, and on the socket's 'drain'. Both are needed: a flush the kernel absorbs at once
 * never makes the socket emit 'drain', and a caller paused on our own mark would wait forever.
 */
export class FrameWriter {
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private scheduled = false;
  private readonly flushBound = () => this.flush();

  constructor(
    private readonly socket: Socket,
    private readonly onWritable: () => void,
    /** Above this many queued bytes (ours plus the socket's) `blocked` is true. */
    private readonly highWaterMark = 256 * 1024,
  ) {
    socket.on('drain', onWritable);
  }

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
    if (!this.blocked) this.onWritable();
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
