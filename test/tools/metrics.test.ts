/**
 * tools/metrics.ts without a node: counters and gauges sampled at scrape time from a module's stats, a
 * failing source, and prom-client's process metrics shared by several node registries in one process
 * without touching prom-client's global registry.
 */
import { register as globalRegistry, Registry } from 'prom-client';
import t from 'tap';
import { registerProcessMetrics, sampler } from '../../tools/metrics.js';

/** The value of one series in a text exposition, or undefined when it is absent. */
function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(series + ' '));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

t.test('sampled counters and gauges show the source values at each scrape', async (t) => {
  const r = new Registry();
  const s = sampler(r);
  const stats = { replayed: 0, files: [3, 12] };
  s.counter('x_replayed_total', 'Replayed.', [], () => [{ value: stats.replayed }]);
  s.gauge('x_level_files', 'Files per level.', ['level'], () => stats.files.map((value, level) => ({ labels: { level }, value })));
  stats.replayed = 7;
  let text = await r.metrics();
  t.match(text, /^# TYPE x_replayed_total counter$/m);
  t.match(text, /^# TYPE x_level_files gauge$/m);
  t.equal(sample(text, 'x_replayed_total'), 7, 'the counter shows the total the module keeps');
  t.equal(sample(text, 'x_level_files{level="1"}'), 12, 'a labelled gauge, one series per label set');
  stats.replayed = 9;
  stats.files = [1];
  text = await r.metrics();
  t.equal(sample(text, 'x_replayed_total'), 9, 'and follows it, not adds to it');
  t.equal(sample(text, 'x_level_files{level="0"}'), 1);
  t.equal(sample(text, 'x_level_files{level="1"}'), undefined, 'a series the source no longer reports is gone');
});

t.test('a source that throws keeps its last values; the scrape still answers', async (t) => {
  const r = new Registry();
  const s = sampler(r);
  let closed = false;
  s.gauge('x_pending', 'Pending.', [], () => {
    if (closed) throw new Error('store closed');
    return [{ value: 4 }];
  });
  s.counter('x_other_total', 'Other.', [], () => [{ value: 2 }]);
  t.equal(sample(await r.metrics(), 'x_pending'), 4);
  closed = true;
  const text = await r.metrics();
  t.equal(sample(text, 'x_pending'), 4, 'the value of the previous scrape');
  t.equal(sample(text, 'x_other_total'), 2, 'the other metrics are unaffected');
});

t.test('process metrics serve several node registries, never the global one', async (t) => {
  const a = new Registry();
  const b = new Registry();
  registerProcessMetrics(a);
  registerProcessMetrics(b);
  for (const [name, text] of [['a', await a.metrics()], ['b', await b.metrics()]] as const) {
    t.match(text, /^# TYPE process_resident_memory_bytes gauge$/m, `${name}: RSS`);
    t.ok((sample(text, 'process_resident_memory_bytes') ?? 0) > 1e6, `${name}: a plausible RSS`);
    t.match(text, /^# TYPE nodejs_heap_size_used_bytes gauge$/m, `${name}: heap used`);
    t.match(text, /^# TYPE process_cpu_seconds_total counter$/m, `${name}: CPU time`);
    t.notMatch(text, /nodejs_eventloop_lag/, `${name}: without prom-client's event-loop lag (it includes its 10 ms interval)`);
  }
  t.equal(globalRegistry.getMetricsAsArray().length, 0, "prom-client's global registry stays empty");
});
