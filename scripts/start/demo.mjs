// Sample traffic for `npm start`: seed events for a few hundred people through the
// producer (some fail at Customer.io and land in the dead-letter topic, some are
// retried), and signed prediction webhooks sent by the sandbox.
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const PEOPLE = 300;
const FIRST_USER_ID = 1001;

const post = async (url, body, headers = {}) => {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });
  if (!response.ok) throw new Error(`${url} answered ${response.status}: ${await response.text()}`);
  return response.json().catch(() => ({}));
};
const put = (url, body) =>
  fetch(url, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

/** Each person: an identify, then three of the seed events, with current timestamps. */
function operationsFor(userId, examples) {
  const identifiers = { id: String(userId) };
  const now = new Date().toISOString();
  const events = Object.values(examples);
  return [
    {
      action: 'identify',
      identifiers,
      attributes: {
        email: `member${userId}@example.com`,
        plan: 'rewards',
        created_at: Math.floor(Date.now() / 1000),
      },
    },
    ...[0, 1, 2].map((i) => ({
      ...events[(userId + i) % events.length],
      identifiers,
      timestamp: now,
      id: undefined,
    })),
  ];
}

function predictionFor(userId) {
  return {
    user_id: userId,
    predictions: {
      churn_probability: Math.round(Math.random() * 100) / 100,
      engagement_score: Math.round(Math.random() * 100) / 100,
      recommended_segment: 'high_risk',
      next_best_action: 'send_retention_offer',
    },
  };
}

export async function runDemo({ services, ingestToken, signingKey, realCustomerIo, say }) {
  const { seedExamples } = require('@cio-bridge/schemas');
  const examples = seedExamples();
  const sandbox = services['cio-sandbox'];
  const auth = { authorization: `Bearer ${ingestToken}` };
  const operations = [];
  for (let person = 0; person < PEOPLE; person++)
    operations.push(...operationsFor(FIRST_USER_ID + person, examples));
  say(
    `demo: sending ${operations.length} operations for ${PEOPLE} people${realCustomerIo ? '' : ' and prediction webhooks'}`,
  );

  const send = async (slice) => {
    for (let i = 0; i < slice.length; i += 100) {
      await post(`${services.producer}/v1/track`, { batch: slice.slice(i, i + 100) }, auth);
      await new Promise((r) => setTimeout(r, 100));
    }
  };
  const third = Math.ceil(operations.length / 3);
  // Against the sandbox: a first third during a flaky Customer.io (503s, retried), a
  // second while it rejects a few operations (400s, dead-lettered), then a calm one.
  const phases = [
    { faults: { status: 503, rate: 0.2 }, slice: operations.slice(0, third) },
    { faults: { status: 400, rate: 0.3 }, slice: operations.slice(third, 2 * third) },
    { faults: null, slice: operations.slice(2 * third) },
  ];
  for (const { faults, slice } of phases) {
    if (sandbox && faults) await put(`${sandbox}/_sandbox/faults`, faults);
    if (sandbox && !faults) await fetch(`${sandbox}/_sandbox/faults`, { method: 'DELETE' });
    await send(slice);
    if (sandbox) await new Promise((r) => setTimeout(r, 2_000)); // let the worker meet the faults
  }
  if (sandbox) {
    const webhook = `${services['webhook-handler']}/webhooks/customer-io`;
    for (let person = 0; person < PEOPLE; person += 3) {
      await post(`${sandbox}/_sandbox/webhooks`, {
        url: webhook,
        signingKey,
        body: predictionFor(FIRST_USER_ID + person),
      });
    }
  }
  say('demo: all sample traffic sent');
}
