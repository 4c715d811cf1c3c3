import { testLogger } from '@cio-bridge/testkit';
import { DeliveryError } from '../errors';
import { sendAlone } from './send-alone';
import { MemoryLedger } from './transactional-ledger';
import type { Channel, Item } from './types';

const logger = testLogger();
const memoryLedger = () => new MemoryLedger(60_000);
const item = (id: string) =>
  ({ envelope: { offset: '1' }, op: { id, body: Buffer.from('{}') } }) as unknown as Item;
const channel = (answer: () => Promise<void>) => {
  const calls: Buffer[] = [];
  const ch: Channel = {
    api: 'app',
    sendOne: (body) => {
      calls.push(body);
      return answer();
    },
  };
  return { ch, calls };
};
const timeout = () => new DeliveryError('timeout', 'no answer within 10000 ms', true);

describe('sendAlone', () => {
  it('sends, records the id, and skips the next send of the same id', async () => {
    const ledger = memoryLedger();
    const { ch, calls } = channel(async () => {});
    expect(await sendAlone(item('a'), { channel: ch, ledger, logger })).toEqual({ kind: 'sent' });
    expect(await sendAlone(item('a'), { channel: ch, ledger, logger })).toEqual({ kind: 'sent-before' });
    expect(calls).toHaveLength(1);
  });

  it('fails a send that may have reached Customer.io as ambiguous, unless told to retry it', async () => {
    const { ch } = channel(() => Promise.reject(timeout()));
    const dead = await sendAlone(item('b'), { channel: ch, ledger: memoryLedger(), logger });
    expect(dead).toEqual({
      kind: 'failed',
      error: expect.objectContaining({ errorClass: 'ambiguous', retriable: false }),
    });
    const retried = await sendAlone(item('b'), {
      channel: ch,
      ledger: memoryLedger(),
      logger,
      ambiguous: 'retry',
    });
    expect(retried).toEqual({
      kind: 'failed',
      error: expect.objectContaining({ errorClass: 'timeout', retriable: true }),
    });
  });

  it('without a ledger passes the failure through as it is', async () => {
    const { ch } = channel(() => Promise.reject(timeout()));
    expect(await sendAlone(item('c'), { channel: ch, logger })).toEqual({
      kind: 'failed',
      error: expect.objectContaining({ errorClass: 'timeout' }),
    });
  });

  it('a ledger that cannot be read fails the send as retriable, and sends nothing', async () => {
    const { ch, calls } = channel(async () => {});
    const ledger = {
      kind: 'redis' as const,
      sent: () => Promise.reject(new Error('down')),
      record: async () => {},
    };
    expect(await sendAlone(item('d'), { channel: ch, ledger, logger })).toEqual({
      kind: 'failed',
      error: expect.objectContaining({ errorClass: 'unknown', retriable: true }),
    });
    expect(calls).toHaveLength(0);
  });
});
