import { randomBytes } from 'crypto';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DeleteObjectCommand } from '@aws-sdk/client-s3';
import { copy, dropPart, failAfter, limits, md5, pendingUploads, putSource, setUp } from './multipart-copy-setup';
import { MIN_PART_SIZE } from '../../../../../src/runtime/engine/multipart/part-plan';
import { UploadCheckpoints } from '../../../../../src/runtime/engine/multipart/upload-checkpoints';
import { copyVersion, CopyResult } from '../../../../../src/runtime/engine/object-copy';
import { PART_ATTEMPTS } from '../../../../../src/runtime/engine/retries';
import { SourceVersionGoneError } from '../../../../../src/runtime/engine/source-reads';
import { sourceClientConfig } from '../../../emulators/partitions';


// Resuming and failing copies of the copy engine against the two moto partitions: the source's bytes, the destination's multipart
// uploads and the table's checkpoints are real. Faults no server produces (a corrupted read, a
// dropped connection) are injected with an SDK middleware, and each test says so.

describe('resuming', () => {
  test('a short time budget: each call copies what fits, the next continues, every part is sent once', async () => {
    const setup = await setUp();
    const body = randomBytes(5 * MIN_PART_SIZE - 1);
    const versionId = await putSource(setup, 'slow.bin', body);
    // A clock that moves 3 s per part uploaded: with an 8.5 s budget one part fits per call.
    let clock = 0;
    setup.destination.middlewareStack.add((next, context) => async (args) => {
      const result = await next(args);
      if (context.commandName === 'UploadPartCommand') clock += 3_000;
      return result;
    }, { step: 'initialize', name: 'slowClock' });

    const results: CopyResult[] = [];
    for (let call = 0; call < 10 && results[results.length - 1]?.status !== 'completed'; call++) {
      results.push(await copy(setup, 'slow.bin', versionId, limits({ memoryBudget: MIN_PART_SIZE, now: () => clock, deadline: clock + 8_500 })));
    }

    expect(results.map((result) => result.status)).toEqual(['suspended', 'suspended', 'suspended', 'suspended', 'completed']);
    expect(results[1]).toEqual({ status: 'suspended', partsDone: 2, partCount: 5 });
    // The whole-object MD5 cannot span calls; every part still carried its CRC32, and the source's
    // full-object CRC32 (the SDK's default checksum of the upload) goes with CompleteMultipartUpload,
    // which S3 verifies (moto 5.2.5 stores what it computes and does not compare).
    expect(results[4]).toMatchObject({ verifiedBy: 'checksum', resumedParts: 4 });
    expect(setup.counter.count('destination:UploadPartCommand')).toBe(5);
    expect(setup.counter.count('destination:CreateMultipartUploadCommand')).toBe(1);
    expect(md5((await setup.fixture.destinationObject('slow.bin'))!.body)).toBe(md5(body));
  });

  test('an invocation with just more than its reserve left still copies: short timeouts make progress', async () => {
    const setup = await setUp();
    const versionId = await putSource(setup, 'short.bin', randomBytes(2 * MIN_PART_SIZE));

    const result = await copy(setup, 'short.bin', versionId, limits({ now: () => 0, deadline: 16_000, reserveMs: 15_000 }));

    expect(result).toMatchObject({ status: 'completed' });
  });

  test('a copy completed by a delivery that failed before recording its replica is taken by the retry, not copied again', async () => {
    const setup = await setUp();
    const versionId = await putSource(setup, 'twice.bin', randomBytes(2 * MIN_PART_SIZE));
    const first = await copy(setup, 'twice.bin', versionId);
    // The replicator failed here (a throttled table, a timeout): the message is delivered again.
    const retried = await copy(setup, 'twice.bin', versionId);

    expect(retried).toEqual(first.status === 'completed' ? { ...first, resumedParts: 2 } : undefined);
    expect(setup.counter.count('destination:CreateMultipartUploadCommand')).toBe(1);
    expect(setup.counter.count('destination:UploadPartCommand')).toBe(2);
    expect((await setup.fixture.destinationVersions('twice.bin')).versions).toHaveLength(1);
  });

  test('a repair is never answered with the replica it replaces: it copies again', async () => {
    const setup = await setUp();
    const versionId = await putSource(setup, 'repaired.bin', randomBytes(2 * MIN_PART_SIZE));
    const first = await copy(setup, 'repaired.bin', versionId);
    const stale = first.status === 'completed' ? first.written.destinationVersionId : '';

    const { fixture, source, destination, checkpoints } = setup;
    const repaired = await copyVersion(
      { client: source, bucket: fixture.sourceBucket, key: 'repaired.bin', versionId },
      destination, { bucket: fixture.destinationBucket, replicateTags: true }, { checkpoints, limits: limits(), replacing: stale },
    );

    expect(repaired).toMatchObject({ status: 'completed', resumedParts: 0 });
    expect(repaired.status === 'completed' && repaired.written.destinationVersionId).not.toBe(stale);
    expect(setup.counter.count('destination:CreateMultipartUploadCommand')).toBe(2);
    expect((await setup.fixture.destinationVersions('repaired.bin')).versions).toHaveLength(2);
  });

  test('with no time left for one part, nothing is created: the copy hands over at once', async () => {
    const setup = await setUp();
    const versionId = await putSource(setup, 'late.bin', randomBytes(2 * MIN_PART_SIZE));

    const result = await copy(setup, 'late.bin', versionId, limits({ now: () => 0, deadline: 1_000, reserveMs: 1_000 }));

    expect(result).toEqual({ status: 'suspended', partsDone: 0, partCount: 2 });
    expect(setup.counter.count('destination:CreateMultipartUploadCommand')).toBe(0);
    expect(await setup.checkpoints.load('late.bin', versionId)).toBeUndefined();
  });

  test('a dropped connection on a part is retried in place; the copy goes on', async () => {
    const setup = await setUp();
    const body = randomBytes(3 * MIN_PART_SIZE);
    const versionId = await putSource(setup, 'blip.bin', body);
    dropPart(setup.destination, 2, 1);

    const result = await copy(setup, 'blip.bin', versionId);

    expect(result).toMatchObject({ status: 'completed', verifiedBy: 'md5' });
    expect(setup.counter.count('destination:UploadPartCommand')).toBe(4);
    expect(md5((await setup.fixture.destinationObject('blip.bin'))!.body)).toBe(md5(body));
  });

  test('a part waits the limits\' partRetryBackoffMs, times the attempts made, before its next attempt', async () => {
    const setup = await setUp();
    const versionId = await putSource(setup, 'paced.bin', randomBytes(2 * MIN_PART_SIZE));
    // Fault injection: part 2's first two attempts lose their connection (no server does this on demand).
    const attempts: number[] = [];
    setup.destination.middlewareStack.add((next, context) => async (args) => {
      if (context.commandName !== 'UploadPartCommand' || (args as { input: { PartNumber?: number } }).input.PartNumber !== 2) return next(args);
      attempts.push(Date.now());
      if (attempts.length < 3) throw Object.assign(new Error('socket hang up'), { name: 'ECONNRESET' });
      return next(args);
    }, { step: 'initialize', name: 'timePart' });

    const result = await copy(setup, 'paced.bin', versionId, limits({ partRetryBackoffMs: 700 }));

    expect(result).toMatchObject({ status: 'completed' });
    expect(attempts).toHaveLength(3);
    // Timers may fire a millisecond early; the default (250 ms, then 500 ms) is far below.
    expect(attempts[1] - attempts[0]).toBeGreaterThanOrEqual(695);
    expect(attempts[2] - attempts[1]).toBeGreaterThanOrEqual(1395);
  });

  test('a failure mid-copy keeps the recorded parts: the retry sends only the parts that were in flight', async () => {
    const setup = await setUp();
    const body = randomBytes(6 * MIN_PART_SIZE + 5);
    const versionId = await putSource(setup, 'crash.bin', body);
    // Part 4 fails every in-place attempt, so the message itself fails (and would be retried).
    const accepted = dropPart(setup.destination, 4, PART_ATTEMPTS);
    const budget = limits({ memoryBudget: 2 * MIN_PART_SIZE });

    const error = await copy(setup, 'crash.bin', versionId, budget).then(() => undefined, (thrown: unknown) => thrown as Error);
    expect(error?.name).toBe('ECONNRESET');
    const recorded = (await setup.checkpoints.load('crash.bin', versionId))!.parts.length;
    // Every part the destination accepted was recorded (the other part in flight finished first).
    expect(recorded).toBe(accepted());
    expect(recorded).toBeGreaterThanOrEqual(3);
    expect(await pendingUploads(setup)).toBe(1);
    setup.counter.take();

    const result = await copy(setup, 'crash.bin', versionId, budget);

    expect(result).toMatchObject({ status: 'completed', resumedParts: recorded });
    // Seven parts in all: the retry sends exactly the ones not recorded.
    expect(setup.counter.count('destination:UploadPartCommand')).toBe(7 - recorded);
    expect(md5((await setup.fixture.destinationObject('crash.bin'))!.body)).toBe(md5(body));
    expect(await pendingUploads(setup)).toBe(0);
  });

  test('on the message\'s last delivery a failed copy aborts its upload', async () => {
    const setup = await setUp();
    const versionId = await putSource(setup, 'last.bin', randomBytes(3 * MIN_PART_SIZE));
    dropPart(setup.destination, 2, PART_ATTEMPTS);

    await expect(copy(setup, 'last.bin', versionId, limits({ finalAttempt: true, memoryBudget: MIN_PART_SIZE }))).rejects.toThrow('socket hang up');

    expect(await pendingUploads(setup)).toBe(0);
    expect(await setup.checkpoints.load('last.bin', versionId)).toBeUndefined();
  });

  test('a source version deleted mid-copy: the upload is aborted and the copy reports it gone', async () => {
    const setup = await setUp();
    const versionId = await putSource(setup, 'gone.bin', randomBytes(3 * MIN_PART_SIZE));
    // Not a mock: the version really is deleted at the source just before the second part is read.
    failAfter(setup.source, 'GetObjectCommand', 2, async (send) => {
      await setup.fixture.sourceS3.send(new DeleteObjectCommand({ Bucket: setup.fixture.sourceBucket, Key: 'gone.bin', VersionId: versionId }));
      return send();
    });

    await expect(copy(setup, 'gone.bin', versionId, limits({ memoryBudget: MIN_PART_SIZE }))).rejects.toBeInstanceOf(SourceVersionGoneError);

    expect(await pendingUploads(setup)).toBe(0);
    expect((await setup.fixture.destinationVersions('gone.bin')).versions).toHaveLength(0);
  });

  test('an upload the table could not record is aborted at once', async () => {
    const setup = await setUp();
    const versionId = await putSource(setup, 'unrecorded.bin', randomBytes(2 * MIN_PART_SIZE));
    // Fault injection: DynamoDB refuses the upload item (throttling, say), which moto cannot be made to do.
    const dynamodb = new DynamoDBClient(sourceClientConfig(setup.fixture.emulators.sourceEndpoint, setup.fixture.emulators.sourceAdmin));
    dynamodb.middlewareStack.add((next, context) => async (args) => {
      if (context.commandName === 'PutItemCommand') throw Object.assign(new Error('Throughput exceeds the current capacity'), { name: 'ThrottlingException' });
      return next(args);
    }, { step: 'initialize', name: 'refusePutItem' });
    const checkpoints = new UploadCheckpoints(dynamodb, setup.fixture.tableName);

    await expect(copyVersion(
      { client: setup.source, bucket: setup.fixture.sourceBucket, key: 'unrecorded.bin', versionId },
      setup.destination,
      { bucket: setup.fixture.destinationBucket, replicateTags: true },
      { checkpoints, limits: limits() },
    )).rejects.toThrow('Throughput exceeds the current capacity');

    expect(setup.counter.count('destination:CreateMultipartUploadCommand')).toBe(1);
    expect(await pendingUploads(setup)).toBe(0);
  });
});
