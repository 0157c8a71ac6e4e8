// The SDK clients' own retry package: every @aws-sdk client depends on it, this library does not.
// eslint-disable-next-line import/no-extraneous-dependencies
import { ConfiguredRetryStrategy, DEFAULT_MAX_ATTEMPTS } from '@smithy/core/retry';
import { DestinationRetryStrategy } from '../../../src/runtime/destination/destination-retry';
import type { RetryPacing } from '../../../src/runtime/replication/replicator-handler';

/**
 * The SDK's standard retry strategy with no wait between attempts: the same number of attempts,
 * the same errors retried and the same retry quota, only the backoff (up to seconds after a 503
 * Slow Down) is gone. A new one for each client, as the SDK's default is.
 */
export function retriesWithoutWaits(): ConfiguredRetryStrategy {
  return new ConfiguredRetryStrategy(DEFAULT_MAX_ATTEMPTS, () => 0);
}

/**
 * The destination clients' retry strategy as in production (more attempts after a 503 SlowDown),
 * with no wait between attempts.
 */
export function destinationRetriesWithoutWaits(): DestinationRetryStrategy {
  return new DestinationRetryStrategy({ sleep: async () => undefined });
}

/** Every retry in place as in production, none of its waits: for tests that retry thousands of times. */
export const RETRIES_WITHOUT_WAITS: RetryPacing = { partBackoffMs: 0, destinationRetryStrategy: destinationRetriesWithoutWaits };
