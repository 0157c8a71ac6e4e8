import {
  backoffCeilingMs,
  DestinationRetryStrategy,
  OTHER_ATTEMPTS,
  retriesAfter,
  THROTTLED_ATTEMPTS,
} from '../../../../src/runtime/destination/destination-retry';

// The destination clients' retry decisions and waits, without servers (the SDK classifies the error
// as THROTTLING, TRANSIENT, SERVER_ERROR or CLIENT_ERROR before the strategy sees it).

type ErrorType = 'THROTTLING' | 'TRANSIENT' | 'SERVER_ERROR' | 'CLIENT_ERROR';

/** Attempts one request gets when every attempt fails with `errorType`. */
async function attemptsUntilGivenUp(strategy: DestinationRetryStrategy, errorType: ErrorType): Promise<number> {
  let token = await strategy.acquireInitialRetryToken();
  for (let attempt = 1; ; attempt++) {
    try {
      token = await strategy.refreshRetryTokenForRetry(token, { errorType });
    } catch {
      return attempt;
    }
  }
}

const recording = (waits: number[], random = () => 0.999) =>
  new DestinationRetryStrategy({ random, sleep: async (ms) => void waits.push(ms) });

describe('backoffCeilingMs', () => {
  test('after throttling: 1 s doubling per retry, so 5 retries wait at most 31 s in all', () => {
    expect([1, 2, 3, 4, 5, 6, 7].map((retry) => backoffCeilingMs(true, retry))).toEqual([1000, 2000, 4000, 8000, 16000, 20000, 20000]);
    expect([1, 2, 3, 4, 5].reduce((sum, retry) => sum + backoffCeilingMs(true, retry), 0)).toBe(31_000);
  });

  test('after other retryable errors: the SDK\'s 50 ms base', () => {
    expect([1, 2].map((retry) => backoffCeilingMs(false, retry))).toEqual([50, 100]);
  });
});

describe('DestinationRetryStrategy', () => {
  test.each<[ErrorType, number]>([
    ['THROTTLING', THROTTLED_ATTEMPTS],
    ['TRANSIENT', OTHER_ATTEMPTS],
    ['SERVER_ERROR', 1],
    ['CLIENT_ERROR', 1],
  ])('a request failing with %s every time gets %i attempts', async (errorType, attempts) => {
    expect(retriesAfter(errorType, attempts - 1)).toBe(attempts > 1);
    expect(retriesAfter(errorType, attempts)).toBe(false);
    const waits: number[] = [];
    expect(await attemptsUntilGivenUp(recording(waits), errorType)).toBe(attempts);
    expect(waits).toHaveLength(attempts - 1);
  });

  test('throttled retries wait a random share (full jitter) of a doubling ceiling, and the SDK waits no more', async () => {
    const waits: number[] = [];
    const strategy = recording(waits, () => 0.25);
    let token = await strategy.acquireInitialRetryToken();
    for (let retry = 1; retry < THROTTLED_ATTEMPTS; retry++) {
      token = await strategy.refreshRetryTokenForRetry(token, { errorType: 'THROTTLING' });
      expect(token.getRetryCount()).toBe(retry);
      expect(token.getRetryDelay()).toBe(0);
    }
    expect(waits).toEqual([250, 500, 1000, 2000, 4000]);
  });

  test('keeps the SDK\'s retry quota: a client whose retries keep failing stops retrying, and successes refill it', async () => {
    const waits: number[] = [];
    const strategy = recording(waits);
    // 500 tokens, 14 per retry of a transient error: 35 retries, then none until a success.
    let retries = 0;
    for (;;) {
      const before = waits.length;
      await attemptsUntilGivenUp(strategy, 'TRANSIENT');
      if (waits.length === before) break;
      retries += waits.length - before;
    }
    expect(retries).toBe(35);
    const token = await strategy.acquireInitialRetryToken();
    for (let success = 0; success < 14; success++) strategy.recordSuccess(token);
    await expect(strategy.refreshRetryTokenForRetry(token, { errorType: 'TRANSIENT' })).resolves.toBeDefined();
  });
});
