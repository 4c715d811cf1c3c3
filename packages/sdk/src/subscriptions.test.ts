import type { OutgoingMessage } from '@cio-bridge/kafka';
import { validateTrackOperation } from '@cio-bridge/schemas';
import { CioPublisher, RESUBSCRIBE_EVENT, subscriptionOperations } from './index';

const on = { email: true, sms: true };
const emailOnly = { email: true, sms: false };
const smsOnly = { email: false, sms: true };
const muted = { email: false, sms: false };
const member = 'user-42';
const attributes = { first_name: 'Jane', user_id: 42 };

const shape = (before: typeof on | undefined, after: typeof on) =>
  subscriptionOperations({ member, attributes, before, after }).map((op) => op.action ?? `event:${op.name}`);

describe('subscription lifecycle (seed 004)', () => {
  it('creates the profile of a new, subscribed account', () => {
    const ops = subscriptionOperations({ member, attributes, before: undefined, after: on });
    expect(ops).toEqual([
      {
        action: 'identify',
        identifiers: { id: member },
        attributes: { ...attributes, promotions_email: true, promotions_sms: true },
      },
    ]);
  });

  it('creates no profile for a new account that is muted from the start', () => {
    expect(shape(undefined, muted)).toEqual([]);
  });

  it.each([
    ['both', on],
    ['email only', emailOnly],
    ['SMS only', smsOnly],
  ])('deletes the profile when a member subscribed to %s mutes both channels', (_what, before) => {
    expect(subscriptionOperations({ member, before, after: muted })).toEqual([
      { action: 'delete', identifiers: { id: member } },
    ]);
  });

  it('does not delete a member who unsubscribes from one channel only', () => {
    expect(shape(on, emailOnly)).toEqual(['identify']);
    expect(shape(on, smsOnly)).toEqual(['identify']);
  });

  it.each([
    ['email', emailOnly, ['email']],
    ['SMS', smsOnly, ['sms']],
    ['both', on, ['email', 'sms']],
  ])(
    're-creates a muted member who resubscribes to %s, then tracks promotions_resubscribe',
    (_w, after, channels) => {
      const ops = subscriptionOperations({ member, attributes, before: muted, after, timestamp: 1716402912 });
      expect(ops).toHaveLength(2);
      expect(ops[0]).toMatchObject({ action: 'identify', identifiers: { id: member }, attributes });
      expect(ops[1]).toEqual({
        name: RESUBSCRIBE_EVENT,
        identifiers: { id: member },
        data: { channels },
        timestamp: 1716402912,
      });
      for (const op of ops) expect(validateTrackOperation(op).ok).toBe(true);
    },
  );

  it('does nothing while a muted member stays muted or nothing changes', () => {
    expect(shape(muted, muted)).toEqual([]);
    expect(shape(on, on)).toEqual([]);
  });

  it('publishes the lifecycle in order on one key through the publisher', async () => {
    const sent: OutgoingMessage[] = [];
    const sdk = new CioPublisher({
      publisher: { publish: async (_t, messages) => void sent.push(...messages) },
    });
    expect(await sdk.updateSubscriptions({ member, before: undefined, after: on })).toHaveLength(1);
    expect(await sdk.updateSubscriptions({ member, before: on, after: muted })).toHaveLength(1);
    expect(await sdk.updateSubscriptions({ member, before: muted, after: muted })).toEqual([]);
    expect(await sdk.updateSubscriptions({ member, before: muted, after: smsOnly })).toHaveLength(2);
    const values = sent.map((m) => JSON.parse(String(m.value)));
    expect(values.map((v) => v.action ?? v.name)).toEqual([
      'identify',
      'delete',
      'identify',
      RESUBSCRIBE_EVENT,
    ]);
    expect(new Set(sent.map((m) => m.key))).toEqual(new Set([member]));
  });
});
