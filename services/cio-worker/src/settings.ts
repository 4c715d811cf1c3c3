/** How the worker paces, batches and retries; every field has a production default. */
export interface WorkerTuning {
  /** App API (transactional) request budget; the Track API's is `rateLimitRps` */
  appRateLimitRps: number;
  /**
   * share of each budget aimed at (0-1): the rest is headroom for requests that arrive
   * bunched at Customer.io (its clock, network and load jitter) and would overrun its
   * per-second window
   */
  rateLimitUtilisation: number;
  requestTimeoutMs: number;
  /** delivery attempts before a transiently failing operation is dead-lettered */
  maxAttempts: number;
  /** time since the first failure after which an operation is dead-lettered */
  maxRetryMs: number;
  retryBaseMs: number;
  retryMaxMs: number;
  /** operations held per topic (queued, in flight, being dead-lettered) before fetching pauses */
  maxBuffered: number;
  /**
   * operations one person may hold (queued, in flight, in backoff) before the partition
   * carrying them pauses; it resumes when they are down to half
   */
  maxPerPerson: number;
  /**
   * offsets one partition may hold past its commit point (the lowest unfinished message)
   * before it pauses: bounds memory while one message waits in back-off
   */
  maxUncommittedPerPartition: number;
  /** concurrent requests per API */
  concurrency: number;
  maxBatchOperations: number;
  /** Customer.io's limits for /api/v2/batch */
  maxBatchBytes: number;
  maxOperationBytes: number;
  /** how often committable offsets are committed */
  commitIntervalMs: number;
  /** first and longest pause between credential probes while Customer.io answers 401/403 */
  authProbeMinMs: number;
  authProbeMaxMs: number;
  /**
   * how long a permanent failure waits for a verdict (another request succeeding: the
   * message's fault; the same answer for several people: the endpoint's) before it is
   * dead-lettered as the message's
   */
  endpointVerdictMs: number;
  /**
   * the same permanent status for this many different people, with no success in
   * between, is the endpoint's fault rather than the messages' (404/405: two people)
   */
  endpointFaultPeople: number;
  /** a transactional send that may have reached Customer.io without an answer: retry or dead-letter (`ambiguous`) */
  transactionalAmbiguous: 'retry' | 'dead-letter';
  /** how long the dead-letter topic keeps messages (the send ledger outlives a replay from it) */
  dlqRetentionMs: number;
  /** pause after a 429 without Retry-After */
  defaultRetryAfterMs: number;
  /** bounded stop: how long SIGTERM waits for requests in flight */
  shutdownTimeoutMs: number;
  /** Kafka consumer group session timeout */
  sessionTimeoutMs: number;
  /**
   * most bytes of one fetch from Kafka (an eighth of it per partition): a fetch is decoded
   * in one stretch, and a longer stretch makes requests miss their budget slots
   */
  fetchMaxBytes: number;
}

export const defaultTuning: WorkerTuning = {
  appRateLimitRps: 100,
  rateLimitUtilisation: 0.96,
  requestTimeoutMs: 10_000,
  maxAttempts: 12,
  maxRetryMs: 15 * 60_000,
  retryBaseMs: 500,
  retryMaxMs: 60_000,
  maxBuffered: 10_000,
  maxPerPerson: 1_000,
  maxUncommittedPerPartition: 50_000,
  concurrency: 32,
  maxBatchOperations: 1_000,
  // Customer.io: a batch request under 500 KB (read as 500,000 bytes, the stricter reading),
  // each operation 32 KB at most (32,768 bytes, as the edge validates).
  maxBatchBytes: 500_000,
  maxOperationBytes: 32 * 1024,
  commitIntervalMs: 1_000,
  authProbeMinMs: 1_000,
  authProbeMaxMs: 30_000,
  defaultRetryAfterMs: 1_000,
  endpointVerdictMs: 30_000,
  endpointFaultPeople: 3,
  transactionalAmbiguous: 'dead-letter',
  dlqRetentionMs: 30 * 24 * 60 * 60 * 1000,
  shutdownTimeoutMs: 15_000,
  sessionTimeoutMs: 30_000,
  fetchMaxBytes: 512 * 1024,
};
