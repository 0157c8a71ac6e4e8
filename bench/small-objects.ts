// Small objects (4 KiB): what the replicator costs per object end to end, against the least any
// copy can do (one GET from the source, one PUT to the destination), and what it sends to each service.
import { createHash, randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { BatchGetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import {
  GetObjectCommand,
  GetObjectTaggingCommand,
  ListObjectVersionsCommand,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SQSClient } from '@aws-sdk/client-sqs';
import type { SQSEvent, SQSRecord } from 'aws-lambda';
import { MOTO_REGION, MotoAddress, createFifoQueue, createSecret, createTable, dynamoDbFor, motoConfig } from './moto-services';
import { RequestCounter, ServiceCount } from './request-counter';
import { S3ServerAddress, createVersionedBucket, s3ClientFor } from './s3-servers';
import { messageDeduplicationId, messageGroupId, ObjectCreatedMessage } from '../src/runtime/contract/replication-message';
import { createTelemetry } from '../src/runtime/contract/telemetry';
import { UploadCheckpoints } from '../src/runtime/engine/multipart/upload-checkpoints';
import { copyVersion } from '../src/runtime/engine/object-copy';
import { createReplicatorHandler } from '../src/runtime/replication/replicator-handler';

export interface SmallObject {
  readonly key: string;
  readonly versionId: string;
  readonly eTag: string;
}

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

export interface SmallObjectsResult {
  readonly count: number;
  /** Mean ms per object. */
  readonly rawGetPutMs: number;
  readonly copyVersionMs: number;
  readonly replicatorMs: number;
  /** Steady state (first object excluded), per object, by service. */
  readonly requestsPerObject: Record<string, number>;
  readonly commandsPerObject: Record<string, Record<string, number>>;
  /** Time inside each service's requests, ms per object: where the replicator's time goes. */
  readonly serviceMsPerObject: Record<string, number>;
  /** The emulator's own latency, sequential requests on an otherwise idle table client: ms per request. */
  readonly motoPutItemMs: number;
  readonly motoBatchGetItemMs: number;
}

const SOURCE_SERVICE = 'S3 source';
const DESTINATION_SERVICE = 'S3 destination';
export const SERVICES = [SOURCE_SERVICE, DESTINATION_SERVICE, 'DynamoDB', 'SQS', 'Secrets Manager'] as const;
const RECORDS_PER_EVENT = 10; // what the Lambda SQS poller hands a FIFO consumer at most

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

async function uploadSmallObjects(
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
 * src/runtime/destination-client.ts). Objects of at most 8 MiB never touch the checkpoints, so
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
 * The replicator handler end to end: version table, checkpoints and secret on moto, source on
 * server A, replicas on server B, fed SQS events of 10 records as the Lambda poller would
 * (one message group per key), one invocation after the other.
 */
async function throughReplicator(
  options: SmallObjectsOptions, srcBucket: string, warmUp: SmallObject, objects: SmallObject[],
): Promise<Omit<SmallObjectsResult, 'count' | 'rawGetPutMs' | 'copyVersionMs' | 'motoPutItemMs' | 'motoBatchGetItemMs'>> {
  const { variant, moto } = options;
  const dstBucket = `bench-small-${variant}-replica`;
  const admin = s3ClientFor(options.dst, 4);
  await createVersionedBucket(admin, dstBucket);
  const tableName = `bench-${variant}-versions`;
  await createTable(moto, tableName);
  const queueUrl = await createFifoQueue(moto, `bench-${variant}`);
  const deadLetterQueueUrl = await createFifoQueue(moto, `bench-${variant}-dlq`);
  // The secret's shape as the construct documents it; "partition" must equal destinationPartition.
  const secretArn = await createSecret(moto, `bench-${variant}/destination-credentials`, {
    accesskey: options.dst.accessKeyId, secretaccesskey: options.dst.secretAccessKey, partition: 'aws',
  });

  const counter = new RequestCounter();
  const clients = {
    s3: counter.instrument(s3ClientFor(options.src, 16), SOURCE_SERVICE),
    dynamodb: counter.instrument(dynamoDbFor(moto), 'DynamoDB'),
    secretsManager: counter.instrument(new SecretsManagerClient(motoConfig(moto)), 'Secrets Manager'),
    sqs: counter.instrument(new SQSClient(motoConfig(moto)), 'SQS'),
  };
  // EMF metrics would print one JSON document per invocation to stdout, between the bench's lines.
  process.env.POWERTOOLS_METRICS_DISABLED = 'true';
  const restore = counter.instrumentNewS3Clients(DESTINATION_SERVICE);
  try {
    const handler = createReplicatorHandler({
      sourceBucket: srcBucket,
      scope: { prefixes: [] },
      tableName,
      queueUrl,
      deadLetterQueueUrl,
      maxReceiveCount: 3,
      credentialsSecretId: secretArn,
      destinationBucket: dstBucket,
      destinationRegion: MOTO_REGION,
      destinationPartition: 'aws',
      destinationEndpoint: options.dst.endpoint,
      replicateDeleteMarkers: true,
      replicateVersionDeletes: false,
      replicateTags: true,
    }, clients, createTelemetry('replicator', 'ERROR'), { memoryBudget: options.memoryBudget }, {
      recordOutcome: () => Promise.reject(new Error('the bench enqueues no backfill run')),
    });

    const invoke = async (event: SQSEvent) => {
      const response = await handler(event);
      if (response.batchItemFailures.length > 0) {
        throw new Error(`replicator reported failures: ${JSON.stringify(response.batchItemFailures)}`);
      }
    };
    await invoke(sqsEvent(srcBucket, [warmUp], 0));
    const events: SQSEvent[] = [];
    for (let i = 0; i < objects.length; i += RECORDS_PER_EVENT) {
      events.push(sqsEvent(srcBucket, objects.slice(i, i + RECORDS_PER_EVENT), i + 1));
    }
    counter.reset();
    const start = performance.now();
    for (const event of events) await invoke(event);
    const replicatorMs = (performance.now() - start) / objects.length;
    const counts = counter.snapshot();
    await checkReplicas(admin, dstBucket, objects, options.tagging);

    const perObject = (pick: (count: ServiceCount) => number) => Object.fromEntries(
      SERVICES.map((service) => [service, counts[service] ? pick(counts[service]) / objects.length : 0]),
    );
    return {
      replicatorMs,
      requestsPerObject: perObject((count) => count.requests),
      serviceMsPerObject: perObject((count) => count.ms),
      commandsPerObject: Object.fromEntries(SERVICES.map((service) => [service, Object.fromEntries(
        Object.entries(counts[service]?.byCommand ?? {}).map(([command, n]) => [command, n / objects.length]),
      )])),
    };
  } finally {
    restore();
    for (const client of Object.values(clients)) client.destroy();
    admin.destroy();
  }
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

let sequencer = 0x0055aed6dcd90281e5n;

/** One SQS event as the Lambda poller delivers a FIFO batch: ObjectCreated messages, a group per key. */
function sqsEvent(bucket: string, objects: SmallObject[], firstIndex: number): SQSEvent {
  const records: SQSRecord[] = objects.map((object, i) => {
    sequencer += 0x1000n;
    const message: ObjectCreatedMessage = {
      v: 1,
      kind: 'ObjectCreated',
      bucket,
      key: object.key,
      versionId: object.versionId,
      time: new Date().toISOString(),
      requestId: `BENCH${firstIndex + i}`,
      sequencer: sequencer.toString(16).toUpperCase().padStart(18, '0'),
      reason: 'PutObject',
      eTag: object.eTag,
    };
    const body = JSON.stringify(message);
    const group = messageGroupId(bucket, object.key);
    return {
      messageId: `bench-${firstIndex + i}`,
      receiptHandle: `bench-receipt-${firstIndex + i}`,
      body,
      attributes: {
        ApproximateReceiveCount: '1',
        SentTimestamp: String(Date.now()),
        SenderId: 'bench',
        ApproximateFirstReceiveTimestamp: String(Date.now()),
        MessageGroupId: group,
        MessageDeduplicationId: messageDeduplicationId(message),
        SequenceNumber: String(firstIndex + i),
      },
      messageAttributes: {},
      md5OfBody: createHash('md5').update(body).digest('hex'),
      eventSource: 'aws:sqs',
      eventSourceARN: `arn:aws:sqs:${MOTO_REGION}:123456789012:bench.fifo`,
      awsRegion: MOTO_REGION,
    };
  });
  return { Records: records };
}

/** Every object has a replica (and, tagged, its tags): a fast replicator that copies nothing proves nothing. */
async function checkReplicas(admin: S3Client, bucket: string, objects: SmallObject[], tagging?: string): Promise<void> {
  const replicated = new Set<string>();
  let keyMarker: string | undefined;
  do {
    const page = await admin.send(new ListObjectVersionsCommand({ Bucket: bucket, KeyMarker: keyMarker }));
    for (const version of page.Versions ?? []) replicated.add(version.Key!);
    keyMarker = page.IsTruncated ? page.NextKeyMarker : undefined;
  } while (keyMarker);
  const missing = objects.filter((object) => !replicated.has(object.key));
  if (missing.length > 0) throw new Error(`${missing.length} objects have no replica, e.g. ${missing[0].key}`);
  if (tagging) {
    const sample = objects[objects.length - 1];
    const tags = await admin.send(new GetObjectTaggingCommand({ Bucket: bucket, Key: sample.key }));
    const found = (tags.TagSet ?? []).map((tag) => `${tag.Key}=${tag.Value}`).join('&');
    if (found !== tagging) throw new Error(`replica of ${sample.key} has tags "${found}", expected "${tagging}"`);
  }
}
