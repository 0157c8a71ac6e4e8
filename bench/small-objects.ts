// Small objects (4 KiB): what the replicator costs per object end to end, against the least any
// copy can do (one GET from the source, one PUT to the destination), and what it sends to each service.
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { BatchGetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { MotoAddress, dynamoDbFor } from './moto-services';
import { ReplicatorResult, SmallObject, throughReplicator } from './replicator-end-to-end';
import { S3ServerAddress, createVersionedBucket, s3ClientFor } from './s3-servers';
import { UploadCheckpoints } from '../src/runtime/engine/multipart/upload-checkpoints';
import { copyVersion } from '../src/runtime/engine/object-copy';

export interface SmallObjectsOptions {
  readonly src: S3ServerAddress;
  readonly dst: S3ServerAddress;
  readonly moto: MotoAddress;
  /** Names buckets, table, queue and keys of this run, e.g. "untagged". */
  readonly variant: string;
  readonly count: number;
  readonly objectSize: number;
  /** x-amz-tagging of every source object, e.g. "team=bench"; undefined: untagged. */
  readonly tagging?: string;
  readonly memoryBudget: number;
}

export interface SmallObjectsResult extends ReplicatorResult {
  readonly count: number;
  /** Mean ms per object. */
  readonly rawGetPutMs: number;
  readonly copyVersionMs: number;
  /** The emulator's own latency, sequential requests on an otherwise idle table client: ms per request. */
  readonly motoPutItemMs: number;
  readonly motoBatchGetItemMs: number;
}

export async function measureSmallObjects(options: SmallObjectsOptions): Promise<SmallObjectsResult> {
  const { variant } = options;
  const srcBucket = `bench-small-${variant}-src`;
  const source = s3ClientFor(options.src, 16);
  try {
    await createVersionedBucket(source, srcBucket);
    // One extra object warms every path up (connections, the secret read) before anything is timed.
    const [warmUp, ...objects] = await uploadSmallObjects(source, srcBucket, `${variant}/`, options.count + 1, options.objectSize, options.tagging);
    const rawGetPutMs = await rawGetPut(options, source, srcBucket, warmUp, objects);
    const copyVersionMs = await copyVersionAlone(options, source, srcBucket, warmUp, objects);
    const replicator = await throughReplicator(options, srcBucket, warmUp, objects);
    const moto = await motoLatency(options.moto, `bench-${variant}-versions`);
    return { count: objects.length, rawGetPutMs, copyVersionMs, ...replicator, ...moto };
  } finally {
    source.destroy();
  }
}

export async function uploadSmallObjects(
  client: S3Client, bucket: string, prefix: string, count: number, size: number, tagging?: string,
): Promise<SmallObject[]> {
  const objects: SmallObject[] = new Array(count);
  let next = 0;
  const upload = async () => {
    for (let i = next++; i < count; i = next++) {
      const key = `${prefix}${String(i).padStart(5, '0')}`;
      const put = await client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: randomBytes(size), Tagging: tagging }));
      objects[i] = { key, versionId: put.VersionId!, eTag: put.ETag!.replace(/"/g, '') };
    }
  };
  await Promise.all(Array.from({ length: 8 }, upload));
  return objects;
}

/** The floor: one GET of the version into memory, one PUT of those bytes, sequentially per object. */
async function rawGetPut(
  options: SmallObjectsOptions, source: S3Client, srcBucket: string, warmUp: SmallObject, objects: SmallObject[],
): Promise<number> {
  const dstBucket = `bench-small-${options.variant}-raw`;
  const destination = s3ClientFor(options.dst, 16);
  try {
    await createVersionedBucket(destination, dstBucket);
    const copy = async (object: SmallObject) => {
      const got = await source.send(new GetObjectCommand({ Bucket: srcBucket, Key: object.key, VersionId: object.versionId }));
      const body = await got.Body!.transformToByteArray();
      await destination.send(new PutObjectCommand({ Bucket: dstBucket, Key: object.key, Body: body }));
    };
    return await millisPerObject(copy, warmUp, objects);
  } finally {
    destination.destroy();
  }
}

