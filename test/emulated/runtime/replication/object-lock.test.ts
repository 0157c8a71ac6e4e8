import { CreateMultipartUploadCommand, DeleteObjectCommand, PutObjectLockConfigurationCommand, S3Client } from '@aws-sdk/client-s3';
import { captureOutput } from '../../../support/capture-output';
import { FixtureOptions, ReplicationFixture } from '../../emulators/replication-fixture';
import { S3Event } from '../../emulators/s3-events';

// Object Lock (`replicateObjectLock`) against the two moto servers: the source version's retention
// and legal hold travel with its replica, a destination without Object Lock is a clear, permanent
// error, and a version delete refused by a replica's lock is dead-lettered naming the lock.

const versionIdOf = (event: S3Event) => event.detail.object['version-id'] as string;
const DAY = 24 * 3600 * 1000;
/** Whole seconds: S3 (and moto) keep retain-until dates to the second. */
const inDays = (days: number) => new Date(Math.floor((Date.now() + days * DAY) / 1000) * 1000);

/** Turns Object Lock on for an (empty, versioned) fixture bucket, as `ObjectLockEnabledForBucket` at creation would. */
async function enableObjectLock(s3: S3Client, bucket: string): Promise<void> {
  await s3.send(new PutObjectLockConfigurationCommand({ Bucket: bucket, ObjectLockConfiguration: { ObjectLockEnabled: 'Enabled' } }));
}

/**
 * A fixture whose source bucket (and, unless `destinationLocked` is false, destination bucket) has
 * Object Lock, and whose replicator runs with `replicateObjectLock` as the construct sets it.
 */
async function lockedFixture({ destinationLocked = true, replicateObjectLock = true, ...options }: FixtureOptions & {
  destinationLocked?: boolean; replicateObjectLock?: boolean;
} = {}): Promise<ReplicationFixture> {
  const fixture = await ReplicationFixture.create(options);
  await enableObjectLock(fixture.sourceS3, fixture.sourceBucket);
  if (destinationLocked) await enableObjectLock(fixture.adminS3, fixture.destinationBucket);
  fixture.settings = { ...fixture.settings, replicateObjectLock };
  fixture.useSourceIdentity(fixture.emulators.sourceAdmin);
  return fixture;
}

/** The lock of one destination version, as HeadObject reports it. */
async function replicaLock(fixture: ReplicationFixture, key: string, destinationVersionId: string) {
  const head = await fixture.headDestination(key, destinationVersionId);
  return { mode: head.ObjectLockMode, retainUntil: head.ObjectLockRetainUntilDate?.toISOString(), legalHold: head.ObjectLockLegalHoldStatus };
}

/** The reasons the replicator gave for the messages it dead-lettered, from its logs. */
function deadLetterReasons(lines: string[]): string[] {
  return lines.flatMap((line) => {
    try {
      const entry = JSON.parse(line) as { message?: string; reason?: string };
      return entry.message === 'message sent to the dead-letter queue' && entry.reason ? [entry.reason] : [];
    } catch {
      return [];
    }
  });
}

test('each locked version replicates with the same mode, retain-until date and legal hold', async () => {
  const fixture = await lockedFixture();
  const governanceUntil = inDays(1);
  const complianceUntil = inDays(2);
  const events = [
    await fixture.events.put('locked/governance.txt', 'g', { ObjectLockMode: 'GOVERNANCE', ObjectLockRetainUntilDate: governanceUntil }),
    await fixture.events.put('locked/compliance-held.txt', 'c', {
      ObjectLockMode: 'COMPLIANCE', ObjectLockRetainUntilDate: complianceUntil, ObjectLockLegalHoldStatus: 'ON',
    }),
    await fixture.events.put('locked/held.txt', 'h', { ObjectLockLegalHoldStatus: 'ON' }),
    await fixture.events.put('locked/plain.txt', 'p'),
  ];
  expect(await fixture.replicate(events)).toEqual({ processed: 4, failures: 0 });

  const expected = [
    { mode: 'GOVERNANCE', retainUntil: governanceUntil.toISOString(), legalHold: undefined },
    { mode: 'COMPLIANCE', retainUntil: complianceUntil.toISOString(), legalHold: 'ON' },
    { mode: undefined, retainUntil: undefined, legalHold: 'ON' },
    { mode: undefined, retainUntil: undefined, legalHold: undefined },
  ];
  for (const [i, event] of events.entries()) {
    const key = event.detail.object.key as string;
    const { version } = await fixture.versionTable.load(key, versionIdOf(event));
    expect(await replicaLock(fixture, key, version!.destinationVersionId!)).toEqual(expected[i]);
  }
  // The version map keeps the lock each replica was written with (for a refused version delete's error).
  const { version } = await fixture.versionTable.load('locked/compliance-held.txt', versionIdOf(events[1]));
  expect(version?.lock).toEqual({ mode: 'COMPLIANCE', retainUntil: complianceUntil, legalHold: true });
});

