/**
 * Finding the run to compare with (bench/lib/suite-results.ts): among the files of bench/results/, the
 * newest suite result older than this run that the caller accepts, passing over the single benches'
 * files, reports, chart directories, newer runs and files that are not suite results.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { earlierSuiteFiles, findPrevious, parseSuiteFileName, readSuiteResult, type SuiteResult, suiteFileName } from '../../bench/lib/suite-results.js';

t.test('names: <date>-<commit>.json, told apart from the single benches', (t) => {
  const name = suiteFileName(new Date('2026-11-27T10:06:00.591Z'), 'a0221cf');
  t.equal(name, '2026-11-27T10-06-00-591Z-a0221cf.json');
  t.same(parseSuiteFileName(name), { stamp: '2026-11-27T10-06-00-591Z', commit: 'a0221cf' });
  t.equal(parseSuiteFileName('cluster-2026-11-27T10-06-00-591Z-a0221cf.json'), undefined, 'a single bench file');
  t.equal(parseSuiteFileName('2026-11-27T10-06-00-591Z-a0221cf.md'), undefined, 'the report');
  t.equal(parseSuiteFileName('2026-11-27T10-06-00-591Z-a0221cf'), undefined, 'the chart directory');
  t.end();
});

t.test('earlier suite files, newest first; later ones and other files left out', (t) => {
  const names = [
    '2026-11-27T09-00-00-000Z-bbb.json',
    'lsm-2026-11-27T09-30-00-000Z-ccc.json',
    '2026-11-26T23-59-59-999Z-aaa.json',
    '2026-11-27T09-00-00-000Z-bbb.md',
    '2026-11-27T11-00-00-000Z-eee.json', // after the current run
    '2026-11-27T10-00-00-000Z-ddd.json', // the current run itself
    '2026-11-27T09-59-59-999Z-ddd.json',
  ];
  t.same(earlierSuiteFiles(names, '2026-11-27T10-00-00-000Z-ddd.json'), ['2026-11-27T09-59-59-999Z-ddd.json', '2026-11-27T09-00-00-000Z-bbb.json', '2026-11-26T23-59-59-999Z-aaa.json']);
  t.throws(() => earlierSuiteFiles(names, 'lsm-x.json'), { name: 'BenchSuiteError' });
  t.end();
});

function suite(quick: boolean, benches: SuiteResult['benches']): SuiteResult {
  return {
    kind: 'bench-suite',
    format: 1,
    date: '2026-11-27T00:00:00.000Z',
    commit: 'x',
    quick,
    commandLine: 'npm run bench',
    machine: { cpus: 2, cpu: 'cpu', memGiB: 4, node: 'v20', os: 'Linux' },
    loadAvg: { start: [1, 1, 1], end: [1, 1, 1] },
    seconds: 1,
    benches,
  };
}

t.test('findPrevious picks the newest earlier run the caller accepts', (t) => {
  const dir = mkdtempSync(join(os.tmpdir(), 'suite-results-test-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const rpc = [{ name: 'rpc' as const, args: [], exitCode: 0, seconds: 12, saved: {} }];
  const write = (name: string, content: unknown) => writeFileSync(join(dir, name), typeof content === 'string' ? content : JSON.stringify(content));
  write('2026-11-27T08-00-00-000Z-old.json', suite(true, rpc)); // quick, older
  write('2026-11-27T09-00-00-000Z-full.json', suite(false, rpc)); // full: another mode
  write('2026-11-27T09-10-00-000Z-cut.json', '{"kind": "bench-suite", "benc'); // truncated
  write('2026-11-27T09-20-00-000Z-odd.json', { name: 'rpc', results: {} }); // not a suite result
  write('2026-11-27T09-30-00-000Z-quick.json', suite(true, rpc)); // the one
  write('rpc-2026-11-27T09-40-00-000Z-x.json', suite(true, rpc)); // a single bench's name
  write('2026-11-27T12-00-00-000Z-later.json', suite(true, rpc)); // newer than the current run
  mkdirSync(join(dir, '2026-11-27T09-50-00-000Z-charts'));
  const current = '2026-11-27T10-00-00-000Z-now.json';
  const quick = findPrevious(dir, current, (r) => r.quick);
  t.equal(quick?.file, join(dir, '2026-11-27T09-30-00-000Z-quick.json'));
  t.equal(quick?.result.benches[0]?.seconds, 12, 'the result is read');
  t.equal(findPrevious(dir, current, (r) => !r.quick)?.file, join(dir, '2026-11-27T09-00-00-000Z-full.json'), 'the other mode');
  t.equal(findPrevious(dir, current, (r) => r.benches.some((b) => b.name === 'cluster')), undefined, 'none accepted');
  t.equal(findPrevious(join(dir, 'missing'), current, () => true), undefined, 'no results directory yet');
  t.end();
});

t.test('readSuiteResult says what is wrong with a file', (t) => {
  const dir = mkdtempSync(join(os.tmpdir(), 'suite-results-test-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const f = join(dir, 'f.json');
  writeFileSync(f, 'not json');
  t.throws(() => readSuiteResult(f), { name: 'BenchSuiteError', message: /not readable JSON/ });
  writeFileSync(f, JSON.stringify({ kind: 'bench-suite', quick: true, benches: [], format: 2 }));
  t.throws(() => readSuiteResult(f), { message: /format 2/ });
  writeFileSync(f, JSON.stringify(suite(false, [])));
  t.equal(readSuiteResult(f).quick, false);
  t.end();
});
