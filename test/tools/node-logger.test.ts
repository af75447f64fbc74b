/**
 * The node's logger (tools/node-logger.ts) and its line format (tools/log-format.ts): one JSON object
 * per line with time, level, node id and component; request ids on top, other fields apart; levels
 * below the chosen one dropped; a bad level refused; lines for people on a terminal.
 */
import t from 'tap';
import { humanizeLogLine, parseLogLine } from '../../tools/log-format.js';
import { createNodeLoggers, LogLevelError, parseLogLevel } from '../../tools/node-logger.js';

/** A destination that keeps the lines written to it. */
function capture(): { lines: string[]; write(line: string): void } {
  const lines: string[] = [];
  return { lines, write: (line: string) => void lines.push(line) };
}

t.test('one JSON line per event: time, level, node id, component, message; fields apart, request id on top', (t) => {
  const out = capture();
  const logs = createNodeLoggers({ nodeId: 'n1', level: 'info', destination: out });
  logs.for('rpc').warn('refused Put', { requestId: 7, remote: '127.0.0.1:5000', reason: 'no "client" role' });
  logs.for('node').info('listening on 127.0.0.1:7001');
  t.equal(out.lines.length, 2);
  t.ok(out.lines.every((l) => l.endsWith('}\n') && !l.slice(0, -1).includes('\n')), 'each event is exactly one line');
  const first = JSON.parse(out.lines[0]!) as Record<string, unknown>;
  t.match(first.time, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/, 'an ISO time');
  t.same(
    { ...first, time: 'T' },
    { level: 'warn', time: 'T', nodeId: 'n1', component: 'rpc', requestId: '7', fields: { remote: '127.0.0.1:5000', reason: 'no "client" role' }, msg: 'refused Put' },
    'level as a word; the request id as a string beside the node id and component; other fields under "fields"',
  );
  const second = JSON.parse(out.lines[1]!) as Record<string, unknown>;
  t.same(Object.keys(second), ['level', 'time', 'nodeId', 'component', 'msg'], 'no request id or fields when the line has none');
  t.end();
});

t.test('fields cannot overwrite the line\'s own keys; errors keep their message; printf markers stay text', (t) => {
  const out = capture();
  const log = createNodeLoggers({ nodeId: 'n1', level: 'debug', destination: out }).for('store');
  log.info('compaction done at 100%s', { level: 3, msg: 'not this', nodeId: 'other', failure: Object.assign(new Error('disk full'), { code: 'ENOSPC' }) });
  const line = JSON.parse(out.lines[0]!) as Record<string, unknown>;
  t.equal(line.level, 'info');
  t.equal(line.msg, 'compaction done at 100%s');
  t.equal(line.nodeId, 'n1');
  t.same(line.fields, { level: 3, msg: 'not this', nodeId: 'other', failure: { message: 'disk full', code: 'ENOSPC' } });
  t.end();
});

t.test('a component\'s own name at the start of its messages moves to the component field', (t) => {
  const out = capture();
  const logs = createNodeLoggers({ nodeId: 'n2', level: 'info', destination: out });
  logs.for('raft').info('raft: became leader at term 2');
  logs.for('membership').info('node n3 127.0.0.1:7003 is now dead (incarnation 5)');
  logs.for('raft').info('membership: a message naming another component is left alone');
  t.same(
    out.lines.map((l) => parseLogLine(l.trimEnd())).map((r) => [r?.component, r?.msg]),
    [['raft', 'became leader at term 2'], ['membership', 'node n3 127.0.0.1:7003 is now dead (incarnation 5)'], ['raft', 'membership: a message naming another component is left alone']],
  );
  t.end();
});

t.test('levels below the chosen one are dropped', (t) => {
  const levelsAt = (level: string): string[] => {
    const out = capture();
    const log = createNodeLoggers({ nodeId: 'n1', level, destination: out }).for('node');
    log.debug('d');
    log.info('i');
    log.warn('w');
    log.error('e');
    return out.lines.map((l) => parseLogLine(l.trimEnd())?.level ?? '?');
  };
  t.same(levelsAt('debug'), ['debug', 'info', 'warn', 'error']);
  t.same(levelsAt('info'), ['info', 'warn', 'error']);
  t.same(levelsAt('warn'), ['warn', 'error']);
  t.same(levelsAt('error'), ['error']);
  t.end();
});

t.test('a bad level is a typed error naming the levels', (t) => {
  for (const bad of ['verbose', 'INFO', '', 'trace']) {
    t.throws(() => createNodeLoggers({ nodeId: 'n1', level: bad, destination: capture() }), LogLevelError, `"${bad}" is refused`);
  }
  try {
    parseLogLevel('loud');
    t.fail('parseLogLevel accepted "loud"');
  } catch (err) {
    t.ok(err instanceof LogLevelError);
    t.equal((err as LogLevelError).code, 'LOG_BAD_LEVEL');
    t.equal((err as Error).message, 'log level must be one of debug, info, warn, error (got "loud")');
  }
  t.equal(parseLogLevel('warn'), 'warn');
  t.end();
});

t.test('for a terminal: one readable line per event, coloured level if asked', (t) => {
  const out = capture();
  const logs = createNodeLoggers({ nodeId: 'n1', level: 'info', destination: out, human: true });
  logs.for('raft').info('raft: became leader at term 2');
  logs.for('http').warn('refused HTTP request', { requestId: 'abc-1', remote: '127.0.0.1:5000' });
  t.match(out.lines[0], /^\d{4}-\d\d-\d\dT[\d:.]+Z info {2}n1 raft: became leader at term 2\n$/);
  t.match(out.lines[1], /^\S+ warn {2}n1 http: refused HTTP request \{"requestId":"abc-1","remote":"127\.0\.0\.1:5000"\}\n$/);
  t.notOk(out.lines.join('').includes('\x1b['), 'no colour unless asked');

  const coloured = capture();
  createNodeLoggers({ nodeId: 'n1', level: 'info', destination: coloured, human: true, color: true }).for('node').error('cannot listen');
  t.ok(coloured.lines[0]?.endsWith(' \x1b[31merror\x1b[0m n1 node: cannot listen\n'), 'errors in red');
  t.end();
});

t.test('humanizeLogLine renders our lines and leaves any other line alone', (t) => {
  const line = '{"level":"info","time":"2025-05-01T10:00:00.000Z","nodeId":"n1","component":"node","msg":"stopped"}';
  t.equal(humanizeLogLine(line), '2025-05-01T10:00:00.000Z info  n1 node: stopped');
  for (const other of ['plain text', '{"not":"a log line"}', '{broken', '']) t.equal(humanizeLogLine(other), other);
  t.end();
});
