import type { S3ClientConfig } from '@aws-sdk/client-s3';

/**
 * How destination clients retry a request in place. The SDK's standard strategy (as of
 * @smithy/core 3.41) makes 3 attempts of any request, whatever the error: a 503 SlowDown, which S3
 * answers when a prefix gets more requests than it can take yet, is retried twice after at most
 * 1 s and 2 s (full jitter), and then fails. A destination that throttles for a few seconds would so
 * fail deliveries that waiting would have carried. This strategy keeps the SDK's decisions for
 * every other error (what is retryable, 3 attempts, its backoff and retry quota) and gives
 * throttling answers more attempts with exponential backoff and full jitter.
 */

type SdkRetryStrategy = Extract<NonNullable<S3ClientConfig['retryStrategy']>, { acquireInitialRetryToken: unknown }>;
type RetryToken = Awaited<ReturnType<SdkRetryStrategy['acquireInitialRetryToken']>>;
type RetryErrorInfo = Parameters<SdkRetryStrategy['refreshRetryTokenForRetry']>[1];

/** Attempts of a request the destination answers with a throttling error (503 SlowDown, 429, ...). */
export const THROTTLED_ATTEMPTS = 6;
/** Attempts of a request that fails otherwise retryably (a 5xx, a reset connection): the SDK's default. */
export const OTHER_ATTEMPTS = 3;
/** The first retry after a throttling answer waits up to this (the SDK's throttling base). */
export const THROTTLING_BACKOFF_BASE_MS = 1000;
/** The first retry after another retryable error waits up to this (the SDK's base). */
export const OTHER_BACKOFF_BASE_MS = 50;
/** No single wait is longer (the SDK's cap). */
export const BACKOFF_CAP_MS = 20_000;

/** The SDK's retry quota: a client stops retrying when many retries failed in a row. */
const QUOTA = 500;
const THROTTLING_RETRY_COST = 5;
const OTHER_RETRY_COST = 14;

/**
 * The longest wait before retry number `retry` (1 for the first retry): the base doubled per retry,
 * at most BACKOFF_CAP_MS. After throttling: 1, 2, 4, 8, 16 s, so the 5 retries of a throttled
 * request wait at most 31 s in all, 15.5 s on average.
 */
export function backoffCeilingMs(throttling: boolean, retry: number): number {
  const base = throttling ? THROTTLING_BACKOFF_BASE_MS : OTHER_BACKOFF_BASE_MS;
  return Math.min(BACKOFF_CAP_MS, base * 2 ** Math.max(0, retry - 1));
}

/** Whether a request that failed with `errorType` on its `attempt`th attempt is tried again. */
export function retriesAfter(errorType: RetryErrorInfo['errorType'], attempt: number): boolean {
  if (errorType === 'THROTTLING') return attempt < THROTTLED_ATTEMPTS;
  return errorType === 'TRANSIENT' && attempt < OTHER_ATTEMPTS;
}

export interface DestinationRetryOptions {
  /** Waits before a retry. Tests replace it to record the waits without waiting. */
  readonly sleep?: (ms: number) => Promise<void>;
  /** Full jitter's random factor in [0, 1). */
  readonly random?: () => number;
}

class Token implements RetryToken {
  constructor(private readonly count: number, readonly cost?: number) {}
  getRetryCount(): number {
    return this.count;
  }
  /** The strategy has waited already (as the SDK's own does): the SDK waits no more. */
  getRetryDelay(): number {
    return 0;
  }
}

/** The destination clients' SDK retry strategy (see the file's comment); one per client, as the SDK's. */
export class DestinationRetryStrategy implements SdkRetryStrategy {
  readonly mode = 'standard';
  private capacity = QUOTA;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly random: () => number;

  constructor(options: DestinationRetryOptions = {}) {
    this.sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
    this.random = options.random ?? Math.random;
  }

  async acquireInitialRetryToken(): Promise<RetryToken> {
    return new Token(0);
  }

  async refreshRetryTokenForRetry(token: RetryToken, errorInfo: RetryErrorInfo): Promise<RetryToken> {
    const throttling = errorInfo.errorType === 'THROTTLING';
    const cost = throttling ? THROTTLING_RETRY_COST : OTHER_RETRY_COST;
    if (!retriesAfter(errorInfo.errorType, token.getRetryCount() + 1) || this.capacity < cost) {
      throw new Error('No retry token available');
    }
    this.capacity -= cost;
    const retry = token.getRetryCount() + 1;
    await this.sleep(Math.floor(this.random() * backoffCeilingMs(throttling, retry)));
    return new Token(retry, cost);
  }

  recordSuccess(token: RetryToken): void {
    this.capacity = Math.min(QUOTA, this.capacity + ((token as Token).cost ?? 1));
  }
}

/** A new destination retry strategy that waits for real: what the Lambda function uses. */
export const standardDestinationRetries = (): DestinationRetryStrategy => new DestinationRetryStrategy();
