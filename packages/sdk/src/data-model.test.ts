import type { OutgoingMessage } from '@cio-bridge/kafka';
import { CioPublisher, InvalidOperationError, type MessagePublisher } from './index';

class FakePublisher implements MessagePublisher {
  readonly messages: OutgoingMessage[] = [];
  async publish(_topic: string, messages: OutgoingMessage[]): Promise<void> {
    this.messages.push(...messages);
  }
}

const acme = { object_type_id: '1', object_id: 'acme' };

describe('CioPublisher: objects, relationships, anonymous activity, page views', () => {
  const setup = () => {
    const fake = new FakePublisher();
    return { fake, sdk: new CioPublisher({ publisher: fake }) };
  };

  it('keys object operations by object:<type>:<id> and person relationships by the person', async () => {
    const { fake, sdk } = setup();
    expect(
      (
        await sdk.identifyObject(acme, { name: 'Acme' }, [
          { identifiers: { id: 'u1' }, relationship_attributes: { role: 'admin' } },
        ])
      ).key,
    ).toBe('object:1:acme');
    expect((await sdk.relateObject(acme, [{ identifiers: { email: 'a@example.com' } }])).key).toBe(
      'object:1:acme',
    );
    expect((await sdk.unrelateObject(acme, [{ identifiers: { id: 'u1' } }])).key).toBe('object:1:acme');
    expect((await sdk.deleteObject(acme)).key).toBe('object:1:acme');
    expect((await sdk.addRelationships('u1', [{ identifiers: acme }])).key).toBe('u1');
    expect((await sdk.deleteRelationships('u1', [{ identifiers: acme }])).key).toBe('u1');
    expect(JSON.parse(String(fake.messages[0]?.value))).toMatchObject({
      type: 'object',
      action: 'identify',
      identifiers: acme,
      attributes: { name: 'Acme' },
      cio_relationships: [{ identifiers: { id: 'u1' }, relationship_attributes: { role: 'admin' } }],
    });
  });

  it('sends anonymous events and page views, and an identify that merges them', async () => {
    const { fake, sdk } = setup();
    expect((await sdk.page({ anonymous_id: 'a-1' }, '/pricing', { url: 'https://x/pricing' })).key).toBe(
      'anonymous:a-1',
    );
    expect((await sdk.trackAnonymous('a-1', 'viewed_plan')).key).toBe('anonymous:a-1');
    expect((await sdk.identifyMerging('u1', 'a-1', { plan: 'pro' })).key).toBe('u1');
    expect((await sdk.screen('u1', 'Home')).key).toBe('u1');
    const [page, , identify] = fake.messages.map((m) => JSON.parse(String(m.value)));
    expect(page).toMatchObject({
      action: 'page',
      anonymous_id: 'a-1',
      name: '/pricing',
      data: { url: 'https://x/pricing' },
    });
    expect(page.identifiers).toBeUndefined();
    expect(identify).toMatchObject({ action: 'identify', identifiers: { id: 'u1' }, anonymous_id: 'a-1' });
  });

  it('rejects an object without object_type_id, naming the field, and sends nothing', async () => {
    const { fake, sdk } = setup();
    const error = await sdk
      .identifyObject({ object_id: 'acme' } as unknown as typeof acme)
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InvalidOperationError);
    expect((error as InvalidOperationError).message).toMatch(/\/identifiers\/object_type_id/);
    expect(fake.messages).toHaveLength(0);
  });
});
