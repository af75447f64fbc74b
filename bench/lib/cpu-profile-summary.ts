/**
 * The busiest functions of a V8 CPU profile (`node --cpu-prof`), by self time: what profile:cluster
 * prints per node beside its flame graph. Pure: takes the parsed profile, returns rows.
 */

/** The parts of V8's .cpuprofile JSON this reads. */
export interface CpuProfile {
  nodes: { id: number; callFrame: { functionName: string; url: string; lineNumber: number } }[];
  samples: number[];
  timeDeltas: number[];
}

export interface SelfTimeRow {
  /** "name file:line" (file as its last two path parts), or a V8 pseudo-frame such as "(garbage collector)". */
  frame: string;
  /** Share of the busy time (every sample but "(idle)"), 0..1. */
  share: number;
  ms: number;
}

/** The `top` frames by self time, and the busy (non-idle) milliseconds they are shares of. */
export function selfTimeTop(profile: CpuProfile, top: number): { busyMs: number; rows: SelfTimeRow[] } {
  const frames = new Map<number, string>();
  for (const n of profile.nodes) {
    const c = n.callFrame;
    const file = c.url === '' ? '' : ` ${c.url.split('/').slice(-2).join('/')}:${c.lineNumber + 1}`;
    frames.set(n.id, `${c.functionName === '' ? '(anonymous)' : c.functionName}${file}`);
  }
  const self = new Map<string, number>();
  let busy = 0;
  for (let i = 0; i < profile.samples.length; i++) {
    const frame = frames.get(profile.samples[i]!) ?? '(unknown)';
    if (frame === '(idle)') continue;
    const us = profile.timeDeltas[i] ?? 0;
    busy += us;
    self.set(frame, (self.get(frame) ?? 0) + us);
  }
  const rows = [...self]
    .sort((a, b) => b[1] - a[1])
    .slice(0, top)
    .map(([frame, us]) => ({ frame, share: busy === 0 ? 0 : us / busy, ms: us / 1000 }));
  return { busyMs: busy / 1000, rows };
}
