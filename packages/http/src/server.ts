import type { Server } from 'node:http';
import type { Express } from 'express';

/** Starts listening; resolves once the port is bound (port 0 picks a free one). */
export function listen(app: Express, port: number, host = '0.0.0.0'): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = app.listen(port, host, (error?: Error) => (error ? reject(error) : resolve(server)));
    // Behind load balancers: keep idle connections open longer than their idle timeout.
    server.keepAliveTimeout = 65_000;
  });
}

/** Stops accepting connections, lets requests in progress finish, closes idle keep-alives. */
export function closeServer(server: Server): Promise<void> {
  return new Promise((resolve, reject) => {
    server.close((error) => (error ? reject(error) : resolve()));
    server.closeIdleConnections();
  });
}
