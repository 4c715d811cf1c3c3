import type { Server } from 'node:http';
import type { Express } from 'express';
import { separateManagement } from './app';

/** The management server that `listen` started beside an API server. */
const managementServers = new WeakMap<Server, Server>();

function bind(app: Express, port: number, host: string): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = app.listen(port, host, (error?: Error) => (error ? reject(error) : resolve(server)));
    // Behind load balancers: keep idle connections open longer than their idle timeout.
    server.keepAliveTimeout = 65_000;
  });
}

/**
 * Starts listening; resolves once the port is bound (port 0 picks a free one). An app
 * with a management port of its own (HttpAppOptions.managementPort) also binds that
 * one; `closeServer` closes both.
 */
export async function listen(app: Express, port: number, host = '0.0.0.0'): Promise<Server> {
  const management = separateManagement(app);
  if (!management || management.port === port) return bind(app, port, host);
  const managementServer = await bind(management.app, management.port, host);
  try {
    const server = await bind(app, port, host);
    managementServers.set(server, managementServer);
    return server;
  } catch (error) {
    await closeServer(managementServer);
    throw error;
  }
}

/**
 * Serves `app` on a server the caller created (and listens on and closes). An app with a
 * management port of its own also binds that one, which `closeServer(server)` closes too.
 */
export async function serve(server: Server, app: Express, host = '0.0.0.0'): Promise<void> {
  const management = separateManagement(app);
  server.on('request', app);
  if (management) managementServers.set(server, await bind(management.app, management.port, host));
}

function closeOne(server: Server): Promise<void> {
  return new Promise((resolve, reject) => {
    server.close((error) => (error ? reject(error) : resolve()));
    server.closeIdleConnections();
  });
}

/** Stops accepting connections, lets requests in progress finish, closes idle keep-alives. */
export async function closeServer(server: Server): Promise<void> {
  const management = managementServers.get(server);
  await Promise.all([closeOne(server), ...(management ? [closeOne(management)] : [])]);
}
