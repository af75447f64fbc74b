/** rateLimitedWarn (rpc/logger.ts): what outsiders can cause at will is logged at most once a second per message. */
import t from 'tap';
import { rateLimitedWarn } from '../../rpc/logger.js';

t.test('one line per message per second, with the count held back', (t) => {
  const lines: [string, Record<string, unknown> | undefined][] = [];
  const logger = { debug() {}, info() {}, error() {}, warn: (m: string, f?: Record<string, unknown>) => void lines.push([m, f]) };
  let now = 0;
  const warn = rateLimitedWarn(logger, 1000, () => now);
  for (let i = 0; i < 50; i++) warn('bad token', { i });
  warn('handshake failed');
  t.same(lines, [['bad token', { i: 0 }], ['handshake failed', undefined]], 'the first of each message');
  now = 1000;
  warn('bad token', { i: 50 });
  t.same(lines[2], ['bad token', { i: 50, heldBackSinceLastLine: 49 }], 'a second later, with the count held back');
  t.end();
});
