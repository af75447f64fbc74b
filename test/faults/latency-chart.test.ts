/**
 * The latency chart on a made-up history: the SVG is well-formed XML (checked by a small tag-balancing
 * parser below, not a dependency), each fault window is one shaded rect with its label, each completed
 * operation one dot of its outcome's class, and writeReport writes the chart beside the history.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import type { FaultEvent, Op } from './history.js';
import { History, writeReport } from './history.js';
import { faultWindows, latencyChartSvg, latencySamples, p99PerSecond } from './latency-chart.js';

const TAG = /<(\/?)([A-Za-z][\w:-]*)((?:\s+[\w:-]+="[^"<&]*(?:&(?:amp|lt|gt|quot|apos|#\d+);[^"<&]*)*")*)\s*(\/?)>/y;
const TEXT = /[^<&]*(?:&(?:amp|lt|gt|quot|apos|#\d+);[^<&]*)*/y;

/** Throws unless `xml` is one element of balanced tags, quoted attributes and escaped text. */
function checkWellFormed(xml: string): void {
  const open: string[] = [];
  let roots = 0;
  let i = 0;
  while (i < xml.length) {
    TEXT.lastIndex = i;
    const text = TEXT.exec(xml)?.[0] ?? '';
    if (text.trim() !== '' && open.length === 0) throw new Error(`text outside the root at ${i}`);
    i += text.length;
    if (i >= xml.length) break;
    TAG.lastIndex = i;
    const tag = TAG.exec(xml);
    if (tag === null) throw new Error(`not a tag or escaped text at ${i}: ${xml.slice(i, i + 40)}`);
    const [whole, closing, name, , selfClosing] = tag;
    if (closing === '/') {
      if (open.pop() !== name) throw new Error(`</${name}> closes nothing open at ${i}`);
    } else {
      if (open.length === 0) roots++;
      if (selfClosing !== '/') open.push(name!);
    }
    i += whole.length;
  }
  if (open.length > 0) throw new Error(`unclosed: ${open.join(' > ')}`);
  if (roots !== 1) throw new Error(`${roots} root elements`);
}

const op = (process: number, type: Op['type'], time: number): Op => ({ process, type, f: 'write', key: `k${process}`, time });
const fault = (what: string, time: number): FaultEvent => ({ type: 'nemesis', what, time });

const ops: Op[] = [
  op(0, 'invoke', 0), op(0, 'ok', 12),
  op(1, 'invoke', 500), op(1, 'fail', 501),
  op(0, 'invoke', 1000), op(0, 'info', 3000), // a timeout: unknown
  op(1, 'invoke', 2500), op(1, 'ok', 2500), // 0 ms: drawn on the 1 ms line
  op(2, 'invoke', 4000), // never completed: no dot
  op(3, 'invoke', 4600), op(3, 'ok', 4700),
];
const faults: FaultEvent[] = [
  fault('start kill -9 n3', 800), fault('end kill -9 n3', 2600),
  fault('start partition n1,n2 | n3,n4,n5', 3000), fault('end partition n1,n2 | n3,n4,n5', 3900),
  fault('start isolate n2', 4500), // still on when the history ended
  fault('recover all & <check>', 4800),
];

const all = (svg: string, re: RegExp): string[] => [...svg.matchAll(re)].map((m) => m[1] ?? m[0]);

