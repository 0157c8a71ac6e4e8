import { queueReceiveLimit } from '../../../../src/private/queue-defaults';
import { InvalidMessageError, parseReplicationMessage } from '../../../../src/runtime/contract/replication-message';
import { CredentialsSecretError, CredentialsSecretNotFilledError, parseCredentialsSecret } from '../../../../src/runtime/destination/destination-credentials';
import {
  attemptNumber,
  exhaustedBeforeAttempt,
  failureDecision,
  isPermanentError,
  isThrottlingError,
  retryDelaySeconds,
  secretWaitSeconds,
  throttledRetryDelaySeconds,
} from '../../../../src/runtime/replication/delivery-retry';
import { thrownBy } from '../../../support/thrown-by';

// The retry decisions, without servers. The emulated queue is exercised in replication-queue.test.ts.

describe('retryDelaySeconds', () => {
  test('starts at 2 seconds and doubles up to 30', () => {
    expect([1, 2, 3, 4, 5, 6, 50].map(retryDelaySeconds)).toEqual([2, 4, 8, 16, 30, 30, 30]);
  });

  test('with the default 5 attempts, a message is dead-lettered about 30 seconds after its first failure', () => {
    const waits = [1, 2, 3, 4].map(retryDelaySeconds);
    expect(waits.reduce((total, wait) => total + wait, 0)).toBe(30);
  });
});

describe('attemptNumber', () => {
  test('every receive is an attempt, except those on which the message was skipped', () => {
    expect(attemptNumber(1, 0)).toBe(1);
    expect(attemptNumber(7, 0)).toBe(7);
    expect(attemptNumber(7, 4)).toBe(3);
  });

  test('skips recorded for a message whose receive count started over give it more attempts, not fewer', () => {
    expect(attemptNumber(1, 4)).toBe(1);
  });
});

describe('failureDecision', () => {
  const transient = Object.assign(new Error('We encountered an internal error. Please try again.'), { name: 'InternalError', $metadata: { httpStatusCode: 500 } });

  test('a transient failure before the last attempt is retried after the backoff delay', () => {
    expect(failureDecision(transient, 1, 5)).toEqual({ action: 'retry', delaySeconds: 2 });
    expect(failureDecision(transient, 4, 5)).toEqual({ action: 'retry', delaySeconds: 16 });
  });

  test('the last attempt dead-letters, saying how many attempts failed and why', () => {
    expect(failureDecision(transient, 5, 5)).toEqual({
      action: 'dead-letter', reason: 'failed 5 attempts (maxReceiveCount 5); last: InternalError: We encountered an internal error. Please try again.',
    });
  });

  test('a malformed message is dead-lettered on its first attempt', () => {
    const error = thrownBy(() => parseReplicationMessage('not json'));
    expect(error).toBeInstanceOf(InvalidMessageError);
    expect(failureDecision(error, 1, 5)).toEqual({
      action: 'dead-letter', reason: 'permanent error on attempt 1: InvalidMessageError: queue message body is not JSON',
    });
  });

  test.each([
    ['not valid JSON', '{"accesskey": '],
    ['missing a field', '{"accesskey": "AKIA"}'],
  ])('a credentials secret %s is dead-lettered on the first attempt', (_, secret) => {
    const error = thrownBy(() => parseCredentialsSecret(secret, 'arn:secret', 'aws-us-gov'));
    expect(error).toBeInstanceOf(CredentialsSecretError);
    expect(failureDecision(error, 1, 5)).toMatchObject({ action: 'dead-letter' });
  });

  test('permanent errors are recognised by name too (an error that crossed a module boundary)', () => {
    expect(isPermanentError(Object.assign(new Error('x'), { name: 'InvalidMessageError' }))).toBe(true);
    expect(isPermanentError(Object.assign(new Error('x'), { name: 'CredentialsSecretError' }))).toBe(true);
    expect(isPermanentError(transient)).toBe(false);
    expect(isPermanentError(undefined)).toBe(false);
  });
});

describe('exhaustedBeforeAttempt', () => {
  test('a message whose attempts ended unseen (timeouts, crashes) is dead-lettered without another attempt', () => {
    expect(exhaustedBeforeAttempt(5, 5)).toBeUndefined();
    expect(exhaustedBeforeAttempt(6, 5)).toMatch(/attempt 6 but maxReceiveCount is 5/);
  });
});

