// A TCP proxy the test can cut: `down()` drops every connection and refuses new ones, `up()`
// accepts again. Used to take PostgreSQL or Redis away from a running server.
import { createServer, connect, type Server, type Socket } from 'node:net';

export interface TcpProxy {
  port: number;
  down(): void;
  up(): void;
  close(): Promise<void>;
}

export async function startTcpProxy(targetHost: string, targetPort: number): Promise<TcpProxy> {
  let accepting = true;
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    if (!accepting) return client.destroy();
    const upstream = connect(targetPort, targetHost);
    sockets.add(client);
    sockets.add(upstream);
    const cleanup = () => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on('error', cleanup).on('close', cleanup);
    upstream.on('error', cleanup).on('close', cleanup);
    client.pipe(upstream).pipe(client);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  const down = () => {
    accepting = false;
    for (const s of sockets) s.destroy();
    sockets.clear();
  };
  return {
    port,
    down,
    up() {
      accepting = true;
    },
    async close() {
      down();
      await new Promise((r) => server.close(r));
    },
  };
}
