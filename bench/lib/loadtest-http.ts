/**
 * The load test's HTTP client: node's own `http` module with one keep-alive agent per node, so a
 * virtual user reuses its connection as a browser or k6 would. One call is one request: it resolves
 * with the status and the whole body, or rejects with an error whose `code` says why there was no
 * answer (ECONNREFUSED, ECONNRESET, LOADTEST_TIMEOUT, ABORT_ERR ...). Plain http only: the bench talks
 * to the nodes it started or to the URLs it is given.
 */
import http from 'node:http';

export interface HttpAnswer {
  status: number;
  body: Buffer;
}

/** No answer within the request timeout. */
export class LoadtestTimeoutError extends Error {
  readonly code = 'LOADTEST_TIMEOUT';
  override readonly name = 'LoadtestTimeoutError';
}

/** One node's HTTP gateway. */
export class NodeEndpoint {
  readonly base: URL;
  private readonly agent: http.Agent;

  constructor(
    base: string | URL,
    private readonly timeoutMs: number,
  ) {
    this.base = new URL(base);
    if (this.base.protocol !== 'http:') throw new TypeError(`the load test speaks plain http, not ${this.base.protocol} (${this.base.href})`);
    this.agent = new http.Agent({ keepAlive: true, maxSockets: Infinity });
  }

  /** `pathAndQuery` starts with '/'. */
  send(method: string, pathAndQuery: string, body: Buffer | undefined, signal: AbortSignal): Promise<HttpAnswer> {
    return new Promise((resolve, reject) => {
      const headers: Record<string, string | number> = {};
      if (body !== undefined) {
        headers['content-type'] = 'application/octet-stream';
        headers['content-length'] = body.length;
      }
      const req = http.request(new URL(pathAndQuery, this.base), { method, agent: this.agent, headers, signal }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.once('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) }));
        res.once('error', reject);
      });
      // A deadline for the whole exchange: req.setTimeout is an idle timeout, which a trickling server never trips.
      const timer = setTimeout(() => req.destroy(new LoadtestTimeoutError(`no answer to ${method} ${pathAndQuery} within ${this.timeoutMs} ms`)), this.timeoutMs);
      req.once('close', () => clearTimeout(timer));
      req.once('error', reject);
      req.end(body);
    });
  }

  close(): void {
    this.agent.destroy();
  }
}

/** A short, stable name for why a request got no answer. */
export function transportCode(err: unknown): string {
  if (err instanceof Error) return (err as NodeJS.ErrnoException).code ?? err.name;
  return 'UNKNOWN';
}
