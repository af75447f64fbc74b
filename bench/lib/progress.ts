/**
 * Progress of a bench phase on stderr: on a terminal, one bar redrawn in place a few times a second;
 * otherwise (CI logs, pipes) a plain line every `plainEveryMs`, so logs stay readable.
 *
 * The caller says how far along the phase is (`fraction`) and what to show beside it; the clock and the
 * output stream are injected.
 */
export interface ProgressOptions {
  out?: NodeJS.WriteStream | { isTTY?: boolean; columns?: number; write(s: string): boolean };
  now?: () => number;
  /** Redraw period on a terminal (ms). */
  ttyEveryMs?: number;
  /** Line period when not a terminal (ms). */
  plainEveryMs?: number;
}

export type ProgressSample = () => { fraction: number; text: string };

export class Progress {
  private readonly out: NonNullable<ProgressOptions['out']>;
  private readonly now: () => number;
  private readonly tty: boolean;
  private readonly every: number;
  private timer: NodeJS.Timeout | undefined;
  private drawn = false;

  constructor(options: ProgressOptions = {}) {
    this.out = options.out ?? process.stderr;
    this.now = options.now ?? Date.now;
    this.tty = this.out.isTTY === true;
    this.every = this.tty ? (options.ttyEveryMs ?? 200) : (options.plainEveryMs ?? 5000);
  }

  /** Starts reporting `label`, sampling `sample` every period until stop(). */
  start(label: string, sample: ProgressSample): void {
    this.stop();
    const started = this.now();
    if (!this.tty) this.out.write(`${label} ...\n`);
    const tick = () => {
      const s = sample();
      const secs = ((this.now() - started) / 1000).toFixed(0);
      if (this.tty) {
        const cols = this.out.columns ?? 0; // 0 when the terminal does not say
        this.out.write(`\r${renderBar(label, s.fraction, `${secs}s ${s.text}`, cols > 0 ? cols : 100)}`);
        this.drawn = true;
      } else {
        this.out.write(`  ${label} ${Math.round(s.fraction * 100)}% ${secs}s ${s.text}\n`);
      }
    };
    this.timer = setInterval(tick, this.every);
    this.timer.unref();
  }

  /** Stops and clears the bar (a terminal) so the caller's next line starts clean. */
  stop(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
    if (this.drawn) this.out.write('\r\x1b[2K');
    this.drawn = false;
  }
}

/** `label [#########.........]  45% text`, cut to `width` columns. */
export function renderBar(label: string, fraction: number, text: string, width: number): string {
  const f = Math.max(0, Math.min(1, Number.isFinite(fraction) ? fraction : 0));
  const cells = 30;
  const full = Math.round(f * cells);
  const line = `${label} [${'#'.repeat(full)}${'.'.repeat(cells - full)}] ${String(Math.round(f * 100)).padStart(3)}% ${text}`;
  return line.length > width - 1 ? line.slice(0, Math.max(0, width - 1)) : line;
}
