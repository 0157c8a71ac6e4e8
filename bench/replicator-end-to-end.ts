// The replicator end to end, as it is deployed: the bundled handler (assets/handlers/replicator.lambda,
// built by `npx projen bundle`) loaded the way Lambda loads it, with the environment the construct
// gives it, fed SQS events of 10 records as the Lambda poller would (one message group per key).
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import { GetObjectTaggingCommand, ListObjectVersionsCommand, S3Client } from '@aws-sdk/client-s3';
import type { SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { MOTO_REGION, MotoAddress, createFifoQueue, createSecret, createTable } from './moto-services';
import { RequestCounter, ServiceCount, jsonCommandOf, s3CommandOf } from './request-counter';
import { S3ServerAddress, createVersionedBucket, s3ClientFor } from './s3-servers';
import { DeployedFunction, invoke } from '../scripts/demo/lambda-invocation';
import { ENV, replicatorEnvironment } from '../src/runtime/contract/replication-environment';
import { messageDeduplicationId, messageGroupId, ObjectCreatedMessage } from '../src/runtime/contract/replication-message';
import { EVERY_KEY } from '../src/runtime/contract/replication-scope';

export interface SmallObject {
  readonly key: string;
  readonly versionId: string;
  readonly eTag: string;
}

export interface ReplicatorRunOptions {
  readonly src: S3ServerAddress;
  readonly dst: S3ServerAddress;
  readonly moto: MotoAddress;
  /** Names the replica bucket, table, queues and secret of this run, e.g. "untagged". */
  readonly variant: string;
  /** x-amz-tagging of every source object, checked on a replica; undefined: untagged. */
  readonly tagging?: string;
}

export interface ReplicatorResult {
  /** Mean ms per object. */
  readonly replicatorMs: number;
  /** Steady state (the warm-up object excluded), per object, by service. */
  readonly requestsPerObject: Record<string, number>;
  readonly commandsPerObject: Record<string, Record<string, number>>;
  /** Time inside each service's requests, ms per object: where the replicator's time goes. */
  readonly serviceMsPerObject: Record<string, number>;
}

export const SOURCE_SERVICE = 'S3 source';
export const DESTINATION_SERVICE = 'S3 destination';
export const SERVICES = [SOURCE_SERVICE, DESTINATION_SERVICE, 'DynamoDB', 'SQS', 'Secrets Manager'] as const;
const RECORDS_PER_EVENT = 10; // what the Lambda SQS poller hands a FIFO consumer at most
const REPLICATOR_ASSET = path.join(__dirname, '..', 'assets', 'handlers', 'replicator.lambda');
/** The construct's defaults for the replicator function (replicatorTimeout, replicatorMemorySize). */
const TIMEOUT_SECONDS = 15 * 60;
const MEMORY_MB = 1024;
/** The services of moto by their `X-Amz-Target` prefix. */
const MOTO_SERVICES: Record<string, string> = { DynamoDB_20120810: 'DynamoDB', AmazonSQS: 'SQS', secretsmanager: 'Secrets Manager' };

/**
 * The bundled replicator end to end: version table, checkpoints and secret on moto, source on
 * server A, replicas on server B, one invocation after the other. Its requests are counted at
 * Node's HTTP client (see RequestCounter.observeHttp): the bundle builds its SDK clients itself.
 */
export async function throughReplicator(
  options: ReplicatorRunOptions, srcBucket: string, warmUp: SmallObject, objects: SmallObject[],
): Promise<ReplicatorResult> {
  const admin = s3ClientFor(options.dst, 4);
  const counter = new RequestCounter();
  const stopCounting = counter.observeHttp(classifier(options));
  try {
    const replicator = await deployReplicator(options, admin, srcBucket);
    await invokeReplicator(replicator, sqsEvent(srcBucket, [warmUp], 0));
    const events: SQSEvent[] = [];
    for (let i = 0; i < objects.length; i += RECORDS_PER_EVENT) {
      events.push(sqsEvent(srcBucket, objects.slice(i, i + RECORDS_PER_EVENT), i + 1));
    }
    counter.reset();
    const start = performance.now();
    for (const event of events) await invokeReplicator(replicator, event);
    const replicatorMs = (performance.now() - start) / objects.length;
    const counts = counter.snapshot();
    stopCounting();
    await checkReplicas(admin, replicator.environment[ENV.destinationBucket], objects, options.tagging);

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
    stopCounting();
    admin.destroy();
  }
}

/**
 * Creates what the construct would (replica bucket, version table, queues, the credentials secret)
 * and the function: the construct's environment for it (`replicatorEnvironment`) plus what Lambda
 * adds (region, the role's credentials, memory size), with the SDK's standard endpoint variables
 * pointing its own clients at moto and its source S3 client at server A. The destination is server
 * B through the construct's `destinationEndpoint` (an http:// URL, which the construct accepts
 * only with `allowInsecureEndpoints: true`).
 */
async function deployReplicator(options: ReplicatorRunOptions, admin: S3Client, sourceBucket: string): Promise<DeployedFunction> {
  const { variant, moto } = options;
  const destinationBucket = `bench-small-${variant}-replica`;
  await createVersionedBucket(admin, destinationBucket);
  const tableName = `bench-${variant}-versions`;
  await createTable(moto, tableName);
  // The secret's shape as the construct documents it; "partition" must equal destinationPartition.
  const credentialsSecretId = await createSecret(moto, `bench-${variant}/destination-credentials`, {
    accesskey: options.dst.accessKeyId, secretaccesskey: options.dst.secretAccessKey, partition: 'aws',
  });
  const environment = replicatorEnvironment({
    sourceBucket,
    scope: EVERY_KEY,
    tableName,
    queueUrl: await createFifoQueue(moto, `bench-${variant}`),
    deadLetterQueueUrl: await createFifoQueue(moto, `bench-${variant}-dlq`),
    maxReceiveCount: 3,
    credentialsSecretId,
    destinationBucket,
    destinationRegion: MOTO_REGION,
    destinationPartition: 'aws',
    destinationEndpoint: options.dst.endpoint,
    replicateDeleteMarkers: true,
    replicateVersionDeletes: false,
    replicateTags: true,
  });
  const entry = path.join(REPLICATOR_ASSET, 'index.js');
  if (!fs.existsSync(entry)) throw new Error(`${entry} not found: run npx projen bundle`);
  // A fresh module, as in a new sandbox: the handler reads its environment when it loads.
  delete require.cache[require.resolve(entry)];
  return {
    name: `bench-${variant}-replicator`,
    assetDir: REPLICATOR_ASSET,
    timeoutSeconds: TIMEOUT_SECONDS,
    environment: {
      ...environment,
      AWS_REGION: MOTO_REGION,
      AWS_DEFAULT_REGION: MOTO_REGION,
      // The role's credentials: server A's key, which moto accepts as any other.
      AWS_ACCESS_KEY_ID: options.src.accessKeyId,
      AWS_SECRET_ACCESS_KEY: options.src.secretAccessKey,
      AWS_LAMBDA_FUNCTION_NAME: `bench-${variant}-replicator`,
      AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(MEMORY_MB),
      AWS_ENDPOINT_URL: moto.endpoint,
      AWS_ENDPOINT_URL_S3: options.src.endpoint,
    },
  };
}

/** One invocation (through the demo's Lambda stand-in, which collects its logs); any failed record fails the run. */
async function invokeReplicator(replicator: DeployedFunction, event: SQSEvent): Promise<void> {
  const { result, lines } = await invoke(replicator, event);
  const failures = (result as SQSBatchResponse).batchItemFailures;
  if (failures.length > 0) {
    throw new Error(`replicator reported failures: ${JSON.stringify(failures)}; its log:\n${lines.filter((line) => line.includes('"ERROR"')).join('\n')}`);
  }
}

/** Names each request by the server it goes to: server A, server B, or moto (by its target). */
function classifier(options: ReplicatorRunOptions) {
  const hosts = new Map([[new URL(options.src.endpoint).host, SOURCE_SERVICE], [new URL(options.dst.endpoint).host, DESTINATION_SERVICE]]);
  const motoHost = new URL(options.moto.endpoint).host;
  return (request: Parameters<typeof s3CommandOf>[0]) => {
    const host = String(request.getHeader('host'));
    const s3 = hosts.get(host);
    if (s3) return { service: s3, command: s3CommandOf(request) };
    if (host !== motoHost) return undefined;
    const json = jsonCommandOf(request);
    return { service: (json && MOTO_SERVICES[json.target]) ?? 'moto (other)', command: json?.command ?? request.method };
  };
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