test('a locked version checked by its stored checksum (no MD5 ETag: SSE-KMS) also replicates locked', async () => {
  // S3 wants Content-MD5 or x-amz-sdk-checksum-algorithm on a write that carries a retention.
  const fixture = await lockedFixture();
  const until = inDays(1);
  const created = await fixture.events.put('locked/kms.txt', 'encrypted', {
    ServerSideEncryption: 'aws:kms', ChecksumAlgorithm: 'SHA256', ObjectLockMode: 'GOVERNANCE', ObjectLockRetainUntilDate: until,
  });
  expect(await fixture.replicate([created])).toEqual({ processed: 1, failures: 0 });
  const { version } = await fixture.versionTable.load('locked/kms.txt', versionIdOf(created));
  expect(await replicaLock(fixture, 'locked/kms.txt', version!.destinationVersionId!)).toEqual({ mode: 'GOVERNANCE', retainUntil: until.toISOString(), legalHold: undefined });
});

test('a large version\'s lock goes with its CreateMultipartUpload', async () => {
  // moto 5.2.5 ignores lock headers on CreateMultipartUpload (its multipart replica is never
  // locked), so what the replicator sends is read from its requests: a spy that passes each one on.
  const fixture = await lockedFixture();
  const until = inDays(1);
  const created = await fixture.events.put('locked/large.bin', Buffer.alloc(17 * 1024 * 1024, 7), {
    ObjectLockMode: 'GOVERNANCE', ObjectLockRetainUntilDate: until, ObjectLockLegalHoldStatus: 'ON',
  });
  const send = jest.spyOn(S3Client.prototype, 'send');
  try {
    expect(await fixture.replicate([created])).toEqual({ processed: 1, failures: 0 });
    const uploads = send.mock.calls.map(([command]) => command).filter((command) => command instanceof CreateMultipartUploadCommand);
    expect(uploads.map((command) => command.input)).toEqual([expect.objectContaining({
      Key: 'locked/large.bin', ObjectLockMode: 'GOVERNANCE', ObjectLockRetainUntilDate: until, ObjectLockLegalHoldStatus: 'ON',
    })]);
  } finally {
    send.mockRestore();
  }
  expect((await fixture.destinationObject('locked/large.bin'))?.body.length).toBe(17 * 1024 * 1024);
});

test('without replicateObjectLock the replica of a locked version is not locked', async () => {
  const fixture = await lockedFixture({ replicateObjectLock: false });
  const created = await fixture.events.put('locked/free.txt', 'f', {
    ObjectLockMode: 'GOVERNANCE', ObjectLockRetainUntilDate: inDays(1), ObjectLockLegalHoldStatus: 'ON',
  });
  await fixture.replicate([created]);
  const { version } = await fixture.versionTable.load('locked/free.txt', versionIdOf(created));
  expect(await replicaLock(fixture, 'locked/free.txt', version!.destinationVersionId!)).toEqual({ mode: undefined, retainUntil: undefined, legalHold: undefined });
});

test('a destination bucket without Object Lock: dead-lettered on the first attempt, saying what to fix', async () => {
  const fixture = await lockedFixture({ destinationLocked: false, logLevel: 'INFO' });
  const created = await fixture.events.put('locked/refused.txt', 'r', { ObjectLockMode: 'GOVERNANCE', ObjectLockRetainUntilDate: inDays(1) });
  const { result, lines } = await captureOutput(() => fixture.replicate([created], { allowDeadLetters: true }));

  expect(result.deadLettered).toHaveLength(1);
  const [reason] = deadLetterReasons(lines);
  expect(reason).toMatch(/^permanent error on attempt 1: DestinationObjectLockMissingError: /);
  expect(reason).toContain(`destination bucket ${fixture.destinationBucket} has no Object Lock configuration`);
  expect(reason).toContain('Enable Object Lock on the destination bucket');
  expect(reason).toContain('replicateObjectLock: false');
  expect(await fixture.destinationObject('locked/refused.txt')).toBeUndefined();
});

test('a version delete of a locked replica is dead-lettered naming Object Lock and the retain-until date; the replica stays', async () => {
  const fixture = await lockedFixture({ replicateVersionDeletes: true, logLevel: 'INFO' });
  const until = inDays(3);
  const locked = await fixture.events.put('locked/kept.txt', 'v1', { ObjectLockMode: 'GOVERNANCE', ObjectLockRetainUntilDate: until });
  const newer = await fixture.events.put('locked/kept.txt', 'v2');
  await captureOutput(() => fixture.replicate([locked, newer]));
  const replica = (await fixture.versionTable.load('locked/kept.txt', versionIdOf(locked))).version!.destinationVersionId!;

  // At the source, whoever may bypass governance retention deletes the version for good.
  await fixture.sourceS3.send(new DeleteObjectCommand({
    Bucket: fixture.sourceBucket, Key: 'locked/kept.txt', VersionId: versionIdOf(locked), BypassGovernanceRetention: true,
  }));
  const deleted = fixture.events.lifecycleExpiration('locked/kept.txt', versionIdOf(locked), 'Permanently Deleted');
  const permanentDelete = { ...deleted, detail: { ...deleted.detail, reason: 'DeleteObject', requester: '123456789012' } };
  const { result, lines } = await captureOutput(() => fixture.replicate([permanentDelete], { allowDeadLetters: true }));

  expect(result.deadLettered).toHaveLength(1);
  const [reason] = deadLetterReasons(lines);
  expect(reason).toMatch(/^permanent error on attempt 1: ReplicaObjectLockedError: /);
  expect(reason).toContain(`Object Lock protects its replica version ${replica}`);
  expect(reason).toContain(`retention GOVERNANCE until ${until.toISOString()}`);
  expect((await fixture.destinationVersions('locked/kept.txt')).versions.map((v) => v.VersionId)).toContain(replica);
});