/** Mean milliseconds per object of `copy`, run one object at a time after one warm-up call. */
async function millisPerObject(copy: (object: SmallObject) => Promise<void>, warmUp: SmallObject, objects: SmallObject[]): Promise<number> {
  await copy(warmUp);
  const start = performance.now();
  for (const object of objects) await copy(object);
  return (performance.now() - start) / objects.length;
}

/**
 * copyVersion alone, with a destination client configured exactly as the replicator's own (see
 * src/runtime/destination/destination-client.ts). Objects of at most 8 MiB never touch the checkpoints, so
 * they point at a table that doesn't exist: any use would fail the run.
 */
async function copyVersionAlone(
  options: SmallObjectsOptions, source: S3Client, srcBucket: string, warmUp: SmallObject, objects: SmallObject[],
): Promise<number> {
  const dstBucket = `bench-small-${options.variant}-copyversion`;
  const destination = replicatorLikeDestination(options.dst);
  const dynamodb = dynamoDbFor(options.moto);
  const checkpoints = new UploadCheckpoints(dynamodb, 'no-such-table');
  const limits = { memoryBudget: options.memoryBudget, reserveMs: 0, now: Date.now, finalAttempt: false };
  try {
    await createVersionedBucket(destination, dstBucket);
    const copy = async (object: SmallObject) => {
      const result = await copyVersion(
        { client: source, bucket: srcBucket, key: object.key, versionId: object.versionId },
        destination, { bucket: dstBucket, replicateTags: true }, { checkpoints, limits },
      );
      if (result.status !== 'completed') throw new Error(`copyVersion of ${object.key} ended ${result.status}`);
    };
    return await millisPerObject(copy, warmUp, objects);
  } finally {
    destination.destroy();
    dynamodb.destroy();
  }
}

/** What DestinationClients builds from the secret: SDK defaults, path-style for a custom endpoint. */
function replicatorLikeDestination(server: S3ServerAddress): S3Client {
  return new S3Client({
    region: 'us-east-1',
    endpoint: server.endpoint,
    forcePathStyle: true,
    credentials: { accessKeyId: server.accessKeyId, secretAccessKey: server.secretAccessKey },
  });
}

/**
 * What one DynamoDB request costs on moto, items shaped like the version map's: the replicator makes
 * three per object (BatchGetItem, two PutItems), and in AWS their latency doesn't land on these cores.
 */
async function motoLatency(moto: MotoAddress, tableName: string): Promise<{ motoPutItemMs: number; motoBatchGetItemMs: number }> {
  const client = dynamoDbFor(moto);
  const iterations = 100;
  const item = (i: number) => ({ pk: { S: `object#latency/${i}` }, sk: { S: 'head' }, sourceVersionId: { S: `v${i}` }, eTag: { S: '"0123456789abcdef"' } });
  try {
    await client.send(new PutItemCommand({ TableName: tableName, Item: item(-1) }));
    let start = performance.now();
    for (let i = 0; i < iterations; i++) {
      await client.send(new PutItemCommand({ TableName: tableName, Item: item(i), ConditionExpression: 'attribute_not_exists(pk)' }));
    }
    const motoPutItemMs = (performance.now() - start) / iterations;
    start = performance.now();
    for (let i = 0; i < iterations; i++) {
      const keys = [{ pk: { S: `object#latency/${i}` }, sk: { S: 'head' } }, { pk: { S: `object#latency/${i}` }, sk: { S: 'version#v' } }];
      await client.send(new BatchGetItemCommand({ RequestItems: { [tableName]: { Keys: keys, ConsistentRead: true } } }));
    }
    return { motoPutItemMs, motoBatchGetItemMs: (performance.now() - start) / iterations };
  } finally {
    client.destroy();
  }
}
