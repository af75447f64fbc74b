/**
 * Reading an HTTP request safely: the path and query split without trusting the URL (no host parsing,
 * malformed percent escapes refused), keys as raw bytes, the consistency parameter checked, and the
 * body read with a size limit. Everything here throws HttpError for bad input.
 */
import type { IncomingMessage } from 'node:http';
import { badRequest, tooLarge } from './http-errors.js';

export interface Target {
  path: string;
  query: URLSearchParams;
}

export function parseTarget(url: string | undefined): Target {
  const raw = url ?? '/';
  const q = raw.indexOf('?');
  return { path: q < 0 ? raw : raw.slice(0, q), query: new URLSearchParams(q < 0 ? '' : raw.slice(q + 1)) };
}

/** Percent-decodes a path segment to bytes, so keys need not be UTF-8 (`%FF` is the byte 0xff). */
export function percentDecode(s: string): Buffer {
  const out: number[] = [];
  const utf8 = Buffer.from(s, 'utf8');
  for (let i = 0; i < utf8.length; i++) {
    const c = utf8[i]!;
    if (c !== 0x25) {
      out.push(c);
      continue;
    }
    const hex = utf8.subarray(i + 1, i + 3).toString('latin1');
    if (!/^[0-9a-fA-F]{2}$/.test(hex)) throw badRequest(`malformed percent escape at byte ${i} of the path`);
    out.push(parseInt(hex, 16));
    i += 2;
  }
  return Buffer.from(out);
}

/** A query parameter given at most once; undefined when absent. */
export function single(query: URLSearchParams, name: string): string | undefined {
  const all = query.getAll(name);
  if (all.length > 1) throw badRequest(`the query parameter "${name}" is given ${all.length} times`);
  return all[0];
}

export type ConsistencyParam = 'ONE' | 'QUORUM' | 'ALL' | number;

/** `?consistency=ONE|QUORUM|ALL|DEFAULT|<n>` (names in any case); undefined = the cluster's default. */
export function parseConsistency(query: URLSearchParams): ConsistencyParam | undefined {
  const v = single(query, 'consistency');
  if (v === undefined) return undefined;
  const name = v.trim().toUpperCase();
  if (name === 'DEFAULT' || name === '') return undefined;
  if (name === 'ONE' || name === 'QUORUM' || name === 'ALL') return name;
  if (/^\d{1,6}$/.test(name) && Number(name) >= 1) return Number(name);
  throw badRequest(`bad consistency ${JSON.stringify(v)} (expected ONE, QUORUM, ALL, DEFAULT or a count >= 1)`);
}

/**
 * `?durable=true|false|1|0` (any case): true asks for a durable write; false or absent leaves it to the
 * node's --durable-writes (as the client API's `durable` flag: it can ask for durability, not opt out).
 */
export function parseDurable(query: URLSearchParams): true | undefined {
  const v = single(query, 'durable');
  if (v === undefined) return undefined;
  const name = v.trim().toLowerCase();
  if (name === 'true' || name === '1') return true;
  if (name === 'false' || name === '0') return undefined;
  throw badRequest(`bad durable ${JSON.stringify(v)} (expected true or false)`);
}

export function requireKey(key: Buffer | string | undefined | null): Buffer {
  if (key === undefined || key === null) throw badRequest('the key is missing');
  const b = typeof key === 'string' ? Buffer.from(key, 'utf8') : key;
  if (b.length === 0) throw badRequest('the key is empty');
  return b;
}

/** The whole body, refused with 413 beyond `limit` bytes (checked against Content-Length first). */
export function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = req.headers['content-length'];
  if (declared !== undefined && Number(declared) > limit) return Promise.reject(tooLarge(limit));
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let failed = false;
    req.on('data', (chunk: Buffer) => {
      if (failed) return;
      size += chunk.length;
      if (size > limit) {
        failed = true;
        chunks.length = 0;
        reject(tooLarge(limit));
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => {
      if (!failed) resolve(Buffer.concat(chunks, size));
    });
    req.on('error', (err) => {
      if (!failed) reject(badRequest(`the request body could not be read: ${err.message}`));
      failed = true;
    });
  });
}
