import { getRandomValues } from 'node:crypto';
import { monotonicFactory } from 'ulid';

/**
 * Monotonic ULIDs (they sort by acceptance time, also within one millisecond)
 * whose random part comes from a pooled CSPRNG buffer: ulid's default source
 * asks the OS for one byte per character, which costs ~100 µs per id.
 */
export function operationIds(): () => string {
  const pool = new Uint8Array(4096);
  let next = pool.length;
  const random = (): number => {
    if (next >= pool.length) {
      getRandomValues(pool);
      next = 0;
    }
    return (pool[next++] as number) / 256;
  };
  const factory = monotonicFactory(random);
  return () => factory();
}
