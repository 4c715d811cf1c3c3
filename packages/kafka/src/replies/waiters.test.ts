import { setTimeout as sleep } from 'node:timers/promises';
import { Waiters } from './waiters';

const delivered = (id: string) => ({ id, outcome: 'delivered' as const, status: 200 });

describe('Waiters', () => {
  it('answers in request order once every operation has an outcome', async () => {
    const waiters = new Waiters(10);
    const wait = waiters.add(['a', 'b', 'c'])!;
    waiters.settle(delivered('c'));
    waiters.settle({ id: 'a', outcome: 'dead_lettered', status: 400, error_class: 'http_4xx' });
    waiters.settle(delivered('b'));
    const answer = await wait.done(5_000);
    expect(answer.complete).toBe(true);
    expect(answer.results).toEqual([
      { id: 'a', outcome: 'dead_lettered', status: 400, error_class: 'http_4xx' },
      delivered('b'),
      delivered('c'),
    ]);
    expect(waiters.size).toBe(0);
  });

  it('reports pending for what is not known when the wait runs out, and forgets the rest', async () => {
    const waiters = new Waiters(10);
    const wait = waiters.add(['a', 'b'])!;
    waiters.settle(delivered('a'));
    const answer = await wait.done(20);
    expect(answer.complete).toBe(false);
    expect(answer.results).toEqual([delivered('a'), { id: 'b', outcome: 'pending' }]);
    expect(waiters.size).toBe(0);
    // a late reply finds nobody and changes nothing
    expect(waiters.settle(delivered('b'))).toBe(false);
  });

  it('refuses a wait past the bound, counting every operation waited for', () => {
    const waiters = new Waiters(3);
    expect(waiters.add(['a', 'b'])).toBeDefined();
    expect(waiters.add(['c', 'd'])).toBeUndefined();
    expect(waiters.add(['c'])).toBeDefined();
    expect(waiters.size).toBe(3);
  });

  it('answers every request waiting for the same id (a client retrying while the first still waits)', async () => {
    const waiters = new Waiters(10);
    const first = waiters.add(['a'])!;
    const second = waiters.add(['a', 'a'])!;
    expect(waiters.settle(delivered('a'))).toBe(true);
    expect((await first.done(5_000)).results).toEqual([delivered('a')]);
    expect((await second.done(5_000)).results).toEqual([delivered('a'), delivered('a')]);
  });

  it('cancel gives the places back without an answer', async () => {
    const waiters = new Waiters(2);
    const wait = waiters.add(['a', 'b'])!;
    wait.cancel();
    expect(waiters.size).toBe(0);
    expect(waiters.settle(delivered('a'))).toBe(false);
    await sleep(1);
  });
});
