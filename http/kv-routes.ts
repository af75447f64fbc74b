/**
 * The key-value endpoints: `PUT/GET/HEAD/DELETE /kv/{key}` (raw bytes in and out) and the original
 * project's `GET /set?key=K&value=V` and `GET /get?key=K`, which answer JSON shaped as it did. The
 * JSON shapes are documented in http/HTTP.md.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { badRequest, keyNotFound, methodNotAllowed, toErrorAnswer } from './http-errors.js';
import type { KvOptions, KvService } from './kv-service.js';
import { parseConsistency, parseDurable, percentDecode, readBody, requireKey, single } from './request.js';
import type { Target } from './request.js';

export type Op = 'get' | 'put' | 'del';

export interface KvContext {
  kv: KvService;
  maxValueBytes: number;
  signal: AbortSignal;
  /** Set by the handler: which operation this request was, for metrics. */
  op?: Op;
}

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

/** PUT/GET/HEAD/DELETE /kv/{key}. */
export async function handleKv(req: IncomingMessage, res: ServerResponse, target: Target, ctx: KvContext): Promise<void> {
  const key = requireKey(percentDecode(target.path.slice('/kv/'.length)));
  const opts: KvOptions = { signal: ctx.signal };
  const consistency = parseConsistency(target.query);
  if (consistency !== undefined) opts.consistency = consistency;
  const durable = parseDurable(target.query);
  if (durable !== undefined) opts.durable = durable;
  switch (req.method) {
    case 'GET':
    case 'HEAD': {
      ctx.op = 'get';
      const value = await ctx.kv.get(key, opts);
      if (value === undefined) throw keyNotFound();
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': value.length });
      res.end(req.method === 'HEAD' ? undefined : value);
      return;
    }
    case 'PUT': {
      ctx.op = 'put';
      const value = await readBody(req, ctx.maxValueBytes);
      await ctx.kv.put(key, value, opts);
      sendJson(res, 200, { ok: true });
      return;
    }
    case 'DELETE':
      ctx.op = 'del';
      await ctx.kv.del(key, opts);
      sendJson(res, 200, { ok: true });
      return;
    default:
      throw methodNotAllowed(req.method ?? '?', 'GET, HEAD, PUT, DELETE');
  }
}

function legacyOptions(target: Target, ctx: KvContext): { key: string; opts: KvOptions } {
  const key = single(target.query, 'key');
  requireKey(key);
  const opts: KvOptions = { signal: ctx.signal };
  const consistency = parseConsistency(target.query);
  if (consistency !== undefined) opts.consistency = consistency;
  const durable = parseDurable(target.query);
  if (durable !== undefined) opts.durable = durable;
  return { key: key!, opts };
}

function checkLegacyMethod(req: IncomingMessage): void {
  if (req.method !== 'GET' && req.method !== 'POST') throw methodNotAllowed(req.method ?? '?', 'GET, POST');
}

/** GET /set?key=K&value=V → {"Key","Value","Members","Error"}; errors add "error": {code, message}. */
export async function handleLegacySet(req: IncomingMessage, res: ServerResponse, target: Target, ctx: KvContext): Promise<void> {
  ctx.op = 'put';
  const keyParam = target.query.get('key') ?? '';
  const valueParam = target.query.get('value') ?? '';
  try {
    checkLegacyMethod(req);
    const { key, opts } = legacyOptions(target, ctx);
    const value = single(target.query, 'value');
    if (value === undefined) throw badRequest('the query parameter "value" is missing (give value= for an empty value)');
    const out = await ctx.kv.put(Buffer.from(key, 'utf8'), Buffer.from(value, 'utf8'), opts);
    const members = out !== undefined && Array.isArray(out.members) ? out.members : [];
    sendJson(res, 200, { Key: key, Value: value, Members: members, Error: null });
  } catch (err) {
    const e = toErrorAnswer(err);
    sendJson(res, e.httpStatus, { Key: keyParam, Value: valueParam, Members: [], Error: e.message, error: { code: e.code, message: e.message } }, allowHeader(e.code, 'GET, POST'));
  }
}

/** GET /get?key=K → {"Key","Value","Failed_members","Error"}; 404 with Error "not found" when missing. */
export async function handleLegacyGet(req: IncomingMessage, res: ServerResponse, target: Target, ctx: KvContext): Promise<void> {
  ctx.op = 'get';
  const keyParam = target.query.get('key') ?? '';
  try {
    checkLegacyMethod(req);
    const { key, opts } = legacyOptions(target, ctx);
    const value = await ctx.kv.get(Buffer.from(key, 'utf8'), opts);
    if (value === undefined) throw keyNotFound();
    sendJson(res, 200, { Key: key, Value: value.toString('utf8'), Failed_members: [], Error: '' });
  } catch (err) {
    const e = toErrorAnswer(err);
    sendJson(res, e.httpStatus, { Key: keyParam, Value: '', Failed_members: [], Error: e.message, error: { code: e.code, message: e.message } }, allowHeader(e.code, 'GET, POST'));
  }
}

export function allowHeader(code: string, allow: string): Record<string, string> {
  if (code === 'HTTP_UNAUTHENTICATED') return { 'www-authenticate': 'Bearer realm="mydatastore"' };
  return code === 'HTTP_METHOD_NOT_ALLOWED' ? { allow } : {};
}
