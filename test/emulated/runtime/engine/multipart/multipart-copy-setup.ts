import { createHash } from 'crypto';
import { ListMultipartUploadsCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { CopyLimits } from '../../../../../src/runtime/engine/multipart/multipart-copy';
import { MIN_PART_SIZE } from '../../../../../src/runtime/engine/multipart/part-plan';
import { UploadCheckpoints } from '../../../../../src/runtime/engine/multipart/upload-checkpoints';
import { copyVersion, CopyResult } from '../../../../../src/runtime/engine/object-copy';
import { destinationS3, sourceS3 } from '../../../emulators/partitions';
import { ReplicationFixture } from '../../../emulators/replication-fixture';
import { RequestCounter } from '../../../emulators/request-counter';


/** The copy engine against the two moto partitions: setup and fault injection shared by its tests. */

export const MiB = 1024 * 1024;
export const md5 = (data: Uint8Array) => createHash('md5').update(data).digest('hex');

export interface Setup {
  readonly fixture: ReplicationFixture;
  readonly source: S3Client;
  readonly destination: S3Client;
  readonly checkpoints: UploadCheckpoints;
  readonly counter: RequestCounter;
}

export async function setUp(): Promise<Setup> {
  const fixture = await ReplicationFixture.create();
  const counter = new RequestCounter();
  const source = counter.attach(sourceS3(fixture.emulators.sourceEndpoint, fixture.emulators.sourceAdmin), 'source');
  const destination = counter.attach(destinationS3(fixture.emulators.destinationEndpoint, fixture.emulators.destinationAdmin), 'destination');
  return { fixture, source, destination, checkpoints: new UploadCheckpoints(fixture.dynamodb, fixture.tableName), counter };
}

export function limits(change: Partial<CopyLimits> = {}): CopyLimits {
  return { memoryBudget: 4 * MIN_PART_SIZE, reserveMs: 0, now: Date.now, finalAttempt: false, ...change };
}

export async function putSource(setup: Setup, key: string, body: Buffer): Promise<string> {
  const put = await setup.fixture.sourceS3.send(new PutObjectCommand({ Bucket: setup.fixture.sourceBucket, Key: key, Body: body }));
  return put.VersionId!;
}

export function copy(setup: Setup, key: string, versionId: string, copyLimits: CopyLimits = limits(), kmsKeyArn?: string): Promise<CopyResult> {
  const { fixture, source, destination, checkpoints } = setup;
  return copyVersion(
    { client: source, bucket: fixture.sourceBucket, key, versionId },
    destination,
    { bucket: fixture.destinationBucket, replicateTags: true, kmsKeyArn },
    { checkpoints, limits: copyLimits },
  );
}

/** A source written as the SDK's Upload writes large objects: 5 MiB parts. */
export async function putMultipartSource(setup: Setup, key: string, body: Buffer): Promise<{ VersionId?: string; ETag?: string }> {
  const params = { Bucket: setup.fixture.sourceBucket, Key: key, Body: body };
  return new Upload({ client: setup.fixture.sourceS3, params, partSize: 5 * MiB }).done();
}

export async function pendingUploads(setup: Setup): Promise<number> {
  const listed = await setup.fixture.adminS3.send(new ListMultipartUploadsCommand({ Bucket: setup.fixture.destinationBucket }));
  return (listed.Uploads ?? []).length;
}

/**
 * UploadParts of part `partNumber` fail `times` times (fault injection: a connection reset, which no
 * server produces on demand); returns how many UploadParts the destination accepted.
 */
export function dropPart(client: S3Client, partNumber: number, times: number): () => number {
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
export function failAfter(client: S3Client, command: string, after: number, fault: (send: () => Promise<unknown>) => Promise<unknown>) {
  let calls = 0;
  client.middlewareStack.add((next, context) => async (args) => {
    if (context.commandName === command && calls++ === after) return fault(() => next(args)) as ReturnType<typeof next>;
    return next(args);
  }, { step: 'initialize', name: 'injectFault' });
}
