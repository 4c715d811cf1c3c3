import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { verifyRequestSignature } from 'customerio-node';
import request from 'supertest';
import { createSandbox, sendWebhook, signWebhook } from './index';

interface Received {
  headers: IncomingHttpHeaders;
  body: string;
}

/** A receiver answering each request with the next status of `statuses` (the last one repeats). */
async function receiver(statuses: number[]) {
  const received: Received[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      received.push({ headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
      const status = statuses[Math.min(received.length - 1, statuses.length - 1)]!;
      res.writeHead(status).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/webhooks/cio`;
  return {
    url,
    received,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

const fast = { baseDelayMs: 5, maxDelayMs: 20 };

describe('signWebhook', () => {
  it('is the hex HMAC-SHA256 of v0:<timestamp>:<raw body>', () => {
    // computed independently: python3 hmac.new(b'secret-key', b'v0:1700000000:{"a":1}', sha256)
    expect(signWebhook('secret-key', 1700000000, '{"a":1}')).toBe(
      '550be7c75899b956f681baf066975e503f31b20693f383030f260663b63ec1a8',
    );
    expect(signWebhook('secret-key', '1700000000', Buffer.from('{"a":1}'))).toBe(
      signWebhook('secret-key', 1700000000, '{"a":1}'),
    );
  });

  it('agrees with customerio-node verifyRequestSignature and changes with key, time and body', () => {
    const signature = signWebhook('k', 1, 'body');
    expect(verifyRequestSignature({ signingSecret: 'k', timestamp: '1', body: 'body', signature })).toBe(
      true,
    );
    expect(signWebhook('other', 1, 'body')).not.toBe(signature);
    expect(signWebhook('k', 2, 'body')).not.toBe(signature);
    expect(signWebhook('k', 1, 'body ')).not.toBe(signature);
  });
});

describe('sendWebhook', () => {
  it('posts signed JSON and retries non-2xx answers until one succeeds', async () => {
    const target = await receiver([500, 429, 204]);
    try {
      const body = { metric: 'bounced', event_id: '01E4C4CT6YDC7Y5M7FE1GWWPQJ', data: { customer_id: '42' } };
      const result = await sendWebhook({
        url: target.url,
        signingKey: 'sk',
        body,
        timestamp: 1613063089,
        ...fast,
      });
      expect(result).toMatchObject({ status: 204, attempts: 3, delivered: true, timestamp: 1613063089 });
      expect(target.received).toHaveLength(3);
      for (const { headers, body: raw } of target.received) {
        expect(raw).toBe(JSON.stringify(body));
        expect(headers['content-type']).toBe('application/json');
        expect(headers['x-cio-timestamp']).toBe('1613063089');
        expect(headers['x-cio-signature']).toBe(signWebhook('sk', 1613063089, raw));
      }
    } finally {
      await target.close();
    }
  });

  it('sends a raw string body byte for byte', async () => {
    const target = await receiver([200]);
    try {
      const raw = '{ "b": 2,\n  "a": "ü" }';
      await sendWebhook({ url: target.url, signingKey: 'sk', body: raw, ...fast });
      expect(target.received[0]!.body).toBe(raw);
      const { headers } = target.received[0]!;
      expect(headers['x-cio-signature']).toBe(signWebhook('sk', headers['x-cio-timestamp'] as string, raw));
    } finally {
      await target.close();
    }
  });

  it('gives up after maxAttempts failing answers', async () => {
    const target = await receiver([503]);
    try {
      const result = await sendWebhook({
        url: target.url,
        signingKey: 'sk',
        body: {},
        maxAttempts: 3,
        ...fast,
      });
      expect(result).toMatchObject({ status: 503, attempts: 3, delivered: false });
      expect(target.received).toHaveLength(3);
    } finally {
      await target.close();
    }
  });

  it('retries network errors and reports the last one', async () => {
    const target = await receiver([200]);
    await target.close(); // nothing listens on the port any more
    const result = await sendWebhook({
      url: target.url,
      signingKey: 'sk',
      body: {},
      maxAttempts: 2,
      ...fast,
    });
    expect(result).toMatchObject({ status: 0, attempts: 2, delivered: false, error: 'ECONNREFUSED' });
  });
});

describe('POST /_sandbox/webhooks', () => {
  it('signs, sends and retries, answering status and attempts', async () => {
    const target = await receiver([502, 200]);
    const { app } = createSandbox({ webhooks: fast });
    try {
      const { body } = await request(app)
        .post('/_sandbox/webhooks')
        .send({ url: target.url, signingKey: 'whsec_1', body: { user_id: 7 }, timestamp: 1716400000 })
        .expect(200);
      expect(body).toMatchObject({ status: 200, attempts: 2, delivered: true });
      const last = target.received[1]!;
      expect(
        verifyRequestSignature({
          signingSecret: 'whsec_1',
          timestamp: last.headers['x-cio-timestamp'] as string,
          signature: last.headers['x-cio-signature'] as string,
          body: last.body,
        }),
      ).toBe(true);
      const log = (await request(app).get('/_sandbox/webhooks').expect(200)).body;
      expect(log).toEqual([expect.objectContaining({ url: target.url, status: 200, attempts: 2 })]);
    } finally {
      await target.close();
    }
  });

  it('sends a journey webhook: Basic credentials from the URL as a header, no signature, none in the log', async () => {
    const target = await receiver([200]);
    try {
      const url = new URL(target.url);
      url.username = 'customerio';
      url.password = 'journey-password-0123';
      const app = createSandbox().app;
      const body = { user_id: 42, predictions: { churn_probability: 0.5 } };
      const result = (
        await request(app)
          .post('/_sandbox/webhooks')
          .send({ url: url.toString(), body, headers: { 'X-Journey-Secret': 'header-secret-0123456' } })
          .expect(200)
      ).body;
      expect(result).toMatchObject({ status: 200, delivered: true });
      expect(result.signature).toBeUndefined();
      const [received] = target.received;
      expect(received!.headers.authorization).toBe(
        `Basic ${Buffer.from('customerio:journey-password-0123').toString('base64')}`,
      );
      expect(received!.headers['x-journey-secret']).toBe('header-secret-0123456');
      expect(received!.headers['x-cio-signature']).toBeUndefined();
      expect(JSON.parse(received!.body)).toEqual(body);
      const log = (await request(app).get('/_sandbox/webhooks').expect(200)).body;
      expect(JSON.stringify(log)).not.toContain('journey-password-0123');
    } finally {
      await target.close();
    }
  });

  it.each([
    [{ signingKey: 'k', body: {} }, 'url must be an http(s) URL'],
    [{ url: 'http://127.0.0.1:1/x', body: {} }, 'signingKey must be a non-empty string'],
    [{ url: 'http://127.0.0.1:1/x', signingKey: 'k' }, 'body is required'],
    [
      { url: 'http://127.0.0.1:1/x', signingKey: 'k', body: {}, timestamp: 'now' },
      'timestamp must be unix seconds',
    ],
    [{ url: 'http://127.0.0.1:1/x', signingKey: 'k', body: {}, maxAttempts: 0 }, 'maxAttempts must be'],
  ])('refuses %j naming the field', async (payload, message) => {
    const { body } = await request(createSandbox().app).post('/_sandbox/webhooks').send(payload).expect(400);
    expect(body.error).toContain(message);
  });
});
