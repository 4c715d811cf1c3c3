import type { TopicKey } from './topics';

/**
 * What the key and the value of each catalog topic hold, in words: the contract
 * tables of docs/contracts.md are generated from it (typed by role, so a topic added
 * to the catalog cannot go undocumented).
 */
export const TOPIC_CONTENTS: Record<TopicKey, { key: string; value: string }> = {
  track: { key: 'Customer.io person identifier', value: 'one Track operation' },
  transactional: { key: 'recipient identifier', value: 'one App API send request' },
  dlq: { key: 'original key', value: 'original value, byte for byte, plus failure headers' },
  predictions: { key: 'upstream user id', value: 'a prediction' },
  reporting: { key: 'Customer.io person id', value: 'a reporting webhook event, as received' },
  quarantine: {
    key: 'webhook id',
    value:
      'a signed webhook body that failed validation, as received, with the reason and the signature headers',
  },
  replies: {
    key: 'operation id',
    value:
      'the outcome of an operation a caller waits for, in the receipt form, on the partition its x-reply-to header names',
  },
  predictionsDlq: {
    key: 'upstream user id',
    value: 'a prediction the database rejected, with the error in headers',
  },
};