t.test('the chart is well-formed, with one shaded labelled rect per fault window and one dot per completed op', (t) => {
  const svg = latencyChartSvg({ ops, faults }, 'unique-writes <seed 7> & more');
  t.doesNotThrow(() => checkWellFormed(svg), 'well-formed XML');
  t.match(svg, /^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
  t.match(svg, '>unique-writes &lt;seed 7&gt; &amp; more</text>', 'the title, escaped');

  t.equal(all(svg, /<rect class="fault"/g).length, 3, 'three fault windows shaded');
  t.same(all(svg, /class="fault-label"[^>]*>([^<]*)<\/text>/g), ['kill -9 n3', 'partition n1,n2 | n3,n4,n5', 'isolate n2', 'recover all &amp; &lt;check&gt;'], 'each window labelled with its fault, then the marker');
  t.equal(all(svg, /<line class="fault-marker"/g).length, 1, 'an event without a window is a marker');

  t.equal(all(svg, /<circle class="op ok"/g).length, 3);
  t.equal(all(svg, /<circle class="op fail"/g).length, 1);
  t.equal(all(svg, /<circle class="op info"/g).length, 1);
  const p99 = /<polyline class="p99" points="([^"]*)"/.exec(svg)?.[1] ?? '';
  t.equal(p99.split(' ').length, 4, 'one p99 point per second that had operations (0, 1, 2, 4)');
  for (const label of ['ok (3)', 'fail (1)', 'info: unknown (1)', 'p99 per second', 'fault window (3)']) t.match(svg, `>${label}</text>`, `legend: ${label}`);
  t.match(svg, 'seconds since start');
  t.match(svg, 'latency (log scale)');
  t.end();
});

t.test('samples, windows and p99 are computed from the history', (t) => {
  t.same(latencySamples(ops), [
    { at: 0, latency: 12, outcome: 'ok' },
    { at: 500, latency: 1, outcome: 'fail' },
    { at: 1000, latency: 2000, outcome: 'info' },
    { at: 2500, latency: 0, outcome: 'ok' },
    { at: 4600, latency: 100, outcome: 'ok' },
  ]);
  const { windows, markers } = faultWindows(faults, 5000);
  t.same(windows, [
    { what: 'kill -9 n3', from: 800, to: 2600 },
    { what: 'partition n1,n2 | n3,n4,n5', from: 3000, to: 3900 },
    { what: 'isolate n2', from: 4500, to: 5000 },
  ]);
  t.same(markers.map((m) => m.what), ['recover all & <check>']);
  t.same(p99PerSecond(latencySamples(ops)), [{ second: 0, p99: 12 }, { second: 1, p99: 2000 }, { second: 2, p99: 0 }, { second: 4, p99: 100 }]);
  const many = Array.from({ length: 200 }, (_, i) => ({ at: 10, latency: i + 1, outcome: 'ok' as const }));
  t.same(p99PerSecond(many), [{ second: 0, p99: 198 }], 'nearest rank: the 198th of 200');
  t.end();
});

t.test('an empty history is still a well-formed chart', (t) => {
  const svg = latencyChartSvg({ ops: [], faults: [] }, 'empty');
  t.doesNotThrow(() => checkWellFormed(svg));
  t.notMatch(svg, '<circle class="op');
  t.notMatch(svg, '<polyline');
  t.end();
});

t.test('the checker itself rejects broken markup', (t) => {
  t.throws(() => checkWellFormed('<svg><g></svg>'));
  t.throws(() => checkWellFormed('<svg><text>a & b</text></svg>'));
  t.throws(() => checkWellFormed('<svg x="1"/><svg/>'));
  t.doesNotThrow(() => checkWellFormed('<svg><g a="&amp;"><text>a &lt; b</text></g><rect/></svg>\n'));
  t.end();
});

t.test('writeReport writes the chart beside the history and verdict', (t) => {
  const dir = t.testdir();
  const before = process.env.FAULTS_REPORT_DIR;
  process.env.FAULTS_REPORT_DIR = dir;
  t.teardown(() => {
    if (before === undefined) delete process.env.FAULTS_REPORT_DIR;
    else process.env.FAULTS_REPORT_DIR = before;
  });
  const history = new History();
  history.fault('start isolate n1');
  history.invoke(0, 'write', 'k', 'v');
  history.complete(0, 'ok', 'write', 'k');
  history.fault('end isolate n1');
  writeReport('chart', 3, history, { acknowledged: 1 });
  const svg = readFileSync(join(dir, 'chart-seed-3.latency.svg'), 'utf8');
  t.doesNotThrow(() => checkWellFormed(svg));
  t.match(svg, 'chart, seed 3');
  t.equal(all(svg, /<circle class="op ok"/g).length, 1);
  t.equal(all(svg, /<rect class="fault"/g).length, 1);
  t.end();
});
