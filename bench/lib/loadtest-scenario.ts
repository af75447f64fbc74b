/**
 * One iteration of a load-test virtual user (k6's default function). Each user writes only its own keys
 * (`loadtest-<run>-<user>-<slot>`, slots 0..keysPerVu-1 in turn) and one request at a time, so what it
 * reads back must be exactly what it last wrote:
 *
 *   1. GET /set?key=K&value=V1      status 200, the answer echoes K and V1
 *   2. GET /get?key=K               status 200, Value is V1
 *   3. GET /kv/K                    status 200, the body is V1
 *   4. PUT /kv/K  (body V2)         status 200
 *   5. GET /get?key=K               status 200, Value is V2 (written through the other API)
 *   every deleteEvery-th iteration of the user, also:
 *   6. DELETE /kv/K                 status 200
 *   7. GET /kv/K, GET /get?key=K    status 404 (the key has no value)
 *
 * A write that fails ends the iteration: what the key holds is then unknown, so reads would prove
 * nothing. Values are `valueSize` URL-safe characters, new for every write. With `consistency` set every
 * request carries it (QUORUM by default: R + W > N, so a read meets the replica the write reached).
 */
import { randomBytes } from 'node:crypto';
import type { HttpAnswer, NodeEndpoint } from './loadtest-http.js';
import { transportCode } from './loadtest-http.js';
import type { LoadtestTally } from './loadtest-metrics.js';

export interface ScenarioOptions {
  /** Tells this run's keys from another's on a shared cluster. */
  runId: string;
  valueSize: number;
  keysPerVu: number;
  /** Every deleteEvery-th iteration deletes its key (0: never). */
  deleteEvery: number;
  /** `consistency` query parameter of every request; undefined: the cluster's default R and W. */
  consistency: string | undefined;
}

export interface VuContext {
  endpoint: NodeEndpoint;
  tally: LoadtestTally;
  /** Aborted when the run's graceful stop runs out: in-flight requests end at once. */
  signal: AbortSignal;
  options: ScenarioOptions;
}

/** Thrown out of an iteration cut short by the run's end (its abort signal). */
export class IterationInterrupted extends Error {
  readonly code = 'LOADTEST_INTERRUPTED';
  override readonly name = 'IterationInterrupted';
}

export async function runIteration(ctx: VuContext, vu: number, iteration: number): Promise<void> {
  const { tally, options } = ctx;
  const key = `loadtest-${options.runId}-${vu}-${iteration % options.keysPerVu}`;
  const k = encodeURIComponent(key);
  const c = options.consistency === undefined ? '' : `&consistency=${encodeURIComponent(options.consistency)}`;
  const kvQuery = options.consistency === undefined ? '' : `?${c.slice(1)}`;

  const v1 = randomValue(options.valueSize);
  const set = await call(ctx, 'GET /set', 'GET', `/set?key=${k}&value=${encodeURIComponent(v1)}${c}`, undefined, 200);
  const setOk = tally.check('/set status is 200', set?.status === 200);
  tally.check('/set answer echoes the key and value', set?.status === 200 && echoes(set.body, key, v1));
  if (!setOk) return;
  await readLegacy(ctx, `/get?key=${k}${c}`, v1);
  const kvGet = await call(ctx, 'GET /kv', 'GET', `/kv/${k}${kvQuery}`, undefined, 200);
  tally.check('GET /kv status is 200', kvGet?.status === 200);
  tally.check('GET /kv value read back equals value written', kvGet?.status === 200 && kvGet.body.equals(Buffer.from(v1)));

  const v2 = randomValue(options.valueSize);
  const put = await call(ctx, 'PUT /kv', 'PUT', `/kv/${k}${kvQuery}`, Buffer.from(v2), 200);
  if (!tally.check('PUT /kv status is 200', put?.status === 200)) return;
  await readLegacy(ctx, `/get?key=${k}${c}`, v2);

  if (options.deleteEvery <= 0 || iteration % options.deleteEvery !== options.deleteEvery - 1) return;
  const del = await call(ctx, 'DELETE /kv', 'DELETE', `/kv/${k}${kvQuery}`, undefined, 200);
  if (!tally.check('DELETE /kv status is 200', del?.status === 200)) return;
  const gone = await call(ctx, 'GET /kv', 'GET', `/kv/${k}${kvQuery}`, undefined, 404);
  tally.check('GET /kv of a deleted key is 404', gone?.status === 404);
  const goneLegacy = await call(ctx, 'GET /get', 'GET', `/get?key=${k}${c}`, undefined, 404);
  tally.check('/get of a deleted key is 404', goneLegacy?.status === 404);
}

async function readLegacy(ctx: VuContext, path: string, expected: string): Promise<void> {
  const got = await call(ctx, 'GET /get', 'GET', path, undefined, 200);
  ctx.tally.check('/get status is 200', got?.status === 200);
  ctx.tally.check('/get value read back equals value written', got?.status === 200 && jsonField(got.body, 'Value') === expected);
}

/**
 * Sends one request and records it: latency when answered, a failure when the status is not `expect`
 * or there is no answer (then undefined). The run's abort interrupts the iteration instead.
 */
async function call(ctx: VuContext, route: string, method: string, path: string, body: Buffer | undefined, expect: number): Promise<HttpAnswer | undefined> {
  const t0 = process.hrtime.bigint();
  try {
    const answer = await ctx.endpoint.send(method, path, body, ctx.signal);
    const us = Number(process.hrtime.bigint() - t0) / 1000;
    ctx.tally.answered(route, us, answer.status === expect ? undefined : `${route} ${answer.status} ${errorCodeOf(answer.body)}`);
    return answer;
  } catch (err) {
    if (ctx.signal.aborted) {
      ctx.tally.unanswered(route, 'interrupted by the end of the run');
      throw new IterationInterrupted('the run ended', { cause: err });
    }
    ctx.tally.unanswered(route, transportCode(err));
    return undefined;
  }
}

/** `length` characters of base64url: safe in a query string and in a path, new bytes each call. */
export function randomValue(length: number): string {
  return randomBytes(Math.ceil((length * 3) / 4) + 1)
    .toString('base64url')
    .slice(0, length);
}

function echoes(body: Buffer, key: string, value: string): boolean {
  return jsonField(body, 'Key') === key && jsonField(body, 'Value') === value;
}

function jsonField(body: Buffer, name: string): unknown {
  try {
    const parsed: unknown = JSON.parse(body.toString('utf8'));
    return typeof parsed === 'object' && parsed !== null ? (parsed as Record<string, unknown>)[name] : undefined;
  } catch {
    return undefined;
  }
}

/** The `error.code` of a JSON error answer (http/HTTP.md, "Errors"), else `-`. */
function errorCodeOf(body: Buffer): string {
  const error = jsonField(body, 'error');
  if (typeof error === 'object' && error !== null && typeof (error as Record<string, unknown>).code === 'string') return (error as { code: string }).code;
  return '-';
}
