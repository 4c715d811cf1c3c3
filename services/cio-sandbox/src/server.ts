import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { listen } from '@cio-bridge/http';
import type { Logger } from '@cio-bridge/logger';
import type { WebhookDefaults } from './admin';
import { createSandbox, type SandboxControl } from './sandbox';
import type { SandboxState } from './state';

export interface StartSandboxOptions {
  /** 0 (default) picks a free port */
  port?: number;
  /** the address to bind (default 127.0.0.1) */
  host?: string;
  siteId?: string;
  apiKey?: string;
  appApiKey?: string;
  pipelinesApiKey?: string;
  rateLimitRps?: number | null;
  maxRecords?: number;
  logger?: Logger;
  webhooks?: WebhookDefaults;
}

export interface Sandbox {
  /** http://127.0.0.1:PORT: Track API under /api/v1 and /api/v2, App API under /v1, admin under /_sandbox */
  url: string;
  /** `url` + `/api/v1`: the `url` option of customerio-node's TrackClient */
  trackUrl: string;
  /** `url` + `/v1`: the `url` option of customerio-node's APIClient */
  appUrl: string;
  port: number;
  state: SandboxState;
  control: SandboxControl;
  close(): Promise<void>;
}

/** Stops listening; open keep-alive connections are closed, requests still running get `graceMs`. */
function closeServer(server: Server, graceMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => server.closeAllConnections(), graceMs);
    timer.unref();
    server.close((error) => {
      clearTimeout(timer);
      if (error) reject(error);
      else resolve();
    });
    server.closeIdleConnections();
  });
}

/** Starts a sandbox on its own port. */
export async function startSandbox(options: StartSandboxOptions = {}): Promise<Sandbox> {
  const { port = 0, host = '127.0.0.1', ...sandboxOptions } = options;
  const { app, state, control } = createSandbox(sandboxOptions);
  const server = await listen(app, port, host);
  const bound = (server.address() as AddressInfo).port;
  const url = `http://127.0.0.1:${bound}`;
  return {
    url,
    trackUrl: `${url}/api/v1`,
    appUrl: `${url}/v1`,
    port: bound,
    state,
    control,
    close: () => closeServer(server, 1000),
  };
}
