import { GetObjectCommandOutput } from '@aws-sdk/client-s3';
import { ENV, readReplicatorSettings, ReplicatorSettings, replicatorEnvironment } from '../../../../src/runtime/contract/replication-environment';
import { EVERY_KEY } from '../../../../src/runtime/contract/replication-scope';
import { replicaParams } from '../../../../src/runtime/engine/object-copy';
import {
  DestinationObjectLockMissingError,
  explainRefusedReplicaDelete,
  isLocked,
  isMissingObjectLockConfiguration,
  lockedWriteChecksumAlgorithm,
  lockOfReplica,
  objectLockParams,
  ReplicaDeleteRefusedError,
  ReplicaObjectLockedError,
} from '../../../../src/runtime/engine/object-lock';
import { failureDecision } from '../../../../src/runtime/replication/delivery-retry';
import { thrownBy } from '../../../support/thrown-by';

// Object Lock's decisions, without servers: which lock a replica is written with, which refusals
// mean "Object Lock", and that those are dead-lettered at once. The emulated behaviour is in
// test/emulated/runtime/replication/object-lock.test.ts.

const NOW = Date.parse('2026-11-30T12:00:00Z');
const FUTURE = new Date('2027-01-01T00:00:00Z');
const PAST = new Date('2026-11-01T00:00:00Z');

describe('objectLockParams', () => {
  test('a retention still ahead travels with its mode and date; a legal hold ON travels', () => {
    expect(objectLockParams({ ObjectLockMode: 'COMPLIANCE', ObjectLockRetainUntilDate: FUTURE, ObjectLockLegalHoldStatus: 'ON' }, NOW))
      .toEqual({ ObjectLockMode: 'COMPLIANCE', ObjectLockRetainUntilDate: FUTURE, ObjectLockLegalHoldStatus: 'ON' });
  });

  test('a retention already ended is left out (S3 refuses a retain-until date in the past)', () => {
    expect(objectLockParams({ ObjectLockMode: 'GOVERNANCE', ObjectLockRetainUntilDate: PAST }, NOW)).toEqual({});
    expect(objectLockParams({ ObjectLockMode: 'GOVERNANCE', ObjectLockRetainUntilDate: new Date(NOW) }, NOW)).toEqual({});
  });

  test('a legal hold OFF, or no lock at all, sends nothing', () => {
    expect(objectLockParams({ ObjectLockLegalHoldStatus: 'OFF' }, NOW)).toEqual({});
    expect(objectLockParams({}, NOW)).toEqual({});
  });

  test('a mode without a date (or a date without a mode) is not a retention', () => {
    expect(objectLockParams({ ObjectLockMode: 'GOVERNANCE' }, NOW)).toEqual({});
    expect(objectLockParams({ ObjectLockRetainUntilDate: FUTURE }, NOW)).toEqual({});
  });
});

describe('replicaParams', () => {
  const locked = {
    ContentType: 'text/plain', ObjectLockMode: 'GOVERNANCE', ObjectLockRetainUntilDate: new Date(Date.now() + 3600_000), ObjectLockLegalHoldStatus: 'ON',
  } as GetObjectCommandOutput;
  const options = { bucket: 'replicas', replicateTags: true };

  test('carries the lock only with replicateObjectLock', () => {
    expect(replicaParams(locked, { ...options, replicateObjectLock: true })).toMatchObject({
      ObjectLockMode: 'GOVERNANCE', ObjectLockRetainUntilDate: locked.ObjectLockRetainUntilDate, ObjectLockLegalHoldStatus: 'ON',
    });
    const unlocked = replicaParams(locked, options);
    expect(Object.keys(unlocked).filter((name) => name.startsWith('ObjectLock'))).toEqual([]);
  });
});

describe('lockedWriteChecksumAlgorithm', () => {
  const locked = { ObjectLockMode: 'GOVERNANCE' as const, ObjectLockRetainUntilDate: FUTURE };

  test('a locked write checked by a checksum value names its algorithm (S3 wants Content-MD5 or x-amz-sdk-checksum-algorithm)', () => {
    expect(lockedWriteChecksumAlgorithm(locked, { ChecksumSHA256: 'abc=' })).toEqual({ ChecksumAlgorithm: 'SHA256' });
    expect(lockedWriteChecksumAlgorithm({ ObjectLockLegalHoldStatus: 'ON' }, { ChecksumCRC64NVME: 'abc=' })).toEqual({ ChecksumAlgorithm: 'CRC64NVME' });
  });

  test('nothing with Content-MD5, with no digest (the SDK then names CRC32 itself), or without a lock', () => {
    expect(lockedWriteChecksumAlgorithm(locked, { ContentMD5: 'abc=' })).toEqual({});
    expect(lockedWriteChecksumAlgorithm(locked, {})).toEqual({});
    expect(lockedWriteChecksumAlgorithm({ ContentType: 'text/plain' }, { ChecksumSHA256: 'abc=' })).toEqual({});
  });
});

describe('isMissingObjectLockConfiguration', () => {
  const error = (name: string, message: string) => Object.assign(new Error(message), { name });

  test.each([
    'Bucket is missing ObjectLockConfiguration', // AWS for PutObject and CreateMultipartUpload, and moto
    'Bucket is missing Object Lock Configuration', // AWS for other lock calls
  ])('InvalidRequest "%s"', (message) => {
    expect(isMissingObjectLockConfiguration(error('InvalidRequest', message))).toBe(true);
  });

  test('other InvalidRequests and other errors are not', () => {
    expect(isMissingObjectLockConfiguration(error('InvalidRequest', 'The retain until date must be in the future'))).toBe(false);
    expect(isMissingObjectLockConfiguration(error('AccessDenied', 'Bucket is missing ObjectLockConfiguration'))).toBe(false);
    expect(isMissingObjectLockConfiguration(undefined)).toBe(false);
  });
});

