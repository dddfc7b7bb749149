import * as net from 'node:net';

/**
 * A TCP proxy in front of a server (Postgres), to break the network between a client
 * and it without touching the server others share: `cut()` resets every connection
 * (no goodbye from the server, as when a host or a link dies), `refuse()` resets them
 * and closes the door (new connections are refused, as when the server is down),
 * `accept()` opens it again.
 */
export interface TcpProxy {
  readonly port: number;
  /**
   * The local ports of the proxy's connections to the server: what the server sees as
   * their `client_port`, so that a test picks its own sessions out of a shared server's.
   */
  upstreamPorts(): number[];
  /** `url` with its host and port replaced by the proxy's. */
  via(url: string): string;
  cut(): number;
  refuse(): Promise<void>;
  accept(): Promise<void>;
  close(): Promise<void>;
}

export async function startTcpProxy(target: { host: string; port: number }): Promise<TcpProxy> {
  const links = new Set<{ readonly client: net.Socket; readonly upstream: net.Socket }>();
  const server = net.createServer((client) => {
    const upstream = net.connect(target);
    const link = { client, upstream };
    links.add(link);
    const end = () => {
      client.destroy();
      upstream.destroy();
      links.delete(link);
    };
    client.on('error', end).on('close', end);
    upstream.on('error', end).on('close', end);
    client.pipe(upstream);
    upstream.pipe(client);
  });
  const listen = (port: number) => new Promise<void>((resolve, reject) => server.once('error', reject).listen(port, '127.0.0.1', () => resolve()));
  await listen(0);
  const port = (server.address() as net.AddressInfo).port;
  const cut = () => {
    const count = links.size * 2;
    for (const { client, upstream } of links) {
      client.resetAndDestroy();
      upstream.resetAndDestroy();
    }
    links.clear();
    return count;
  };
  return {
    port,
    upstreamPorts: () => [...links].map(({ upstream }) => upstream.localPort).filter((local): local is number => local !== undefined),
    via(url: string) {
      const parsed = new URL(url);
      parsed.hostname = '127.0.0.1';
      parsed.port = String(port);
      return parsed.toString();
    },
    cut,
    refuse: () =>
      new Promise<void>((resolve) => {
        if (!server.listening) return resolve();
        server.close(() => resolve()); // called once the last connection is gone
        cut();
      }),
    accept: () => (server.listening ? Promise.resolve() : listen(port)),
    async close() {
      if (!server.listening) return void cut();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        cut();
      });
    },
  };
}
