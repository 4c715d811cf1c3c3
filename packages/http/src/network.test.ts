import { createServer } from 'node:net';
import { createLogger } from '@cio-bridge/logger';
import { createHttpApp, finishHttpApp, managementRoutes } from './app';
import { createRegistry } from './metrics';
import type { TrustProxy } from './network';
import { closeServer, listen } from './server';

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
    server.on('error', reject);
  });
}

function build(network: { managementPort?: number; trustProxy?: TrustProxy } = {}) {
  const app = createHttpApp({
    logger: createLogger({ name: 't', level: 'silent' }),
    registry: createRegistry(),
    ...network,
  });
  app.get('/v1/ip', (req, res) => {
    res.json({ ip: req.ip });
  });
  managementRoutes(app).get('/status', (_req, res) => {
    res.json({ fine: true });
  });
  return finishHttpApp(app);
}

async function serve(app: ReturnType<typeof build>, port: number) {
  const server = await listen(app, port, '127.0.0.1');
  return { server, url: `http://127.0.0.1:${port}` };
}

describe('management port', () => {
  it('serves the management endpoints beside the API by default', async () => {
    const port = await freePort();
    const { server, url } = await serve(build(), port);
    try {
      for (const path of ['/healthz', '/readyz', '/metrics', '/status', '/v1/ip']) {
        expect((await fetch(`${url}${path}`)).status).toBe(200);
      }
    } finally {
      await closeServer(server);
    }
  });

  it('with a management port of their own, serves them only there', async () => {
    const [port, managementPort] = [await freePort(), await freePort()];
    const { server, url } = await serve(build({ managementPort }), port);
    const management = `http://127.0.0.1:${managementPort}`;
    try {
      expect((await fetch(`${url}/v1/ip`)).status).toBe(200);
      for (const path of ['/healthz', '/readyz', '/metrics', '/status']) {
        expect((await fetch(`${url}${path}`)).status).toBe(404);
        expect((await fetch(`${management}${path}`)).status).toBe(200);
      }
      expect((await fetch(`${management}/v1/ip`)).status).toBe(404);
      // API requests are counted in the metrics the management port serves.
      expect(await (await fetch(`${management}/metrics`)).text()).toMatch(/route="\/v1\/ip"/);
    } finally {
      await closeServer(server);
    }
    // closeServer closed both.
    await expect(fetch(`${management}/healthz`)).rejects.toThrow();
  });
});

describe('trust proxy', () => {
  const ipWith = async (trustProxy: TrustProxy | undefined, forwardedFor: string) => {
    const port = await freePort();
    const { server, url } = await serve(build(trustProxy === undefined ? {} : { trustProxy }), port);
    try {
      const response = await fetch(`${url}/v1/ip`, { headers: { 'x-forwarded-for': forwardedFor } });
      return ((await response.json()) as { ip: string }).ip;
    } finally {
      await closeServer(server);
    }
  };

  it('is off by default: X-Forwarded-For cannot forge the client address', async () => {
    expect(await ipWith(undefined, '203.0.113.9')).toMatch(/127\.0\.0\.1$/);
    expect(await ipWith(false, '203.0.113.9')).toMatch(/127\.0\.0\.1$/);
  });

  it('trusts a number of hops', async () => {
    expect(await ipWith(1, '198.51.100.1, 203.0.113.9')).toBe('203.0.113.9');
    expect(await ipWith(2, '198.51.100.1, 203.0.113.9')).toBe('198.51.100.1');
  });

  it('trusts a list of proxy addresses', async () => {
    expect(await ipWith(['127.0.0.1'], '203.0.113.9')).toBe('203.0.113.9');
    expect(await ipWith(['10.0.0.0/8'], '203.0.113.9')).toMatch(/127\.0\.0\.1$/);
  });
});
