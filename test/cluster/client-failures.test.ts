/**
 * ClientFailureLog: failed client requests reach the node's log at once when they are rare, and as one
 * summary per interval when they are not, so an operator sees why requests fail without a log line per
 * request.
 */
import t from 'tap';
import { ClientFailureLog, type ClientFailure } from '../../cluster/client-failures.js';

const unavailable: ClientFailure = { api: 'rpc', op: 'put', outcome: 'unavailable', error: 'RPC_UNAVAILABLE: 2 of 3 replicas needed, 1 acknowledged' };
const timeout: ClientFailure = { api: 'http', op: 'get', outcome: 'timeout', error: 'RPC_TIMEOUT: deadline of 5000 ms exceeded' };

t.test('the first failure is logged at once, with the error the client received', (t) => {
  const log = new ClientFailureLog(10_000);
  t.equal(log.record({ api: 'rpc', op: 'get', outcome: 'ok' }), undefined, 'a success logs nothing');
  t.equal(log.record({ api: 'rpc', op: 'get', outcome: 'not_found' }), undefined, 'nor does a read of a missing key');
  t.equal(log.record({ api: 'rpc', op: 'get', outcome: 'cancelled', error: 'RPC_CANCELLED: the client gave up' }), undefined, 'nor a client that gave up');
  t.equal(
    log.record(unavailable),
    'client put over rpc failed (unavailable): RPC_UNAVAILABLE: 2 of 3 replicas needed, 1 acknowledged; further failures are summarised every 10 s',
  );
  t.end();
});

t.test('failures after the first are counted and summarised once per interval, then it goes quiet', (t) => {
  const log = new ClientFailureLog(10_000);
  t.type(log.record(unavailable), 'string');
  for (let i = 0; i < 30; i++) t.equal(log.record(unavailable), undefined);
  for (let i = 0; i < 7; i++) t.equal(log.record(timeout), undefined);
  t.equal(
    log.flush(),
    '37 more client requests failed in the last 10 s (put unavailable 30, get timeout 7); the latest: get over http: RPC_TIMEOUT: deadline of 5000 ms exceeded',
  );
  t.equal(log.record(timeout), undefined, 'still summarising in the next interval');
  t.match(log.flush(), /^1 more client requests failed in the last 10 s \(get timeout 1\)/);
  t.equal(log.flush(), undefined, 'an interval without failures logs nothing');
  t.match(log.record(unavailable), /^client put over rpc failed/, 'and the next failure is logged at once again');
  t.end();
});
