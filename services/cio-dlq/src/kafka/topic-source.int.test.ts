// The TopicSource contract, run against the real reader (kafkajs internals, on the
// real broker) and against the in-memory source the unit tests use, so both read the
// same way. Re-run this file after any kafkajs upgrade: the reader relies on
// kafkajs' private cluster factory, its Fetch request encoder and its codecs.
import { testKafka, uniqueName } from '@cio-bridge/testkit';
import { CompressionTypes, type Kafka, Partitioners, type Producer } from 'kafkajs';
import { MemorySource } from '../testing/memory-source';
import { TopicReader } from './topic-reader';
import { type RawMessage, TopicNotFoundError, type TopicSource } from './topic-source';

jest.setTimeout(60_000);

interface Written {
  partition: number;
  key: string;
  value: string;
  headers: Record<string, string>;
  timestamp: number;
}

const base = Date.parse('2024-05-22T10:00:00Z');
// Two partitions, interleaved in time; one header with a binary value.
const written: Written[] = [
  { partition: 0, key: 'a', value: 'a0', headers: { h: 'x' }, timestamp: base + 1 },
  { partition: 1, key: 'b', value: 'b0', headers: {}, timestamp: base + 2 },
  { partition: 0, key: 'a', value: 'a1', headers: {}, timestamp: base + 3 },
  { partition: 0, key: 'a', value: 'a2', headers: { 'x-dlq-error-class': 'http_4xx' }, timestamp: base + 5 },
  { partition: 1, key: 'b', value: 'b1', headers: {}, timestamp: base + 4 },
];

const text = (m: RawMessage) => m.value?.toString() ?? null;

function contract(name: string, open: () => Promise<{ source: TopicSource; topic: string }>) {
  describe(name, () => {
    let source: TopicSource;
    let topic: string;
    beforeAll(async () => {
      ({ source, topic } = await open());
    });

    it('gives each partition its offsets', async () => {
      expect(await source.ranges(topic)).toEqual([
        { partition: 0, low: '0', high: '3' },
        { partition: 1, low: '0', high: '2' },
      ]);
    });

    it('merges partitions oldest first, each in offset order, keys and headers byte for byte', async () => {
      const all: RawMessage[] = [];
      for await (const m of source.read(topic)) all.push(m);
      expect(all.map(text)).toEqual(['a0', 'b0', 'a1', 'b1', 'a2']);
      expect(all.map((m) => `${m.partition}:${m.offset}`)).toEqual(['0:0', '1:0', '0:1', '1:1', '0:2']);
      expect(all[0]!.key!.toString()).toBe('a');
      expect(all[0]!.timestamp).toBe(String(base + 1));
      expect((all[0]!.headers.h as Buffer).toString()).toBe('x');
      const runs: string[][] = [];
      for await (const run of source.readRuns(topic)) runs.push(run.map((m) => text(m)!));
      expect(runs.flat()).toEqual(['a0', 'b0', 'a1', 'b1', 'a2']);
    });

    it('reads from and to offsets, and only the partitions asked for', async () => {
      const some: string[] = [];
      for await (const m of source.read(topic, {
        partitions: [0],
        from: new Map([[0, '1']]),
        to: new Map([[0, '2']]),
      }))
        some.push(text(m)!);
      expect(some).toEqual(['a1']);
    });

    it('reads one message, and nothing past the end', async () => {
      expect(text((await source.readOne(topic, 1, '1'))!)).toBe('b1');
      expect(await source.readOne(topic, 1, '2')).toBeUndefined();
    });

    it('says when a topic does not exist', async () => {
      expect(await source.exists(`${topic}-missing`)).toBe(false);
      await expect(source.ranges(`${topic}-missing`)).rejects.toBeInstanceOf(TopicNotFoundError);
    });
  });
}

let kafka: Kafka;
let producer: Producer;
let reader: TopicReader;

beforeAll(async () => {
  kafka = await testKafka('dlq-source');
  producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
  await producer.connect();
  reader = new TopicReader(kafka);
  await reader.connect();
});

afterAll(async () => {
  await reader?.close();
  await producer?.disconnect();
});

contract('TopicReader (Kafka)', async () => {
  const topic = uniqueName('dlq-source');
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic, numPartitions: 2 }], waitForLeaders: true });
  await admin.disconnect();
  // gzip, as a producer configured for compression writes it
  for (const m of written) {
    await producer.send({
      topic,
      acks: -1,
      compression: CompressionTypes.GZIP,
      messages: [
        {
          partition: m.partition,
          key: m.key,
          value: m.value,
          headers: m.headers,
          timestamp: String(m.timestamp),
        },
      ],
    });
  }
  return { source: reader, topic };
});

contract('MemorySource', async () => {
  const topic = 'memory';
  const source = new MemorySource().createTopic(topic, 2);
  source.append(topic, written);
  return { source, topic };
});