describe('queueReceiveLimit', () => {
  test('the redrive backstop is ten times the attempts, at most 1000', () => {
    expect(queueReceiveLimit(1)).toBe(10);
    expect(queueReceiveLimit(5)).toBe(50);
    expect(queueReceiveLimit(100)).toBe(1000);
    expect(queueReceiveLimit(1000)).toBe(1000);
  });
});

/** Seconds a message waits in the queue, handed back with `delay(receive)` after each receive, before the backstop moves it. */
const waitBeforeBackstop = (delay: (receiveCount: number) => number, maxReceiveCount: number) =>
  Array.from({ length: queueReceiveLimit(maxReceiveCount) }, (_, index) => delay(index + 1)).reduce((sum, seconds) => sum + seconds, 0);

describe('secretWaitSeconds', () => {
  test('grows from 1 minute to at most 15 minutes by receive count', () => {
    expect([1, 2, 3, 4, 5, 6, 50, 1000].map(secretWaitSeconds)).toEqual([60, 120, 240, 480, 900, 900, 900, 900]);
  });

  test('with the default maxReceiveCount 5, a message waits about 11 h 45 min for the secret before the backstop moves it', () => {
    // README: "Credentials". 50 receives: 60 + 120 + 240 + 480 + 46 x 900 seconds.
    expect(waitBeforeBackstop(secretWaitSeconds, 5)).toBe(42_300);
    expect(waitBeforeBackstop(secretWaitSeconds, 1)).toBe(60 + 120 + 240 + 480 + 6 * 900);
  });

  test('a secret still {} is not a permanent error: it is waited for, not dead-lettered', () => {
    const error = thrownBy(() => parseCredentialsSecret('{}', 'arn:secret', 'aws-us-gov'));
    expect(error).toBeInstanceOf(CredentialsSecretNotFilledError);
    expect(isPermanentError(error)).toBe(false);
    expect(failureDecision(error, 1, 5)).toMatchObject({ action: 'retry' });
  });
});

describe('throttling', () => {
  const slowDown = Object.assign(new Error('Please reduce your request rate.'), { name: 'SlowDown', $metadata: { httpStatusCode: 503 } });

  test.each([
    ['S3\'s 503 SlowDown', slowDown],
    ['a 429', Object.assign(new Error('x'), { name: 'TooManyRequests', $metadata: { httpStatusCode: 429 } })],
    ['DynamoDB\'s throughput error', Object.assign(new Error('x'), { name: 'ProvisionedThroughputExceededException' })],
    ['an error the service marks as throttling', Object.assign(new Error('x'), { name: 'Whatever', $retryable: { throttling: true } })],
  ])('%s is throttling', (_, error) => {
    expect(isThrottlingError(error)).toBe(true);
  });

  test.each([
    ['a 503 that is not SlowDown', Object.assign(new Error('x'), { name: 'ServiceUnavailable', $metadata: { httpStatusCode: 503 } })],
    ['a 500', Object.assign(new Error('x'), { name: 'InternalError', $metadata: { httpStatusCode: 500 } })],
    ['no error', undefined],
  ])('%s is not', (_, error) => {
    expect(isThrottlingError(error)).toBe(false);
  });

  test('a throttled delivery waits longer than other failures: 30 s doubling to at most 5 minutes', () => {
    expect([1, 2, 3, 4, 5, 6, 50].map(throttledRetryDelaySeconds)).toEqual([30, 60, 120, 240, 300, 300, 300]);
    expect(throttledRetryDelaySeconds(1)).toBeGreaterThanOrEqual(retryDelaySeconds(100));
  });

  test('a throttled delivery is retried and does not count as an attempt, also on the last one', () => {
    expect(failureDecision(slowDown, 1, 5, 1)).toEqual({ action: 'retry', delaySeconds: 30, throttled: true });
    expect(failureDecision(slowDown, 5, 5, 7)).toEqual({ action: 'retry', delaySeconds: 300, throttled: true });
  });

  test('with the default maxReceiveCount 5, a message throttled on every delivery reaches the backstop after about 4 hours of waits', () => {
    // README: "Retries and dead letters". 50 receives: 30 + 60 + 120 + 240 + 46 x 300 seconds.
    expect(waitBeforeBackstop(throttledRetryDelaySeconds, 5)).toBe(14_250);
  });
});
