import { PersonQueues } from './person-queues';

interface Node {
  n: number;
  next?: Node;
  last?: Node;
}

const drain = (queues: PersonQueues<Node>, person: string) => {
  const out: number[] = [];
  for (let head = queues.head(person); head; head = queues.shift(person)) out.push(head.n);
  return out;
};

describe('PersonQueues', () => {
  it('keeps each person’s items in order, separately', () => {
    const queues = new PersonQueues<Node>();
    expect(queues.push('a', { n: 1 })).toBe(true);
    expect(queues.push('b', { n: 10 })).toBe(true);
    expect(queues.push('a', { n: 2 })).toBe(false);
    expect(queues.push('a', { n: 3 })).toBe(false);
    expect(queues.size).toBe(2);
    expect(drain(queues, 'a')).toEqual([1, 2, 3]);
    expect(drain(queues, 'b')).toEqual([10]);
    expect(queues.size).toBe(0);
  });

  it('counts each person’s items through pushes, shifts and replacements', () => {
    const queues = new PersonQueues<Node>();
    for (let n = 0; n < 3; n++) queues.push('a', { n });
    queues.push('b', { n: 9 });
    expect(queues.length('a')).toBe(3);
    queues.shift('a');
    expect(queues.length('a')).toBe(2);
    queues.replace('a', [{ n: 7 }]);
    expect(queues.length('a')).toBe(1);
    queues.shift('a');
    expect(queues.length('a')).toBe(0);
    expect(queues.length('b')).toBe(1);
    queues.clear();
    expect(queues.length('b')).toBe(0);
  });

  it('appends after a shift at the right place', () => {
    const queues = new PersonQueues<Node>();
    queues.push('a', { n: 1 });
    queues.push('a', { n: 2 });
    queues.shift('a');
    queues.push('a', { n: 3 });
    queues.shift('a');
    queues.push('a', { n: 4 });
    expect(drain(queues, 'a')).toEqual([3, 4]);
  });

  it('lists and replaces queues', () => {
    const queues = new PersonQueues<Node>();
    for (const n of [1, 2, 3, 4]) queues.push('a', { n });
    const [[person, items]] = [...queues.queues()] as [[string, Node[]]];
    expect(person).toBe('a');
    queues.replace(
      'a',
      items.filter((item) => item.n % 2 === 0),
    );
    expect(drain(queues, 'a')).toEqual([2, 4]);
    queues.push('b', { n: 1 });
    queues.replace('b', []);
    expect(queues.head('b')).toBeUndefined();
  });
});
