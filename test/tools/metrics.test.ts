import t from 'tap';
import { escapeLabelValue, MetricsError, MetricsRegistry } from '../../tools/metrics.js';

t.test('counters, gauges and histograms render in text format 0.0.4', (t) => {
  const r = new MetricsRegistry();
  const c = r.counter('kv_requests_total', 'Requests served.', ['op']);
  c.inc({ op: 'get' });
  c.inc({ op: 'get' }, 2);
  c.inc({ op: 'put' });
  r.gauge('hints_pending', 'Hints waiting for their owner.').set(undefined, 7);
  r.gauge('lsm_files', 'Table files per level.', ['level'], () => [{ labels: { level: 0 }, value: 3 }, { labels: { level: 1 }, value: 12 }]);
  const h = r.histogram('kv_latency_seconds', 'Request latency.', ['op'], [0.01, 0.1, 1]);
  h.observe({ op: 'get' }, 0.005);
  h.observe({ op: 'get' }, 0.05);
  h.observe({ op: 'get' }, 5);
  t.equal(
    r.render(),
    [
      '# HELP kv_requests_total Requests served.',
      '# TYPE kv_requests_total counter',
      'kv_requests_total{op="get"} 3',
      'kv_requests_total{op="put"} 1',
      '# HELP hints_pending Hints waiting for their owner.',
      '# TYPE hints_pending gauge',
      'hints_pending 7',
      '# HELP lsm_files Table files per level.',
      '# TYPE lsm_files gauge',
      'lsm_files{level="0"} 3',
      'lsm_files{level="1"} 12',
      '# HELP kv_latency_seconds Request latency.',
      '# TYPE kv_latency_seconds histogram',
      'kv_latency_seconds_bucket{op="get",le="0.01"} 1',
      'kv_latency_seconds_bucket{op="get",le="0.1"} 2',
      'kv_latency_seconds_bucket{op="get",le="1"} 2',
      'kv_latency_seconds_bucket{op="get",le="+Inf"} 3',
      'kv_latency_seconds_sum{op="get"} 5.055',
      'kv_latency_seconds_count{op="get"} 3',
      '',
    ].join('\n'),
  );
  t.equal(c.get({ op: 'get' }), 3);
  t.end();
});

t.test('label values and help text are escaped', (t) => {
  t.equal(escapeLabelValue('a\\b"c\nd'), 'a\\\\b\\"c\\nd');
  const r = new MetricsRegistry();
  r.counter('x_total', 'line one\nback\\slash "quoted"', ['k']).inc({ k: 'he said "hi"\n\\' });
  t.equal(r.render(), '# HELP x_total line one\\nback\\\\slash "quoted"\n# TYPE x_total counter\nx_total{k="he said \\"hi\\"\\n\\\\"} 1\n');
  t.end();
});

t.test('special values render as Prometheus spells them', (t) => {
  const r = new MetricsRegistry();
  const g = r.gauge('g', 'g');
  g.set(undefined, Infinity);
  t.match(r.render(), /^g \+Inf$/m);
  g.set(undefined, NaN);
  t.match(r.render(), /^g NaN$/m);
  t.end();
});

t.test('mistakes are refused with METRICS_INVALID', (t) => {
  const r = new MetricsRegistry();
  const bad = { code: 'METRICS_INVALID', name: 'MetricsError' };
  t.throws(() => r.counter('1abc', 'x'), bad);
  t.throws(() => r.counter('ok', 'x', ['bad-label']), bad);
  t.throws(() => r.counter('ok', 'x', ['__reserved']), bad);
  t.throws(() => r.histogram('h', 'x', ['le']), bad);
  t.throws(() => r.histogram('h', 'x', [], [1, 1]), bad);
  const c = r.counter('c_total', 'x', ['op']);
  t.throws(() => r.counter('c_total', 'again'), bad, 'no duplicate names');
  r.histogram('lat', 'x');
  t.throws(() => r.counter('lat_count', 'x'), bad, 'no clash with a histogram series');
  t.throws(() => c.inc({ other: 'x' }), bad, 'labels must match the declared ones');
  t.throws(() => c.inc(undefined), bad);
  t.throws(() => c.inc({ op: 'x' }, -1), MetricsError, 'counters only go up');
  t.end();
});
