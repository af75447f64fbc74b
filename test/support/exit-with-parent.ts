/**
 * For test fixture processes: exit when the test that started them dies. startNode() gives each child a
 * stdin pipe; if the test process is killed (say by tap's timeout) before its teardown runs, the pipe
 * closes and the fixture exits instead of lingering as an orphan.
 */
export function exitWithParent(): void {
  process.stdin.on('end', () => process.exit(2));
  process.stdin.on('error', () => process.exit(2));
  process.stdin.resume();
}
