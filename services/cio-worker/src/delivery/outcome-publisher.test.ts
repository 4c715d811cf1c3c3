import type { OutgoingMessage, Publisher } from '@cio-bridge/kafka';
import { waitFor } from '@cio-bridge/testkit';
import { OutcomePublisher } from './outcome-publisher';

/** A publisher that records each publication and answers as `fail` says. */
function fakePublisher(fail = false) {
  const publications: { topic: string; messages: OutgoingMessage[] }[] = [];
  const publisher = {
    async publish(topic: string, messages: OutgoingMessage[]) {
      publications.push({ topic, messages });
      if (fail) throw new Error('NOT_LEADER_FOR_PARTITION');
    },
  } as unknown as Publisher;
  return { publisher, publications };
}

const message = (i: number): OutgoingMessage => ({ key: `p${i}`, value: `{"n":${i}}` });

describe('OutcomePublisher', () => {
  it('publishes the messages of one turn of the event loop together, in order, and reports them once', async () => {
    const { publisher, publications } = fakePublisher();
    const reports: [string, number][] = [];
    const outcomes = new OutcomePublisher({
      publisher,
      topic: 'r',
      report: (result, n) => reports.push([result, n]),
    });
    for (let i = 0; i < 5; i++) outcomes.enqueue(message(i));
    expect(publications).toHaveLength(0);
    await waitFor(() => reports.length === 1, { what: 'one report' });
    expect(publications).toEqual([{ topic: 'r', messages: [0, 1, 2, 3, 4].map(message) }]);
    expect(reports).toEqual([['published', 5]]);
    outcomes.enqueue(message(5));
    await outcomes.flush();
    expect(publications.map((p) => p.messages.length)).toEqual([5, 1]);
    expect(reports).toEqual([
      ['published', 5],
      ['published', 1],
    ]);
  });

  it('cuts publications at maxBatch', async () => {
    const { publisher, publications } = fakePublisher();
    const outcomes = new OutcomePublisher({ publisher, topic: 'r', report: () => undefined, maxBatch: 2 });
    for (let i = 0; i < 5; i++) outcomes.enqueue(message(i));
    await outcomes.flush();
    expect(publications.map((p) => p.messages.map((m) => m.key))).toEqual([
      ['p0', 'p1'],
      ['p2', 'p3'],
      ['p4'],
    ]);
  });

  it('reports a publication Kafka refused as failed, with the error, and does not throw', async () => {
    const { publisher } = fakePublisher(true);
    const reports: [string, number, unknown?][] = [];
    const outcomes = new OutcomePublisher({ publisher, topic: 'r', report: (...args) => reports.push(args) });
    outcomes.enqueue(message(1));
    outcomes.enqueue(message(2));
    await outcomes.flush();
    expect(reports).toHaveLength(1);
    expect(reports[0]?.slice(0, 2)).toEqual(['failed', 2]);
    expect(String(reports[0]?.[2])).toMatch(/NOT_LEADER/);
  });
});
