/**
 * The HTTP gateway's KvService over the node's Coordinator. Requests pass the same RequestGate as the
 * protobuf client API, so SIGTERM refuses new HTTP requests and waits for those in flight too. Failures
 * become HttpErrors that keep the coordinator's own code, with the status the client API would give:
 *   UnavailableError (CLUSTER_UNAVAILABLE), no committed ring (CLUSTER_NO_RING) → 503
 *   bad consistency, key or value (CLUSTER_BAD_CONSISTENCY, ...)              → 400
 *   draining after SIGTERM (RPC_SHUTTING_DOWN)                                 → 503
 * Anything else is left to the gateway (500). Lives in tools/ so that http/ needs nothing of cluster/.
 */
import type { ClientOp, ClientOutcome, ClientRequestObserver } from '../cluster/client-requests.js';
import { observedRequest, toClientRpcError, type RequestGate } from '../cluster/coordinator-api.js';
import type { Coordinator, RequestOptions } from '../cluster/coordinator.js';
import { HttpError, httpStatusOfRpc } from '../http/http-errors.js';
import type { KvOptions, KvService } from '../http/kv-service.js';
import { RpcError } from '../rpc/errors.js';

/** The HTTP error a coordinator failure answers as, or the failure itself when it has no typed mapping. */
export function toHttpError(err: unknown): unknown {
  const rpc = toClientRpcError(err);
  if (!(rpc instanceof RpcError)) return err;
  const own = (err as { code?: unknown } | null)?.code;
  const code = typeof own === 'string' ? own : rpc.code;
  return new HttpError(httpStatusOfRpc(rpc.status), code, (err as Error).message);
}

type KvCoordinator = Pick<Coordinator, 'get' | 'put' | 'del'>;

export class CoordinatorKv implements KvService {
  constructor(
    private readonly coordinator: KvCoordinator,
    private readonly gate: RequestGate,
    private readonly observe?: ClientRequestObserver,
  ) {}

  async get(key: Buffer, opts: KvOptions): Promise<Buffer | undefined> {
    const res = await this.run('get', opts, () => this.coordinator.get(key, options(opts)), (r) => (r.found ? 'ok' : 'not_found'));
    return res.found ? Buffer.from(res.record!.value) : undefined;
  }

  async put(key: Buffer, value: Buffer, opts: KvOptions): Promise<void> {
    await this.run('put', opts, () => this.coordinator.put(key, value, options(opts)));
  }

  async del(key: Buffer, opts: KvOptions): Promise<void> {
    await this.run('del', opts, () => this.coordinator.del(key, options(opts)));
  }

  private run<T>(op: ClientOp, opts: KvOptions, fn: () => Promise<T>, outcomeOf: (res: T) => ClientOutcome = () => 'ok'): Promise<T> {
    return observedRequest(this.gate, this.observe, { api: 'http', op, consistency: opts.consistency }, fn, outcomeOf, toHttpError);
  }
}

function options(opts: KvOptions): RequestOptions {
  return {
    ...(opts.consistency === undefined ? {} : { consistency: opts.consistency }),
    ...(opts.durable === undefined ? {} : { durable: opts.durable }),
    ...(opts.signal === undefined ? {} : { signal: opts.signal }),
  };
}
