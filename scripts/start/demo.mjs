// Sample traffic for `npm start`: seed events for a few hundred people through the
// producer (some fail at Customer.io and land in the dead-letter topic, some are
// retried), companies related to their members, anonymous visitors whose page views
// are merged when they sign up, page and screen views of members, one event that
// waits for Customer.io's answer (Prefer: wait), and signed prediction webhooks sent
// by the sandbox.

import { createRequire } from 'node:module';
import { setTimeout as sleep } from 'node:timers/promises';

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

const COMPANIES = 10;
const VISITORS = 20;
const FIRST_SIGN_UP_ID = 5001;

/**
 * The rest of Customer.io's model: companies (object type 1) related to members, a
 * household (object type 2) relating members from the person's side, anonymous
 * sessions merged on sign-up, and page and screen views of members.
 */
function dataModelOperations() {
  const ops = [];
  for (let c = 0; c < COMPANIES; c++) {
    const members = [0, 1, 2].map((m) => ({
      identifiers: { id: String(FIRST_USER_ID + c * 3 + m) },
      relationship_attributes: { role: m === 0 ? 'admin' : 'member' },
    }));
    ops.push({
      type: 'object',
      action: 'identify',
      identifiers: { object_type_id: '1', object_id: `company-${c + 1}` },
      attributes: { name: `Dispensary ${c + 1}`, region: c % 2 ? 'west' : 'east' },
      cio_relationships: members,
    });
  }
  ops.push({
    action: 'add_relationships',
    identifiers: { id: String(FIRST_USER_ID) },
    cio_relationships: [{ identifiers: { object_type_id: '2', object_id: 'household-1' } }],
  });
  for (let v = 0; v < VISITORS; v++) {
    const anonymous_id = `visitor-${Date.now().toString(36)}-${v}`;
    ops.push(
      { action: 'page', anonymous_id, name: '/', data: { url: 'https://www.example.com/', title: 'Home' } },
      { action: 'page', anonymous_id, name: '/pricing', data: { url: 'https://www.example.com/pricing' } },
      { name: 'plan_compared', anonymous_id, data: { plans: ['basic', 'rewards'] } },
      {
        action: 'identify',
        identifiers: { id: String(FIRST_SIGN_UP_ID + v) },
        anonymous_id,
        attributes: { email: `signup${FIRST_SIGN_UP_ID + v}@example.com`, plan: 'rewards' },
      },
    );
  }
  for (let p = 0; p < 50; p++) {
    const identifiers = { id: String(FIRST_USER_ID + p) };
    ops.push(
      p % 2
        ? { action: 'screen', identifiers, name: 'RewardsScreen', data: { tab: 'catalog' } }
        : { action: 'page', identifiers, name: '/rewards', data: { url: 'https://app.example.com/rewards' } },
    );
  }
  return ops;
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

/** One event sent with `Prefer: wait`: the answer says what Customer.io made of it. */
async function waitedRequest(producer, auth, say) {
  const response = await fetch(`${producer}/v1/track`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', prefer: 'wait=10', ...auth },
    body: JSON.stringify({
      name: 'password_reset_requested',
      identifiers: { id: String(FIRST_USER_ID) },
      timestamp: new Date().toISOString(),
    }),
  });
  const { results = [] } = await response.json();
  const described = results
    .map(
      (r) =>
        `${r.outcome}${r.status ? ` (status ${r.status})` : ''}${r.error_class ? ` ${r.error_class}` : ''}`,
    )
    .join(', ');
  say(
    `demo: waited for Customer.io's answer: ${response.status}, ${described} (POST /v1/track with Prefer: wait=10)`,
  );
}

export async function runDemo({ services, ingestToken, journeyBasic, realCustomerIo, say }) {
  const { seedExamples } = require('@cio-bridge/schemas');
  const examples = seedExamples();
  const sandbox = services['cio-sandbox'];
  const auth = { authorization: `Bearer ${ingestToken}` };
  const operations = [];
  for (let person = 0; person < PEOPLE; person++)
    operations.push(...operationsFor(FIRST_USER_ID + person, examples));
  say(
    `demo: sending ${operations.length} operations for ${PEOPLE} people, ${COMPANIES} companies, ${VISITORS} anonymous visitors who sign up${realCustomerIo ? '' : ', and prediction webhooks'}`,
  );

  const send = async (slice) => {
    for (let i = 0; i < slice.length; i += 100) {
      await post(`${services.producer}/v1/track`, { batch: slice.slice(i, i + 100) }, auth);
      await sleep(100);
    }
  };
  const third = Math.ceil(operations.length / 3);
  // Against the sandbox: a first third during a flaky Customer.io (503s, retried), a
  // second while it rejects a few operations (400s, dead-lettered), then a calm one.
  const phases = [
    { faults: { status: 503, rate: 0.2 }, slice: operations.slice(0, third) },
    { faults: { status: 400, rate: 0.3 }, slice: operations.slice(third, 2 * third) },
    { faults: null, slice: [...operations.slice(2 * third), ...dataModelOperations()] },
  ];
  for (const { faults, slice } of phases) {
    if (sandbox && faults) await put(`${sandbox}/_sandbox/faults`, faults);
    if (sandbox && !faults) await fetch(`${sandbox}/_sandbox/faults`, { method: 'DELETE' });
    await send(slice);
    if (sandbox) await sleep(2_000); // let the worker meet the faults
  }
  await waitedRequest(services.producer, auth, say);
  if (sandbox) {
    // Predictions as a journey's webhook action sends them: Basic credentials in the URL.
    const webhook = new URL(`${services['webhook-handler']}/webhooks/customer-io`);
    const colon = journeyBasic.indexOf(':');
    webhook.username = encodeURIComponent(journeyBasic.slice(0, colon));
    webhook.password = encodeURIComponent(journeyBasic.slice(colon + 1));
    for (let person = 0; person < PEOPLE; person += 3) {
      await post(`${sandbox}/_sandbox/webhooks`, {
        url: webhook.toString(),
        body: predictionFor(FIRST_USER_ID + person),
      });
    }
  }
  say('demo: all sample traffic sent');
}
