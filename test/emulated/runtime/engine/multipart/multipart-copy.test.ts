import { createHash, randomBytes } from 'crypto';
import { Readable } from 'stream';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DeleteObjectCommand, GetObjectCommandInput, ListMultipartUploadsCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { CopyLimits } from '../../../../../src/runtime/engine/multipart/multipart-copy';
import { MIN_PART_SIZE } from '../../../../../src/runtime/engine/multipart/part-plan';
import { UploadCheckpoints } from '../../../../../src/runtime/engine/multipart/upload-checkpoints';
import { copyVersion, CopyResult } from '../../../../../src/runtime/engine/object-copy';
import { PART_ATTEMPTS } from '../../../../../src/runtime/engine/retries';
import { SourceVersionGoneError } from '../../../../../src/runtime/engine/source-reads';
import { ContentMismatchError } from '../../../../../src/runtime/engine/verification';
import * as verification from '../../../../../src/runtime/engine/verification';
import { destinationS3, sourceClientConfig, sourceS3 } from '../../../emulators/partitions';
import { ReplicationFixture } from '../../../emulators/replication-fixture';
import { RequestCounter } from '../../../emulators/request-counter';

// The copy engine against the two moto partitions: the source's bytes, the destination's multipart
// uploads and the table's checkpoints are real. Faults no server produces (a corrupted read, a
// dropped connection) are injected with an SDK middleware, and each test says so.

const MiB = 1024 * 1024;
const md5 = (data: Uint8Array) => createHash('md5').update(data).digest('hex');

interface Setup {
  readonly fixture: ReplicationFixture;
  readonly source: S3Client;
  readonly destination: S3Client;
  readonly checkpoints: UploadCheckpoints;
  readonly counter: RequestCounter;
}

async function setUp(): Promise<Setup> {
  const fixture = await ReplicationFixture.create();
  const counter = new RequestCounter();
  const source = counter.attach(sourceS3(fixture.emulators.sourceEndpoint, fixture.emulators.sourceAdmin), 'source');
  const destination = counter.attach(destinationS3(fixture.emulators.destinationEndpoint, fixture.emulators.destinationAdmin), 'destination');
  return { fixture, source, destination, checkpoints: new UploadCheckpoints(fixture.dynamodb, fixture.tableName), counter };
}

function limits(change: Partial<CopyLimits> = {}): CopyLimits {
  return { memoryBudget: 4 * MIN_PART_SIZE, reserveMs: 0, now: Date.now, finalAttempt: false, ...change };
}

async function putSource(setup: Setup, key: string, body: Buffer): Promise<string> {
  const put = await setup.fixture.sourceS3.send(new PutObjectCommand({ Bucket: setup.fixture.sourceBucket, Key: key, Body: body }));
  return put.VersionId!;
}

function copy(setup: Setup, key: string, versionId: string, copyLimits: CopyLimits = limits(), kmsKeyArn?: string): Promise<CopyResult> {
  const { fixture, source, destination, checkpoints } = setup;
  return copyVersion(
    { client: source, bucket: fixture.sourceBucket, key, versionId },
    destination,
    { bucket: fixture.destinationBucket, replicateTags: true, kmsKeyArn },
    { checkpoints, limits: copyLimits },
  );
}

/** A source written as the SDK's Upload writes large objects: 5 MiB parts. */
async function putMultipartSource(setup: Setup, key: string, body: Buffer): Promise<{ VersionId?: string; ETag?: string }> {
  const params = { Bucket: setup.fixture.sourceBucket, Key: key, Body: body };
  return new Upload({ client: setup.fixture.sourceS3, params, partSize: 5 * MiB }).done();
}

async function pendingUploads(setup: Setup): Promise<number> {
  const listed = await setup.fixture.adminS3.send(new ListMultipartUploadsCommand({ Bucket: setup.fixture.destinationBucket }));
  return (listed.Uploads ?? []).length;
}

