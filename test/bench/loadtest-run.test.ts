/**
 * `npm run loadtest` for real, briefly: against a 1-node cluster started here (bench/lib/local-cluster.ts,
 * port 0, a temporary directory, stopped at teardown), the script with --url and a 3-second schedule
 * passes with every check; with a latency bound no run can meet it fails with exit code 1.
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { startLocalCluster } from '../../bench/lib/local-cluster.js';

const SCRIPT = fileURLToPath(new URL('../../bench/loadtest.js', import.meta.url));

function loadtest(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [SCRIPT, ...args], { timeout: 60_000 }, (err, stdout, stderr) => {
      resolve({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : null, stdout, stderr });
    });
  });
}

t.test('a short run against a real node: every check passes; an impossible bound fails the run', async (t) => {
  const cluster = await startLocalCluster(1);
  t.teardown(() => cluster.stop());
  const url = cluster.nodes[0]!.http!;
  t.match(url, /^http:\/\/127\.0\.0\.1:\d+$/);
  const common = ['--url', url, '--no-save'];

  // Latency bounds far above anything a loaded machine shows: this run is about the checks.
  const ok = await loadtest([...common, '--stages', '500ms:4,2s:4,500ms:0', '--p95-ms', '10000', '--p99-ms', '20000']);
  t.equal(ok.code, 0, `exit 0\n${ok.stdout}\n${ok.stderr}`);
  t.match(ok.stdout, '✓ /get value read back equals value written');
  t.match(ok.stdout, '✓ GET /kv value read back equals value written');
  t.match(ok.stdout, '✓ GET /kv of a deleted key is 404');
  t.match(ok.stdout, /✓ checks\.+: 100\.00% ✓ \d+ ✗ 0/);
  t.match(ok.stdout, /✓ http_req_failed\.+: 0\.00% 0 of [1-9]\d*/);
  t.match(ok.stdout, 'PASS: all 5 thresholds held');

  const slow = await loadtest([...common, '--stages', '1s:2', '--p99-ms', '0']);
  t.equal(slow.code, 1, 'exit 1 when a threshold is crossed');
  t.match(slow.stdout, /✗ http_req_duration p\(99\)<=0ms \(measured [\d.]+m?s\)/);
  t.match(slow.stdout, 'FAIL: 1 of 5 thresholds crossed: http_req_duration p(99)<=0ms');
});
