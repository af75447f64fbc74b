/**
 * The status page's two routes (http/HTTP.md, "Status page"): `GET /` answers status-page.html — one
 * static file of HTML, CSS and plain JavaScript, no build step — and `GET /status.json` the document the
 * page polls, built by the node on each request. The HTML is read once, from beside this module: the
 * build copies it into dist/http/ (tools/build-proto.mjs --copy).
 */
import { readFileSync } from 'node:fs';
import type { ServerResponse } from 'node:http';
import { fileURLToPath } from 'node:url';
import { HttpError } from './http-errors.js';
import { sendJson } from './kv-routes.js';

export const STATUS_PAGE_FILE = fileURLToPath(new URL('./status-page.html', import.meta.url));

/**
 * The page allows only its own inline script and style and fetches from its own origin; data: for the
 * empty favicon (a request for /favicon.ico would be a 404 in the browser's console).
 */
const PAGE_HEADERS = {
  'content-type': 'text/html; charset=utf-8',
  'cache-control': 'no-cache',
  'x-content-type-options': 'nosniff',
  'content-security-policy': "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'; img-src data:; base-uri 'none'; form-action 'none'",
};

let page: Buffer | undefined;

function statusPage(): Buffer {
  if (page !== undefined) return page;
  try {
    page = readFileSync(STATUS_PAGE_FILE);
  } catch (err) {
    throw new HttpError(500, 'HTTP_INTERNAL', `the status page file ${STATUS_PAGE_FILE} cannot be read (${(err as Error).message}); "npm run build" copies it there`);
  }
  return page;
}

export function sendStatusPage(res: ServerResponse): void {
  const body = statusPage();
  res.writeHead(200, { ...PAGE_HEADERS, 'content-length': body.length });
  res.end(body);
}

/** The node's status document; never cached, since the page computes rates from consecutive answers. */
export async function sendStatusJson(res: ServerResponse, status: () => Promise<object>): Promise<void> {
  sendJson(res, 200, await status(), { 'cache-control': 'no-store' });
}
