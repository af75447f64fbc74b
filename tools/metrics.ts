/**
 * A small Prometheus registry: counters and gauges (updated directly, or read from a callback at scrape
 * time: the node samples the stats its modules already keep instead of mirroring every update) and
 * histograms with fixed buckets, rendered in the text exposition format 0.0.4
 * (https://prometheus.io/docs/instrumenting/exposition_formats/). Label values and HELP text are
 * escaped as that format requires. Bad names or label sets throw MetricsError (METRICS_INVALID), at
 * registration or at the call that uses them, never at scrape time.
 */

export class MetricsError extends Error {
  readonly code = 'METRICS_INVALID';
  constructor(message: string) {
    super(message);
    this.name = 'MetricsError';
  }
}

export type Labels = Readonly<Record<string, string | number>>;

/** A scrape-time callback: the current series of a counter or gauge. */
export type Collect = () => Array<{ labels?: Labels; value: number }>;

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/** Latency buckets in seconds, 0.5 ms to 10 s. */
export const LATENCY_BUCKETS: readonly number[] = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

export function escapeHelp(s: string): string {
  return s.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}

export function escapeLabelValue(s: string): string {
  return s.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

export function formatValue(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  return String(v);
}

abstract class Metric {
  protected readonly series = new Map<string, { labels: string; value: number }>();
  constructor(
    readonly name: string,
    readonly help: string,
    readonly labelNames: readonly string[],
  ) {
    if (!METRIC_NAME.test(name)) throw new MetricsError(`bad metric name ${JSON.stringify(name)}`);
    for (const l of labelNames) {
      if (!LABEL_NAME.test(l) || l.startsWith('__')) throw new MetricsError(`${name}: bad label name ${JSON.stringify(l)}`);
    }
    if (new Set(labelNames).size !== labelNames.length) throw new MetricsError(`${name}: duplicate label names`);
  }

  abstract readonly type: 'counter' | 'gauge' | 'histogram';

  /** The `{a="x",b="y"}` part of a series line, checked against the declared label names. */
  protected labelText(labels: Labels | undefined, extra = ''): string {
    const given = labels === undefined ? [] : Object.keys(labels);
    if (given.length !== this.labelNames.length || given.some((k) => !this.labelNames.includes(k))) {
      throw new MetricsError(`${this.name}: labels {${given.join(',')}} do not match the declared {${this.labelNames.join(',')}}`);
    }
    const parts = this.labelNames.map((k) => `${k}="${escapeLabelValue(String(labels?.[k]))}"`);
    if (extra !== '') parts.push(extra);
    return parts.length === 0 ? '' : `{${parts.join(',')}}`;
  }

  protected add(labels: Labels | undefined, delta: number, set = false): void {
    const text = this.labelText(labels);
    const s = this.series.get(text);
    if (s === undefined) this.series.set(text, { labels: text, value: delta });
    else s.value = set ? delta : s.value + delta;
  }

  /**
   * Replaces the series with what `collect` returns. A callback that throws (a store closing during
   * shutdown) leaves the metric without series for this scrape rather than failing the whole scrape.
   */
  protected sample(collect: Collect): void {
    this.series.clear();
    let samples: ReturnType<Collect>;
    try {
      samples = collect();
    } catch {
      return;
    }
    for (const s of samples) this.add(s.labels, s.value, true);
  }

  render(): string[] {
    const lines = [`# HELP ${this.name} ${escapeHelp(this.help)}`, `# TYPE ${this.name} ${this.type}`];
    for (const s of this.series.values()) lines.push(`${this.name}${s.labels} ${formatValue(s.value)}`);
    return lines;
  }
}

/** A counter or gauge: with `collect`, its series are whatever that returns at each scrape (values kept elsewhere). */
abstract class SampledMetric extends Metric {
  constructor(
    name: string,
    help: string,
    labelNames: readonly string[],
    private readonly collect?: Collect,
  ) {
    super(name, help, labelNames);
  }
  override render(): string[] {
    if (this.collect !== undefined) this.sample(this.collect);
    return super.render();
  }
}

export class Counter extends SampledMetric {
  readonly type = 'counter';
  inc(labels?: Labels, by = 1): void {
    if (!(by >= 0)) throw new MetricsError(`${this.name}: a counter only goes up (got ${by})`);
    this.add(labels, by);
  }
  get(labels?: Labels): number {
    return this.series.get(this.labelText(labels))?.value ?? 0;
  }
}

export class Gauge extends SampledMetric {
  readonly type = 'gauge';
  set(labels: Labels | undefined, value: number): void {
    this.add(labels, value, true);
  }
  inc(labels?: Labels, by = 1): void {
    this.add(labels, by);
  }
}

/** One series of a histogram as Histogram.snapshot() returns it. */
export interface HistogramSeries {
  labels: Labels;
  /** counts[i]: observations <= buckets[i] (cumulative, as in the text format). */
  counts: number[];
  sum: number;
  count: number;
}

export class Histogram extends Metric {
  readonly type = 'histogram';
  readonly buckets: readonly number[];
  private readonly data = new Map<string, { labels: Labels | undefined; counts: number[]; sum: number; count: number }>();
  constructor(name: string, help: string, labelNames: readonly string[], buckets: readonly number[] = LATENCY_BUCKETS) {
    super(name, help, labelNames);
    if (labelNames.includes('le')) throw new MetricsError(`${name}: "le" is reserved in histograms`);
    if (buckets.length === 0 || buckets.some((b, i) => !Number.isFinite(b) || (i > 0 && b <= buckets[i - 1]!))) {
      throw new MetricsError(`${name}: buckets must be finite and strictly increasing`);
    }
    this.buckets = [...buckets];
  }
  observe(labels: Labels | undefined, value: number): void {
    const key = this.labelText(labels);
    let d = this.data.get(key);
    if (d === undefined) {
      d = { labels, counts: this.buckets.map(() => 0), sum: 0, count: 0 };
      this.data.set(key, d);
    }
    for (let i = 0; i < this.buckets.length; i++) if (value <= this.buckets[i]!) d.counts[i]!++;
    d.sum += value;
    d.count++;
  }
  /** A copy of every series: its labels, cumulative counts per bucket (in `buckets` order), sum and count. */
  snapshot(): HistogramSeries[] {
    return [...this.data.values()].map((d) => ({ labels: { ...d.labels }, counts: [...d.counts], sum: d.sum, count: d.count }));
  }
  override render(): string[] {
    const lines = [`# HELP ${this.name} ${escapeHelp(this.help)}`, `# TYPE ${this.name} histogram`];
    for (const d of this.data.values()) {
      this.buckets.forEach((b, i) => lines.push(`${this.name}_bucket${this.labelText(d.labels, `le="${formatValue(b)}"`)} ${d.counts[i]!}`));
      lines.push(`${this.name}_bucket${this.labelText(d.labels, 'le="+Inf"')} ${d.count}`);
      const plain = this.labelText(d.labels);
      lines.push(`${this.name}_sum${plain} ${formatValue(d.sum)}`, `${this.name}_count${plain} ${d.count}`);
    }
    return lines;
  }
}

export class MetricsRegistry {
  private readonly metrics = new Map<string, Metric>();

  counter(name: string, help: string, labelNames: readonly string[] = [], collect?: Collect): Counter {
    return this.register(new Counter(name, help, labelNames, collect));
  }
  gauge(name: string, help: string, labelNames: readonly string[] = [], collect?: Collect): Gauge {
    return this.register(new Gauge(name, help, labelNames, collect));
  }
  histogram(name: string, help: string, labelNames: readonly string[] = [], buckets?: readonly number[]): Histogram {
    return this.register(new Histogram(name, help, labelNames, buckets));
  }

  /** The registered metric of this name, if any (modules sharing a registry look theirs up). */
  get(name: string): Counter | Gauge | Histogram | undefined {
    return this.metrics.get(name) as Counter | Gauge | Histogram | undefined;
  }

  /** Every metric in registration order, text format 0.0.4, ending with a newline. */
  render(): string {
    const lines: string[] = [];
    for (const m of this.metrics.values()) lines.push(...m.render());
    return lines.length === 0 ? '' : `${lines.join('\n')}\n`;
  }

  private register<M extends Metric>(m: M): M {
    for (const suffix of ['', '_bucket', '_sum', '_count']) {
      if (this.metrics.has(m.name + suffix) || (suffix !== '' && m.name.endsWith(suffix) && this.metrics.get(m.name.slice(0, -suffix.length))?.type === 'histogram')) {
        throw new MetricsError(`metric ${m.name} clashes with one already registered`);
      }
    }
    this.metrics.set(m.name, m);
    return m;
  }
}

export const METRICS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';