/**
 * UploadParts of part `partNumber` fail `times` times (fault injection: a connection reset, which no
 * server produces on demand); returns how many UploadParts the destination accepted.
 */
function dropPart(client: S3Client, partNumber: number, times: number): () => number {
  let dropped = 0;
  let accepted = 0;
  client.middlewareStack.add((next, context) => async (args) => {
    if (context.commandName !== 'UploadPartCommand') return next(args);
    if ((args as { input: { PartNumber?: number } }).input.PartNumber === partNumber && dropped < times) {
      dropped++;
      throw Object.assign(new Error('socket hang up'), { name: 'ECONNRESET' });
    }
    const result = await next(args);
    accepted++;
    return result;
  }, { step: 'initialize', name: 'dropPart' });
  return () => accepted;
}

/** After `after` calls of `command`, the next one runs `fault` (which may still send it with `send`). */
function failAfter(client: S3Client, command: string, after: number, fault: (send: () => Promise<unknown>) => Promise<unknown>) {
  let calls = 0;
  client.middlewareStack.add((next, context) => async (args) => {
    if (context.commandName === command && calls++ === after) return fault(() => next(args)) as ReturnType<typeof next>;
    return next(args);
  }, { step: 'initialize', name: 'injectFault' });
}

describe('large objects', () => {
  test('a single-request source is copied in parts, byte for byte, checked against its MD5 ETag', async () => {
    const setup = await setUp();
    const body = randomBytes(2 * MIN_PART_SIZE + 12345);
    const versionId = await putSource(setup, 'big.bin', body);

    const result = await copy(setup, 'big.bin', versionId);

    expect(result).toMatchObject({ status: 'completed', verifiedBy: 'md5', resumedParts: 0 });
    const replica = await setup.fixture.destinationObject('big.bin');
    expect(md5(replica!.body)).toBe(md5(body));
    expect((await setup.fixture.headDestination('big.bin', replica!.versionId!)).ETag).toMatch(/-3"$/);
    expect(setup.counter.count('destination:UploadPartCommand')).toBe(3);
    // Ranged GETs of the exact version: the one streamed GET that found the size, then one per part.
    expect(setup.counter.count('source:GetObjectCommand')).toBe(4);
    expect(await pendingUploads(setup)).toBe(0);
    // The parts are forgotten; the completed upload is kept until the caller has recorded the replica.
    expect(await setup.checkpoints.load('big.bin', versionId)).toMatchObject({ parts: [], completed: { destinationVersionId: replica!.versionId, verifiedBy: 'md5' } });
  });

  test('every part carries the CRC32 of its bytes, which S3 checks before accepting it', async () => {
    const setup = await setUp();
    const versionId = await putSource(setup, 'crc.bin', randomBytes(2 * MIN_PART_SIZE + 7));
    // Observes the requests as sent (moto does not verify additional checksums; AWS and MinIO do).
    const sent: { header?: string; crc32: string }[] = [];
    setup.destination.middlewareStack.add((next, context) => async (args) => {
      if (context.commandName === 'UploadPartCommand') {
        const request = args.request as { headers: Record<string, string>; body: Uint8Array };
        sent.push({ header: request.headers['x-amz-checksum-crc32'], crc32: verification.crc32Base64(Buffer.from(request.body)) });
      }
      return next(args);
    }, { step: 'finalizeRequest', name: 'observeParts' });

    await copy(setup, 'crc.bin', versionId);

    expect(sent).toHaveLength(3);
    for (const part of sent) expect(part.header).toBe(part.crc32);
  });

  test('a multipart source keeps its layout, so the replica has the source\'s own ETag', async () => {
    const setup = await setUp();
    const body = randomBytes(3 * 5 * MiB + 777);
    const uploaded = await putMultipartSource(setup, 'parts.bin', body);
    const hashing = jest.spyOn(verification, 'md5Hex');

    const result = await copy(setup, 'parts.bin', uploaded.VersionId!);

    expect(result).toMatchObject({ status: 'completed', verifiedBy: 'multipart-md5' });
    const written = (result as Extract<CopyResult, { status: 'completed' }>).written;
    expect(written.eTag).toBe(uploaded.ETag);
    expect(md5((await setup.fixture.destinationObject('parts.bin'))!.body)).toBe(md5(body));
    // The destination's part ETags are the parts' MD5s: the engine hashed nothing itself.
    expect(hashing).not.toHaveBeenCalled();
    hashing.mockRestore();
  });

  test('to an SSE-KMS destination, whose part ETags are no MD5s, the engine hashes the parts itself', async () => {
    const setup = await setUp();
    const body = randomBytes(2 * 5 * MiB + 5);
    const uploaded = await putMultipartSource(setup, 'kms.bin', body);
    const hashing = jest.spyOn(verification, 'md5Hex');

    const result = await copy(setup, 'kms.bin', uploaded.VersionId!, limits(), `arn:aws-us-gov:kms:us-gov-west-1:123456789012:key/${'1'.repeat(8)}-1111-1111-1111-${'1'.repeat(12)}`);

    expect(result).toMatchObject({ status: 'completed', verifiedBy: 'multipart-md5' });
    expect(hashing).toHaveBeenCalledTimes(3);
    hashing.mockRestore();
  });

  test.each([
    ['a single-request source (whole-object MD5)', false],
    ['a multipart source (MD5 of the part MD5s)', true],
  ])('%s: a part read wrong is never committed', async (_, multipart) => {
    const setup = await setUp();
    const body = randomBytes(3 * (multipart ? 5 * MiB : MIN_PART_SIZE) + 99);
    const versionId = multipart ? (await putMultipartSource(setup, 'flip.bin', body)).VersionId! : await putSource(setup, 'flip.bin', body);
    // Fault injection: a bit flips in the second part's bytes on the way from the source.
    setup.source.middlewareStack.add((next) => async (args) => {
      const result = await next(args);
      const output = result.output as { Body?: Readable };
      const range = ((args as { input: GetObjectCommandInput }).input).Range;
      if (range?.startsWith(`bytes=${multipart ? 5 * MiB : MIN_PART_SIZE}-`)) {
        const bytes = Buffer.concat(await output.Body!.toArray());
        bytes[100] = 255 - bytes[100];
        output.Body = Readable.from([bytes]);
      }
      return result;
    }, { step: 'initialize', name: 'flipBit' });

    const error = await copy(setup, 'flip.bin', versionId).catch((thrown: unknown) => thrown);

    expect(error).toBeInstanceOf(ContentMismatchError);
    expect((error as Error).message).toContain('do not match the source\'s ETag');
    expect((await setup.fixture.destinationVersions('flip.bin')).versions).toHaveLength(0);
    expect(await pendingUploads(setup)).toBe(0);
    expect(await setup.checkpoints.load('flip.bin', versionId)).toBeUndefined();
  });

  test('memory: parts in flight never exceed the budget divided by the part size', async () => {
    const setup = await setUp();
    const versionId = await putSource(setup, 'wide.bin', randomBytes(6 * MIN_PART_SIZE));
    let inFlight = 0;
    let peak = 0;
    setup.destination.middlewareStack.add((next, context) => async (args) => {
      if (context.commandName !== 'UploadPartCommand') return next(args);
      peak = Math.max(peak, ++inFlight);
      try {
        return await next(args);
      } finally {
        inFlight--;
      }
    }, { step: 'initialize', name: 'inFlight' });

    await copy(setup, 'wide.bin', versionId, limits({ memoryBudget: 3 * MIN_PART_SIZE }));

    expect(peak).toBeGreaterThan(1);
    expect(peak).toBeLessThanOrEqual(3);
  });
});

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
    // The whole-object MD5 cannot span calls; every part still carried its CRC32.
    expect(results[4]).toMatchObject({ verifiedBy: 'transit', resumedParts: 4 });
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
