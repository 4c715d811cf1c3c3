import { createRegistry } from '@cio-bridge/http';
import { testLogger } from '@cio-bridge/testkit';
import request from 'supertest';
import { createApp, type ReadApiAuth } from './app';
import { createMemoryCache } from './cache';
import { createInsightsMetrics } from './metrics';
import { userKeyFor } from './user-key';
import type { FeaturesRecord, UsersStore } from './users-store';

const TOKEN = 'read-api-token-0123456789';
const body = '{"user_id":7,"ai_features":{"churn":0.2},"updated_at":"2026-01-01T00:00:00.000000Z"}';

/** The read API over a users store that counts its database reads. */
function build(auth: ReadApiAuth) {
  const reads: string[] = [];
  const users = {
    key: userKeyFor('bigint'),
    async read(id: string): Promise<FeaturesRecord | undefined> {
      reads.push(id);
      return id === '7' ? { userId: '7', body, version: 1 } : undefined;
    },
  } as unknown as UsersStore;
  const registry = createRegistry();
  const app = createApp({
    users,
    cache: createMemoryCache({ ttlSeconds: 60, maxEntries: 10 }),
    metrics: createInsightsMetrics(registry),
    logger: testLogger('insights-processor'),
    registry,
    auth,
  });
  return { app, reads };
}

describe('read API authentication', () => {
  it.each([
    ['no Authorization header', undefined],
    ['a wrong token', 'Bearer not-the-read-api-token'],
    ['a prefix of the token', `Bearer ${TOKEN.slice(0, -1)}`],
    ['another scheme', `Basic ${Buffer.from(`x:${TOKEN}`).toString('base64')}`],
  ])('answers 401 with WWW-Authenticate: Bearer for %s, without a database query', async (_name, header) => {
    const { app, reads } = build({ tokens: [TOKEN] });
    const req = request(app).get('/v1/users/7/ai-features');
    if (header) req.set('Authorization', header);
    const res = await req.expect(401);
    expect(res.headers['www-authenticate']).toMatch(/^Bearer\b/);
    expect(res.body.error).toMatch(/bearer token/);
    expect(res.text).not.toContain('churn');
    expect(reads).toEqual([]);
  });

  it('answers with a valid token', async () => {
    const { app, reads } = build({ tokens: ['other-token-0123456789', TOKEN] });
    const res = await request(app)
      .get('/v1/users/7/ai-features')
      .set('Authorization', `Bearer ${TOKEN}`)
      .expect(200);
    expect(res.body.ai_features).toEqual({ churn: 0.2 });
    expect(reads).toEqual(['7']);
  });

  it('keeps the management endpoints open (they carry no personal data)', async () => {
    const { app } = build({ tokens: [TOKEN] });
    await request(app).get('/healthz').expect(200);
    await request(app).get('/metrics').expect(200);
  });

  it('serves without a token only when configured with auth "none"', async () => {
    const { app } = build('none');
    await request(app).get('/v1/users/7/ai-features').expect(200);
  });
});
