import { createRegistry } from '@cio-bridge/http';
import type { OutgoingMessage } from '@cio-bridge/kafka';
import { testLogger } from '@cio-bridge/testkit';
import type { Registry } from 'prom-client';
import { createApp, type MessagePublisher, type ProducerAppOptions } from '../index';

export const TOKEN = 'test-token-0123456789';

/** Records what would go to Kafka; fails with `failWith` when set. */
export class FakePublisher implements MessagePublisher {
  readonly calls: { topic: string; messages: OutgoingMessage[] }[] = [];
  failWith: Error | undefined;
  /** runs after each acknowledged publish (a test's stand-in for the worker) */
  onPublish: ((messages: OutgoingMessage[]) => Promise<void>) | undefined;

  async publish(topic: string, messages: OutgoingMessage[]): Promise<void> {
    if (this.failWith) throw this.failWith;
    this.calls.push({ topic, messages });
    await this.onPublish?.(messages);
  }

  get messages(): OutgoingMessage[] {
    return this.calls.flatMap((c) => c.messages);
  }

  values(): Record<string, unknown>[] {
    return this.messages.map((m) => JSON.parse(String(m.value)));
  }
}

export function buildApp(overrides: Partial<ProducerAppOptions> = {}) {
  const publisher = new FakePublisher();
  const registry: Registry = createRegistry();
  const app = createApp({
    logger: testLogger('producer'),
    registry,
    publisher,
    topics: { track: 't.track', transactional: 't.transactional' },
    tokens: ['other-token', TOKEN],
    ...overrides,
  });
  return { app, publisher, registry };
}
