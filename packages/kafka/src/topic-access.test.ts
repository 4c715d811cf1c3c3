import { TOPIC_ACCESS, topicRolesOf } from './topic-access';
import { TOPICS, type TopicKey } from './topics';

const roles = Object.keys(TOPICS) as TopicKey[];
const declared = Object.values(TOPIC_ACCESS);

describe('TOPIC_ACCESS', () => {
  it.each(roles)('declares a writer and a reader of the %s topic', (role) => {
    expect(declared.some((access) => (access.writes as readonly TopicKey[]).includes(role))).toBe(true);
    expect(declared.some((access) => (access.reads as readonly TopicKey[]).includes(role))).toBe(true);
  });

  it('gives each service what it reads and writes, once each', () => {
    expect(topicRolesOf('insights-processor')).toEqual(['predictions', 'reporting', 'predictionsDlq']);
    expect(topicRolesOf('cio-dlq')).toEqual([
      'dlq',
      'quarantine',
      'predictionsDlq',
      'track',
      'transactional',
      'predictions',
      'reporting',
    ]);
  });
});
