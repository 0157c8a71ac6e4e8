import { queueReceiveLimit } from '../../../../src/private/queue-defaults';
import { InvalidMessageError, parseReplicationMessage } from '../../../../src/runtime/contract/replication-message';
import { CredentialsSecretError, parseCredentialsSecret } from '../../../../src/runtime/destination/destination-credentials';
import {
  attemptNumber,
  exhaustedBeforeAttempt,
  failureDecision,
  isPermanentError,
  retryDelaySeconds,
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
  const transient = Object.assign(new Error('Please reduce your request rate.'), { name: 'SlowDown' });

  test('a transient failure before the last attempt is retried after the backoff delay', () => {
    expect(failureDecision(transient, 1, 5)).toEqual({ action: 'retry', delaySeconds: 2 });
    expect(failureDecision(transient, 4, 5)).toEqual({ action: 'retry', delaySeconds: 16 });
  });

  test('the last attempt dead-letters, saying how many attempts failed and why', () => {
    expect(failureDecision(transient, 5, 5)).toEqual({
      action: 'dead-letter', reason: 'failed 5 attempts (maxReceiveCount 5); last: SlowDown: Please reduce your request rate.',
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
