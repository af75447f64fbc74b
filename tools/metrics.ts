/**
 * Metric plumbing over prom-client for the node's /metrics. Every node has its own prom-client Registry
 * (several nodes share one process in tests, so never prom-client's global registry). Most metrics are
 * counters and gauges sampled at scrape time: the node reads the stats its modules already keep instead of
 * mirroring every update. The process metrics (CPU, RSS, heap, GC, handles) are prom-client's defaults,
 * created once per process and registered into each node's registry.
 */
import { collectDefaultMetrics, Counter, Gauge, Registry } from 'prom-client';

export type Labels = Readonly<Record<string, string | number>>;

/** A scrape-time read: the current series of a counter or gauge. */
export type Collect = () => Array<{ labels?: Labels; value: number }>;

/** Latency buckets in seconds, 0.5 ms to 10 s (prom-client's defaults start at 5 ms: too coarse for a local read). */
export const LATENCY_BUCKETS: readonly number[] = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** Registers counters and gauges whose series are whatever `read` returns at each scrape. */
export interface Sampler {
  counter(name: string, help: string, labelNames: readonly string[], read: Collect): Counter;
  gauge(name: string, help: string, labelNames: readonly string[], read: Collect): Gauge;
}

/**
 * A Sampler over `registry`. A read that throws (a store closing during shutdown) leaves the metric as the
 * previous scrape left it, rather than failing the whole scrape.
 */
export function sampler(registry: Registry): Sampler {
  const registers = [registry];
  return {
    counter: (name, help, labelNames, read) =>
      new Counter({
        name, help, labelNames, registers,
        collect() {
          const samples = tryRead(read);
          if (samples === undefined) return;
          // A counter has no set(): start from zero and add the total the module keeps.
          this.reset();
          // inc() throws on a negative or non-finite value: such a sample is skipped, not the scrape failed.
          for (const s of samples) if (Number.isFinite(s.value) && s.value >= 0) this.inc(s.labels ?? {}, s.value);
        },
      }),
    gauge: (name, help, labelNames, read) =>
      new Gauge({
        name, help, labelNames, registers,
        collect() {
          const samples = tryRead(read);
          if (samples === undefined) return;
          this.reset();
          for (const s of samples) this.set(s.labels ?? {}, s.value);
        },
      }),
  };
}

function tryRead(read: Collect): ReturnType<Collect> | undefined {
  try {
    return read();
  } catch {
    return undefined;
  }
}

let processMetrics: Registry | undefined;

/**
 * Registers prom-client's default process metrics into `registry`. They describe the process, not a
 * node, so they are created once (their collectors start timers and observers that have no stop) and the
 * same metric objects serve every node's registry. prom-client's nodejs_eventloop_lag_* are left out: they
 * include its 10 ms sampling interval, so an idle loop reads 10 ms; the node's
 * mydatastore_event_loop_delay_seconds subtracts it.
 */
export function registerProcessMetrics(registry: Registry): void {
  if (processMetrics === undefined) {
    processMetrics = new Registry();
    collectDefaultMetrics({ register: processMetrics });
    for (const { name } of processMetrics.getMetricsAsArray()) if (name.startsWith('nodejs_eventloop_lag_')) processMetrics.removeSingleMetric(name);
  }
  for (const { name } of processMetrics.getMetricsAsArray()) {
    const m = processMetrics.getSingleMetric(name);
    if (m !== undefined) registry.registerMetric(m);
  }
}
