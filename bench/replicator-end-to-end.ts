// The replicator end to end, as it is deployed: the bundled handler (assets/handlers/replicator.lambda,
// built by `npx projen bundle`) loaded the way Lambda loads it, with the environment the construct
// gives it, fed SQS events of 10 records as the Lambda poller would (one message group per key);
// optionally fewer records per event, and several sandboxes at once, each a child process.
import { ChildProcess, fork } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import { GetObjectTaggingCommand, ListObjectVersionsCommand, S3Client } from '@aws-sdk/client-s3';
import type { SQSEvent, SQSRecord } from 'aws-lambda';
import * as esbuild from 'esbuild';
import { MOTO_REGION, MotoAddress, createFifoQueue, createSecret, createTable } from './moto-services';
import type { LoopReply, LoopRequest } from './replicator-loop-child';
import { invokeReplicator } from './replicator-loop-child';
import { RequestCounter, ServiceCount, jsonCommandOf, s3CommandOf } from './request-counter';
import { S3ServerAddress, createVersionedBucket, s3ClientFor } from './s3-servers';
import { DeployedFunction } from '../scripts/demo/lambda-invocation';
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
  /**
   * Where the replicator reaches the destination (its `destinationEndpoint`), e.g. a latency proxy
   * in front of `dst`. Default: `dst.endpoint`. Buckets are created and replicas checked on `dst` directly.
   */
  readonly destinationEndpoint?: string;
  /** Records per SQS event (per invocation), 1 to 10. Default: 10, what the poller hands a FIFO consumer at most. */
  readonly recordsPerEvent?: number;
  /**
   * Sandboxes invoked at once, sharing the events (each takes the next when its invocation is done).
   * Default 1, in this process, requests counted; more: each in a child process of its own (as each
   * Lambda sandbox is), requests not counted.
   */
  readonly replicators?: number;
}

