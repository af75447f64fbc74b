/**
 * The bench charts (bench/lib/bar-chart.ts, percentile-chart.ts, time-series-chart.ts) produce
 * well-formed SVG whose shapes say what the figures say: a bar per value, taller for more; a line per
 * series, higher for slower; a marker per event; nothing drawn from a value that is not a number.
 */
import t from 'tap';
import { barChartSvg } from '../../bench/lib/bar-chart.js';
import { percentileChartSvg } from '../../bench/lib/percentile-chart.js';
import { shortNumber } from '../../bench/lib/svg.js';
import { timeSeriesSvg } from '../../bench/lib/time-series-chart.js';
import { checkSvg, pointsOf } from './svg-check.js';

t.test('the checker itself rejects broken markup', (t) => {
  t.same(checkSvg('<svg xmlns="http://www.w3.org/2000/svg"><g><rect x="1"/></g></svg>').problems, []);
  t.not(checkSvg('<svg><g></svg>').problems.length, 0, 'a tag closed out of order');
  t.not(checkSvg('<svg><g>').problems.length, 0, 'unclosed tags');
  t.not(checkSvg('<svg><rect x="NaN"/></svg>').problems.length, 0, 'NaN in a coordinate');
  t.not(checkSvg('<svg><text>a & b</text></svg>').problems.length, 0, 'bare & in text');
  t.not(checkSvg('<svg><rect x=1/></svg>').problems.length, 0, 'unquoted attribute');
  t.end();
});

const height = (e: { attrs: Record<string, string> }) => Number(e.attrs.height);

for (const scale of ['linear', 'log'] as const) {
  t.test(`bar chart (${scale}): one bar per value, taller for more, gaps for missing values`, (t) => {
    const svg = barChartSvg({
      title: 'ops/s <ours> & "peer"',
      yLabel: 'ops/s',
      scale,
      groups: ['fill<seq>', 'readrandom', 'a very long workload name that has to be slanted'],
      series: [
        { name: 'ours', values: [100_000, 2_000, NaN] },
        { name: 'peer & co', values: [50_000, undefined, 30] },
      ],
    });
    const c = checkSvg(svg);
    t.same(c.problems, [], 'well-formed');
    const bars = c.elements.filter((e) => e.tag === 'rect' && e.attrs.class === 'bar');
    t.equal(bars.length, 4, 'NaN and undefined draw no bar');
    const [ours0, peer0, ours1, peer2] = bars.map(height);
    t.ok(ours0! > peer0!, '100,000 is taller than 50,000');
    t.ok(peer0! > ours1!, '50,000 is taller than 2,000');
    t.ok(ours1! > peer2!, '2,000 is taller than 30');
    t.ok(svg.includes('fill&lt;seq&gt;') && svg.includes('ops/s &lt;ours&gt; &amp; &quot;peer&quot;'), 'labels and title are escaped');
    t.ok(svg.includes(`>${shortNumber(100_000)}<`), 'each bar is labelled with its value');
    t.end();
  });
}

t.test('bar chart with nothing to draw is still a well-formed document', (t) => {
  t.same(checkSvg(barChartSvg({ title: 'empty', yLabel: 'x', scale: 'log', groups: [], series: [] })).problems, []);
  t.same(checkSvg(barChartSvg({ title: 'zeros', yLabel: 'x', scale: 'log', groups: ['a'], series: [{ name: 's', values: [0] }] })).problems, []);
  t.end();
});

t.test('percentile chart: a line per series through its percentiles, slower drawn higher', (t) => {
  const svg = percentileChartSvg({
    title: 'latency',
    yLabel: 'ms',
    series: [
      { name: 'fast', points: [{ p: 50, value: 1 }, { p: 99, value: 4 }, { p: 99.9, value: 9 }] },
      { name: 'slow', points: [{ p: 50, value: 10 }, { p: 99, value: 40 }, { p: 99.9, value: Infinity }], dashed: true },
      { name: 'nothing', points: [] },
    ],
  });
  const c = checkSvg(svg);
  t.same(c.problems, [], 'well-formed');
  const lines = c.elements.filter((e) => e.tag === 'polyline').map((e) => pointsOf(e.attrs.points!));
  t.equal(lines.length, 2, 'the empty series draws no line');
  t.equal(lines[0]!.length, 6, 'three points for the fast series');
  t.equal(lines[1]!.length, 4, 'the infinite p99.9 is left out');
  t.ok(lines[1]![1]! < lines[0]![1]!, 'slow p50 is above fast p50 (smaller y)');
  t.ok(lines[0]![3]! < lines[0]![1]!, 'p99 is above p50 within a series');
  t.ok(lines[0]![2]! > lines[0]![0]!, 'p99 is right of p50');
  for (const label of ['p50', 'p99', 'p99.9']) t.ok(svg.includes(`>${label}<`), `x axis has ${label}`);
  t.equal(c.elements.filter((e) => e.tag === 'polyline' && e.attrs['stroke-dasharray'] !== undefined).length, 1, 'the dashed series is dashed');
  t.end();
});

t.test('time series: a line per segment, a marker per event, nothing from non-numbers', (t) => {
  const svg = timeSeriesSvg({
    title: 'throughput',
    yLabel: 'ops/s',
    xLabel: 's',
    series: [
      { name: 'ours', segments: [[{ t: 0.5, v: 100 }, { t: 1.5, v: 120 }], [{ t: 5.5, v: 300 }, { t: 6.5, v: NaN }, { t: 7.5, v: 280 }]] },
      { name: 'peer', segments: [[{ t: 9, v: 50 }]] },
    ],
    events: [{ t: 0, label: 'load <QUORUM>' }, { t: 5, label: 'A' }, { t: NaN, label: 'lost' }],
  });
  const c = checkSvg(svg);
  t.same(c.problems, [], 'well-formed');
  const lines = c.elements.filter((e) => e.tag === 'polyline').map((e) => pointsOf(e.attrs.points!));
  t.equal(lines.length, 2, 'one polyline per multi-point segment (no line across the gap)');
  t.equal(lines[1]!.length, 4, 'the NaN point is dropped');
  t.ok(lines[1]![1]! < lines[0]![1]!, '300 ops/s is drawn above 100 ops/s');
  t.equal(c.elements.filter((e) => e.tag === 'circle').length, 1, 'a one-point segment is a dot');
  t.equal(c.elements.filter((e) => e.tag === 'g' && e.attrs.class === 'event').length, 2, 'a marker per event with a time');
  t.ok(svg.includes('load &lt;QUORUM&gt;'), 'event labels are escaped');
  t.end();
});
