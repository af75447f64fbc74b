/** Parses "host:port" or "[ipv6]:port" into its parts, with a clear error for anything else. */
export interface HostPort {
  host: string;
  port: number;
}

/** `forListen` allows port 0, which asks the OS for a free port. */
export function parseAddress(address: string, forListen = false): HostPort {
  const m = /^(?:\[([^\]]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(address.trim());
  const port = m === null ? NaN : Number(m[3]);
  if (m === null || !((port > 0 || (forListen && port === 0)) && port < 65536)) {
    throw new TypeError(`invalid address "${address}": expected host:port, e.g. 127.0.0.1:7000`);
  }
  return { host: m[1] ?? m[2]!, port };
}

export function formatAddress({ host, port }: HostPort): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}