describe('a refused version delete', () => {
  const denied = Object.assign(new Error('Access Denied'), { name: 'AccessDenied', $metadata: { httpStatusCode: 403 } });

  test('a recorded retention still ahead: ReplicaObjectLockedError naming Object Lock, the mode and the date', () => {
    const explained = explainRefusedReplicaDelete(denied, 'replicas', 'a.txt', 'dv1', { mode: 'COMPLIANCE', retainUntil: FUTURE }, NOW);
    expect(explained).toBeInstanceOf(ReplicaObjectLockedError);
    expect((explained as Error).message).toContain('Object Lock protects its replica version dv1 in replicas (retention COMPLIANCE until 2027-01-01T00:00:00.000Z)');
  });

  test('a recorded legal hold: locked whatever the date', () => {
    const explained = explainRefusedReplicaDelete(denied, 'replicas', 'a.txt', 'dv1', { mode: 'GOVERNANCE', retainUntil: PAST, legalHold: true }, NOW);
    expect((explained as Error).message).toContain('(a legal hold)');
  });

  test('no lock recorded, or one that has ended: ReplicaDeleteRefusedError naming both causes, retried as usual', () => {
    for (const recorded of [undefined, { mode: 'GOVERNANCE', retainUntil: PAST }]) {
      const explained = explainRefusedReplicaDelete(denied, 'replicas', 'a.txt', 'dv1', recorded, NOW);
      expect(explained).toBeInstanceOf(ReplicaDeleteRefusedError);
      expect((explained as Error).message).toMatch(/Object Lock protects it .* or the destination identity may not delete versions/);
      expect(failureDecision(explained, 1, 5)).toEqual({ action: 'retry', delaySeconds: 2 });
    }
  });

  test('other errors are returned as they are', () => {
    const throttled = Object.assign(new Error('Slow Down'), { name: 'SlowDown' });
    expect(explainRefusedReplicaDelete(throttled, 'replicas', 'a.txt', 'dv1', { mode: 'COMPLIANCE', retainUntil: FUTURE }, NOW)).toBe(throttled);
  });

  test('isLocked: a legal hold, or a retention not yet ended', () => {
    expect(isLocked({ legalHold: true }, NOW)).toBe(true);
    expect(isLocked({ mode: 'GOVERNANCE', retainUntil: FUTURE }, NOW)).toBe(true);
    expect(isLocked({ mode: 'GOVERNANCE', retainUntil: PAST }, NOW)).toBe(false);
    expect(isLocked({}, NOW)).toBe(false);
  });
});

test('lockOfReplica: the lock the write carried, for the version map', () => {
  expect(lockOfReplica({ ObjectLockMode: 'GOVERNANCE', ObjectLockRetainUntilDate: FUTURE, ObjectLockLegalHoldStatus: 'ON' }))
    .toEqual({ mode: 'GOVERNANCE', retainUntil: FUTURE, legalHold: true });
  expect(lockOfReplica({ ContentType: 'text/plain' })).toBeUndefined();
});

test('both Object Lock errors are dead-lettered on the first attempt', () => {
  const cause = Object.assign(new Error('Bucket is missing ObjectLockConfiguration'), { name: 'InvalidRequest' });
  for (const error of [
    new DestinationObjectLockMissingError('replicas', 'a.txt', cause),
    new ReplicaObjectLockedError('replicas', 'a.txt', 'dv1', { legalHold: true }),
  ]) {
    expect(failureDecision(error, 1, 5)).toMatchObject({ action: 'dead-letter', reason: expect.stringMatching(/^permanent error on attempt 1: /) });
  }
});

describe('the replicator environment', () => {
  const settings: ReplicatorSettings = {
    sourceBucket: 'source-bucket',
    scope: EVERY_KEY,
    tableName: 'table',
    queueUrl: 'https://q',
    deadLetterQueueUrl: 'https://dlq',
    maxReceiveCount: 5,
    credentialsSecretId: 'secret',
    destinationBucket: 'replicas',
    destinationRegion: 'us-gov-west-1',
    destinationPartition: 'aws-us-gov',
    replicateDeleteMarkers: true,
    replicateVersionDeletes: false,
    replicateTags: true,
  };

  test('replicateObjectLock is set only when on, and read back', () => {
    expect(replicatorEnvironment(settings)).not.toHaveProperty(ENV.replicateObjectLock);
    expect(readReplicatorSettings(replicatorEnvironment(settings)).replicateObjectLock).toBeUndefined();
    const env = replicatorEnvironment({ ...settings, replicateObjectLock: true });
    expect(env[ENV.replicateObjectLock]).toBe('true');
    expect(readReplicatorSettings(env).replicateObjectLock).toBe(true);
  });

  test('a malformed value is refused, naming the variable', () => {
    const env = { ...replicatorEnvironment(settings), [ENV.replicateObjectLock]: 'yes' };
    expect(thrownBy(() => readReplicatorSettings(env)).message).toContain(`${ENV.replicateObjectLock} must be "true" or "false", got "yes"`);
  });
});