export interface ReplicatorResult {
  /** Mean ms per object: the timed run's wall time / objects (with several replicators, of all of them). */
  readonly replicatorMs: number;
  /** Invocations each replicator ran (one entry per replicator). */
  readonly invocations: readonly number[];
  /** Steady state (the warm-up object excluded), per object, by service; empty with several replicators. */
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
 * server A, replicas on server B, one invocation after the other (per replicator). Its requests are
 * counted at Node's HTTP client (see RequestCounter.observeHttp): the bundle builds its SDK clients
 * itself. `warmUp`: replicated before the timing starts; with several objects, each replicator's
 * warm-up event takes its share of them, up to `recordsPerEvent` (so a warm sandbox has as many
 * destination connections open as its batches use).
 */
export async function throughReplicator(
  options: ReplicatorRunOptions, srcBucket: string, warmUp: SmallObject | readonly SmallObject[], objects: SmallObject[],
): Promise<ReplicatorResult> {
  const recordsPerEvent = options.recordsPerEvent ?? RECORDS_PER_EVENT;
  const replicators = options.replicators ?? 1;
  if (recordsPerEvent < 1 || recordsPerEvent > RECORDS_PER_EVENT) throw new Error(`recordsPerEvent ${recordsPerEvent}: 1 to ${RECORDS_PER_EVENT}`);
  const warmUps = Array.isArray(warmUp) ? warmUp as readonly SmallObject[] : [warmUp as SmallObject];
  const admin = s3ClientFor(options.dst, 4);
  const counter = new RequestCounter();
  const stopCounting = counter.observeHttp(classifier(options));
  try {
    const replicator = await deployReplicator(options, admin, srcBucket);
    const events: SQSEvent[] = [];
    for (let i = 0; i < objects.length; i += recordsPerEvent) {
      events.push(sqsEvent(srcBucket, objects.slice(i, i + recordsPerEvent), i + 1));
    }
    let replicatorMs: number;
    let invocations: number[];
    const perWarmUp = Math.min(recordsPerEvent, Math.max(1, Math.floor(warmUps.length / replicators)));
    const warmUpEvents = Array.from({ length: replicators }, (_, i) =>
      sqsEvent(srcBucket, warmUps.slice(i * perWarmUp, (i + 1) * perWarmUp), -1 - i * perWarmUp));
    if (replicators === 1) {
      await invokeReplicator(replicator, warmUpEvents[0]);
      counter.reset();
      const start = performance.now();
      for (const event of events) await invokeReplicator(replicator, event);
      replicatorMs = (performance.now() - start) / objects.length;
      invocations = [events.length];
    } else {
      stopCounting();
      const run = await replicatorLoops(replicator, warmUpEvents, events);
      replicatorMs = run.ms / objects.length;
      invocations = run.invocations;
    }
    const counts = counter.snapshot();
    stopCounting();
    await checkReplicas(admin, replicator.environment[ENV.destinationBucket], objects, options.tagging);

    const perObject = (pick: (count: ServiceCount) => number) => Object.fromEntries(
      SERVICES.map((service) => [service, counts[service] ? pick(counts[service]) / objects.length : 0]),
    );
    return {
      replicatorMs,
      invocations,
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
    destinationEndpoint: options.destinationEndpoint ?? options.dst.endpoint,
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

const LOOP_CHILD = path.join(__dirname, 'replicator-loop-child.ts');
const LOOP_BUNDLE = path.join(__dirname, '..', '.bench', 'build', 'replicator-loop-child.js');

/**
 * Several sandboxes of one function at once, each a child process (bench/replicator-loop-child.ts,
 * bundled with esbuild): each replicates its warm-up event (cold start, secret, connections), then,
 * once all are warm, the timer starts and each takes the next event as soon as its invocation is
 * done, until none is left. Returns the wall time from the start to the last invocation's end.
 */
async function replicatorLoops(
  replicator: DeployedFunction, warmUpEvents: SQSEvent[], events: SQSEvent[],
): Promise<{ ms: number; invocations: number[] }> {
  await esbuild.build({
    stdin: {
      contents: `import { runReplicatorLoopChild } from ${JSON.stringify(LOOP_CHILD)};\nrunReplicatorLoopChild();\n`,
      resolveDir: path.join(__dirname, '..'),
      loader: 'ts',
      sourcefile: 'replicator-loop-entry.ts',
    },
    outfile: LOOP_BUNDLE,
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    logLevel: 'error',
  });
  const { handler: _notSerializable, ...fn } = replicator;
  const children: ChildProcess[] = [];
  try {
    let next = 0;
    let ready = 0;
    let start = 0;
    let finished = 0;
    const invocations: number[] = [];
    const ms = await new Promise<number>((resolve, reject) => {
      const request = (child: ChildProcess, message: LoopRequest) => child.send(message);
      const giveNext = (child: ChildProcess) => {
        if (next < events.length) request(child, { type: 'event', event: events[next++] });
        else request(child, { type: 'stop' });
      };
      warmUpEvents.forEach((warmUp, i) => {
        // stdout (the handler's JSON logs, which invoke() collects anyway) is dropped; stderr is shown.
        const child = fork(LOOP_BUNDLE, [], { execArgv: ['--disable-warning=NodeVersionSupportWarning'], stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
        children.push(child);
        child.on('message', (reply: LoopReply) => {
          switch (reply.type) {
            case 'failed':
              reject(new Error(`replicator ${i + 1} of ${warmUpEvents.length} failed:\n${reply.error}`));
              break;
            case 'next':
              giveNext(child);
              break;
            case 'done':
              invocations[i] = reply.invocations;
              if (++finished === warmUpEvents.length) resolve(performance.now() - start);
              break;
            case 'ready':
              // All warm: the timer starts, and each replicator gets its first event.
              if (++ready === warmUpEvents.length) {
                start = performance.now();
                for (const each of children) giveNext(each);
              }
              break;
          }
        });
        child.once('exit', (code) => { if (code !== 0) reject(new Error(`replicator ${i + 1} exited with ${code}`)); });
        request(child, { type: 'start', fn, warmUp });
      });
    });
    return { ms, invocations };
  } finally {
    for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
  }
}

/** Names each request by the server it goes to: server A, server B, or moto (by its target). */
function classifier(options: ReplicatorRunOptions) {
  const hosts = new Map([[new URL(options.src.endpoint).host, SOURCE_SERVICE], [new URL(options.dst.endpoint).host, DESTINATION_SERVICE]]);
  if (options.destinationEndpoint) hosts.set(new URL(options.destinationEndpoint).host, DESTINATION_SERVICE);
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

/**
 * Every object has a replica whose ETag (the MD5 of its bytes, for these single-PUT objects) is the
 * source version's (and, tagged, its tags): a fast replicator that copies nothing proves nothing.
 */
async function checkReplicas(admin: S3Client, bucket: string, objects: SmallObject[], tagging?: string): Promise<void> {
  const replicated = new Map<string, string>();
  let keyMarker: string | undefined;
  let versionIdMarker: string | undefined;
  do {
    const page = await admin.send(new ListObjectVersionsCommand({ Bucket: bucket, KeyMarker: keyMarker, VersionIdMarker: versionIdMarker }));
    for (const version of page.Versions ?? []) if (version.IsLatest) replicated.set(version.Key!, version.ETag!.replace(/"/g, ''));
    keyMarker = page.IsTruncated ? page.NextKeyMarker : undefined;
    versionIdMarker = page.IsTruncated ? page.NextVersionIdMarker : undefined;
  } while (keyMarker);
  const missing = objects.filter((object) => !replicated.has(object.key));
  if (missing.length > 0) throw new Error(`${missing.length} objects have no replica, e.g. ${missing[0].key}`);
  const wrong = objects.filter((object) => replicated.get(object.key) !== object.eTag);
  if (wrong.length > 0) {
    throw new Error(`${wrong.length} replicas differ from their source, e.g. ${wrong[0].key}: ETag ${replicated.get(wrong[0].key)}, source ${wrong[0].eTag}`);
  }
  if (tagging) {
    const sample = objects[objects.length - 1];
    const tags = await admin.send(new GetObjectTaggingCommand({ Bucket: bucket, Key: sample.key }));
    const found = (tags.TagSet ?? []).map((tag) => `${tag.Key}=${tag.Value}`).join('&');
    if (found !== tagging) throw new Error(`replica of ${sample.key} has tags "${found}", expected "${tagging}"`);
  }
}
