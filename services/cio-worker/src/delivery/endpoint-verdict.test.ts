import { setTimeout as sleep } from 'node:timers/promises';
import { DeliveryError } from '../errors';
import { EndpointVerdict } from './endpoint-verdict';

const status = (code: number) => new DeliveryError('http_4xx', `status ${code}`, false, code);

function verdict() {
  const outcomes: string[] = [];
  const subject = new EndpointVerdict<{ person: string; n: number }>({
    personOf: (item) => item.person,
    timeoutMs: 20,
    messagesAtFault: (held) => outcomes.push(`messages: ${held.map((h) => h.item.n).join(',')}`),
    endpointAtFault: (error, people, held) =>
      outcomes.push(`endpoint ${error.status} (${people} people): ${held.map((h) => h.n).join(',')}`),
  });
  return { subject, outcomes };
}

describe('EndpointVerdict', () => {
  it('makes a failure the message’s own once another request succeeds', () => {
    const { subject, outcomes } = verdict();
    subject.hold({ person: 'a', n: 1 }, status(400));
    subject.succeeded();
    expect(outcomes).toEqual(['messages: 1']);
  });

  it('makes 404 for two people the endpoint’s fault, and 400 only for three', () => {
    const { subject, outcomes } = verdict();
    subject.hold({ person: 'a', n: 1 }, status(404));
    subject.hold({ person: 'a', n: 2 }, status(404));
    expect(outcomes).toEqual([]);
    subject.hold({ person: 'b', n: 3 }, status(404));
    expect(outcomes).toEqual(['endpoint 404 (2 people): 1,2,3']);
    subject.hold({ person: 'a', n: 4 }, status(400));
    subject.hold({ person: 'b', n: 5 }, status(400));
    expect(outcomes).toHaveLength(1);
    subject.hold({ person: 'c', n: 6 }, status(400));
    expect(outcomes[1]).toBe('endpoint 400 (3 people): 4,5,6');
    subject.stop();
  });

  it('makes a failure the message’s own when no verdict comes in time', async () => {
    const { subject, outcomes } = verdict();
    subject.hold({ person: 'a', n: 1 }, status(422));
    await sleep(50);
    expect(outcomes).toEqual(['messages: 1']);
  });
});
