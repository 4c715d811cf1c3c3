import { callMessageId } from './pipelines';

describe('callMessageId', () => {
  const id = '01HZX3K8Q6V9R2T4W7Y0B5C8D1';

  it("is the operation's own id for its first call", () => {
    expect(callMessageId(id, 0)).toBe(id);
  });

  // The ids the hand-written encoder produced: a retry or replay after an upgrade must
  // send Customer.io the same messageIds again.
  it.each([
    [id, 1, '01HZX3K8Q62S624K5293HQS4R1'],
    [id, 2, '01HZX3K8Q646XFB5E0N4WS6MNC'],
    ['7ZZZZZZZZZZZZZZZZZZZZZZZZZ', 1, '7ZZZZZZZZZ7400MY1KW0WVKJB4'],
    ['00000000000000000000000000', 5, '00000000002AB9X5A529GJMM5P'],
  ])('for %s call %i is %s, the same time and a hash of (id, n)', (operationId, n, expected) => {
    expect(callMessageId(operationId, n)).toBe(expected);
  });
});
