// The soak: many small objects, with overwrites and deletes, through the deployed pipeline on the
// emulators, and at the end a check of every key for lost, duplicated or stale replicas.
// It reuses the demo (scripts/demo/): the README's example app synthesized, its resources deployed
// from the templates into two moto servers (source and destination partitions, IAM enforced), the
// bundled router and replicator run as Lambda would run them. Source writes are real PutObject and
// DeleteObject requests on moto; their events reach the router in a seeded shuffled order per
// stretch of writes (EventBridge keeps no order), and a poller playing the event source mapping
// hands the FIFO queue's batches to several replicator instances at once (child processes).
// Standalone: NODE_NO_WARNINGS=1 npx ts-node --project tsconfig.dev.json bench/soak.ts   (BENCH_SCALE=small: 2,000 writes)
// Options (environment): SOAK_OPERATIONS, SOAK_REPLICATORS (default 4), SOAK_SEED, SOAK_DRAIN_MINUTES (default 30),
// SOAK_INVOCATION_TIMEOUT_SECONDS (default the replicator's timeout).
// A run whose queue does not drain in time still ends with the check, and names what is stuck: the
// invocations still running, those that failed as a whole, the messages hidden in flight, the
// groups still on the queue.
import * as fs from 'node:fs';
import { performance } from 'node:perf_hooks';
import { DynamoDBClient, ScanCommand, ScanCommandOutput } from '@aws-sdk/client-dynamodb';
import { ListObjectVersionsCommand, S3Client } from '@aws-sdk/client-s3';
import { GetQueueAttributesCommand, ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { SQSEvent } from 'aws-lambda';
import { CpuShares, WatchedProcesses, cpuSince, cpuSnapshot, formatCpu } from './cpu-usage';
import { QUICK, progress } from './harness';
import { SandboxPool } from './lambda-sandbox';
import { Row, markdownTable } from './report';
import {
  GroupsInFlight, InvocationRecord, ListedVersion, MapRecord, QueueCounts, QueuedMessage, SoakFindings, SoakOperation,
  checkSoak, soakWorkload, stuckReport,
} from './soak-check';
import { findFunction, synthesizeExample } from '../scripts/demo/cloud-assembly';
import { deployExample, Deployment } from '../scripts/demo/emulated-deployment';
import { deliverToRouter, routerRulePattern } from '../scripts/demo/eventbridge-rule';
import { deliverToReplicator } from '../scripts/demo/replicator-poller';
import { Step } from '../scripts/demo/scenario';
import { startEmulatedPartitions } from '../test/emulated/emulators/emulated-partitions';
import { Emulators, SOURCE_REGION, destinationS3, emulators, sourceClientConfig, sourceS3 } from '../test/emulated/emulators/partitions';
import { S3EventSource } from '../test/emulated/emulators/s3-events';
import { prng, shuffle } from '../test/support/seeded-random';

export interface SoakOptions {
  /** Writes to the source bucket (new keys, overwrites, deletes). */
  readonly operations: number;
  /** Replicator instances running batches at once. */
  readonly replicators: number;
  readonly seed: number;
  /** The queue must be empty this long after the last write is routed, or the run stops, says why, and checks. */
  readonly drainMinutes: number;
  /** Each replicator invocation's time limit. @default the replicator's timeout, as Lambda */
  readonly invocationTimeoutSeconds?: number;
}

export const SOAK_DEFAULTS: SoakOptions = {
  operations: Number(process.env.SOAK_OPERATIONS ?? (QUICK ? 2_000 : 20_000)),
  replicators: Number(process.env.SOAK_REPLICATORS ?? 4),
  seed: Number(process.env.SOAK_SEED ?? 20261130),
  drainMinutes: Number(process.env.SOAK_DRAIN_MINUTES ?? 30),
  invocationTimeoutSeconds: process.env.SOAK_INVOCATION_TIMEOUT_SECONDS ? Number(process.env.SOAK_INVOCATION_TIMEOUT_SECONDS) : undefined,
};

/** Writes whose events EventBridge delivers in one shuffled stretch. */
const REORDER_WINDOW = 40;
/** Keys written at once, and router instances running at once. */
const WRITERS = 8;
const ROUTERS = 2;
/** Under the example's replicated prefix. */
const PREFIX = 'reports/soak/';

export interface SoakResult {
  readonly options: SoakOptions;
  readonly seconds: number;
  readonly writes: Record<string, number>;
  readonly routed: number;
  readonly deliveries: number;
  readonly batches: number;
  readonly failures: number;
  /** Invocations that failed as a whole (timed out, sandbox gone): their batches count as failed. */
  readonly failedInvocations: number;
  /** Why the queue did not drain in time (empty when it did). */
  readonly stuck: string[];
  readonly outcomes: Record<string, number>;
  readonly findings: SoakFindings;
  /** CPU over the timed part, per process (group): where the rate's limit is. */
  readonly cpu: CpuShares;
}

/**
 * Runs the soak on its own pair of emulated partitions and adds its row. Any violation fails the
 * run (exit code 1, each violation printed with its key) without losing the rest of the table.
 */
export async function measureSoak(rows: Row[], options: SoakOptions = SOAK_DEFAULTS): Promise<SoakResult> {
  const result = await runSoak(options);
  rows.push(...soakRows(result));
  const { violations } = result.findings;
  if (result.stuck.length > 0) progress(`SOAK STUCK:\n${result.stuck.join('\n')}`);
  if (violations.length > 0) {
    process.exitCode = 1;
    progress(`SOAK FAILED: ${violations.length} violations:\n${violations.slice(0, 100).join('\n')}`);
  }
  return result;
}

export async function runSoak(options: SoakOptions): Promise<SoakResult> {
  progress('soak: synthesizing the example app and starting two emulated partitions (moto, IAM enforced)');
  const stacks = synthesizeExample();
  const router = findFunction(stacks, '/Router/Resource');
  const replicator = findFunction(stacks, '/Replicator/Resource');
  const partitions = await startEmulatedPartitions();
  try {
    const emulated = emulators();
    const deployment = await deployExample(stacks, router, replicator, emulated);
    const routers = SandboxPool.start(deployment.router, ROUTERS);
    const replicators = SandboxPool.start(deployment.replicator, options.replicators,
      (options.invocationTimeoutSeconds ?? deployment.replicator.timeoutSeconds) * 1000);
    try {
      return await soak(options, emulated, deployment, { router, replicator }, { routers, replicators });
    } finally {
      await Promise.all([routers.stop(), replicators.stop()]);
    }
  } finally {
    await partitions.stop();
  }
}

type Functions = { router: ReturnType<typeof findFunction>; replicator: ReturnType<typeof findFunction> };
type Sandboxes = { routers: SandboxPool; replicators: SandboxPool };

/**
 * Writes the workload while the router and the replicators run: each stretch of writes goes to the
 * router in a shuffled order as soon as it is written, and the replicators drain the queue
 * meanwhile. Timed from the first write until the queue is empty; then the check.
 */
async function soak(options: SoakOptions, emulated: Emulators, deployment: Deployment, fns: Functions, sandboxes: Sandboxes): Promise<SoakResult> {
  const sourceBucket = deployment.router.environment.SOURCE_BUCKET_NAME;
  const destinationBucket = deployment.replicator.environment.DESTINATION_BUCKET_NAME;
  const source = sourceS3(emulated.sourceEndpoint, emulated.sourceAdmin);
  const destination = destinationS3(emulated.destinationEndpoint, emulated.destinationAdmin);
  const sqs = new SQSClient(sourceClientConfig(emulated.sourceEndpoint, emulated.sourceAdmin));
  const dynamodb = new DynamoDBClient(sourceClientConfig(emulated.sourceEndpoint, emulated.sourceAdmin));
  const queueUrl = deployment.replicator.environment.REPLICATION_QUEUE_URL;
  const deadLetterQueues = [deployment.replicator.environment.DEAD_LETTER_QUEUE_URL, deployment.router.environment.ROUTER_DEAD_LETTER_QUEUE_URL]
    .filter((url): url is string => url !== undefined);
  const pattern = routerRulePattern(fns.router, deployment.context);
  const workload = soakWorkload(options.operations, options.seed, PREFIX);
  const writes: Record<string, number> = {};
  for (const operation of workload) writes[operation.kind] = (writes[operation.kind] ?? 0) + 1;
  progress(`soak: ${options.operations} writes (${mix(writes)}), `
    + `${options.replicators} replicators, seed ${options.seed}`);

  const watched = watchedProcesses(emulated, sandboxes);
  try {
    const cpuAtStart = cpuSnapshot(watched);
    const start = performance.now();
    let written = false;
    let routed = 0;
    const produce = async () => {
      const events = new S3EventSource(source, sourceBucket, SOURCE_REGION);
      const random = prng(options.seed + 1);
      let routing = Promise.resolve();
      for (let first = 0; first < workload.length; first += REORDER_WINDOW) {
        const steps = await writeStretch(events, workload, first);
        await routing;
        // Routed while the next stretch is written; the shuffled order split among the routers.
        const order = shuffle(Object.keys(steps), random);
        routing = Promise.all(Array.from({ length: ROUTERS }, (_, slice) => deliverToRouter(
          steps, pattern, deployment, 0, order.filter((_name, i) => i % ROUTERS === slice), sandboxes.routers.invoke,
        ))).then((delivered) => {
          routed += delivered.flat().filter((delivery) => delivery.outcome.startsWith('queued')).length;
        });
        if ((first / REORDER_WINDOW) % 50 === 49) progress(`soak: ${first + REORDER_WINDOW} writes made`);
      }
      await routing;
      written = true;
      progress(`soak: all ${workload.length} writes made and routed after ${((performance.now() - start) / 1000).toFixed(1)} s`);
    };
    let drainBy = Infinity;
    let drainTimedOut: () => void = () => undefined;
    const timedOut = new Promise<'timed out'>((resolve) => { drainTimedOut = () => resolve('timed out'); });
    const finished = async () => {
      if (!written) {
        await sleep(100);
        return false;
      }
      drainBy = Math.min(drainBy, Date.now() + options.drainMinutes * 60_000);
      if (Date.now() > drainBy) return true;
      if (await queued(sqs, [queueUrl]) === 0) return true;
      if (Date.now() > drainBy) {
        drainTimedOut();
        return true;
      }
      await sleep(200);
      return false;
    };
    // FIFO hands a message group to one consumer at a time: checked, not assumed, of moto's queue.
    const groupsInFlight = new GroupsInFlight();
    const sharedGroups: string[] = [];
    // Each invocation recorded while it runs, and kept if it fails as a whole: what a stuck run names.
    const running = new Map<number, InvocationRecord>();
    const failedInvocations: InvocationRecord[] = [];
    let invocations = 0;
    const oneInstancePerGroup = async (event: SQSEvent) => {
      const groups = event.Records.map((record) => record.attributes.MessageGroupId!);
      const invocation: InvocationRecord = {
        id: ++invocations,
        startedMs: Date.now(),
        messages: event.Records.map((record) => ({ messageId: record.messageId, group: record.attributes.MessageGroupId!, key: keyOf(record.body) })),
      };
      running.set(invocation.id, invocation);
      sharedGroups.push(...groupsInFlight.enter(groups));
      try {
        return await sandboxes.replicators.invoke(event);
      } catch (error) {
        // Lambda: an invocation that times out or crashes fails its whole batch; nothing is deleted and
        // the messages come back after the queue's visibility timeout.
        const failure = error instanceof Error ? error.message.split('\n')[0] : String(error);
        failedInvocations.push({ ...invocation, failure });
        progress(`soak: invocation ${invocation.id} failed as a whole (${failure}): ${invocation.messages.map((m) => m.key).join(', ')}`);
        return { result: { batchItemFailures: event.Records.map((record) => ({ itemIdentifier: record.messageId })) }, lines: [] };
      } finally {
        running.delete(invocation.id);
        groupsInFlight.leave(groups);
      }
    };
    const replicating = deliverToReplicator(fns.replicator, deployment, new Map(), 0, {
      concurrency: options.replicators, invoke: oneInstancePerGroup, maxBatches: Infinity, finished,
    });
    // A poller held by an invocation that never returns must not hold the check: the drain limit ends the
    // wait. Once the servers stop, that poller fails; nothing waits for it any more.
    replicating.catch(() => undefined);
    const [, replicated] = await Promise.all([produce(), Promise.race([replicating, timedOut])]);
    const seconds = (performance.now() - start) / 1000;
    const cpu = cpuSince(cpuAtStart, watched);
    // Also after a drain: a message can reappear on the queue after it read empty (it did, on moto).
    const counts = await queueCounts(sqs, queueUrl);
    const stuck = replicated === 'timed out' || counts.visible + counts.notVisible + counts.delayed > 0
      ? stuckReport(counts, [...running.values()], failedInvocations, await visibleMessages(sqs, queueUrl), Date.now())
      : [];
    if (replicated === 'timed out') progress(`soak: the queue did not drain within ${options.drainMinutes} minutes of the last write; checking every key`);
    else progress(`soak: drained in ${seconds.toFixed(1)} s; checking every key`);

    const checked = checkSoak({
      source: await listVersions(source, sourceBucket),
      destination: await listVersions(destination, destinationBucket),
      map: await versionMap(dynamodb, deployment.replicator.environment.REPLICATION_TABLE_NAME),
      queued: counts.visible + counts.notVisible + counts.delayed,
      deadLettered: await queued(sqs, deadLetterQueues),
    });
    const shared = sharedGroups.map((group) => `message group ${group} was handed to a second replicator while one was processing it`);
    const findings = { ...checked, violations: [...checked.violations, ...shared, ...stuck.map((line) => `stuck: ${line}`)] };
    const outcomes: Record<string, number> = {};
    const deliveries = replicated === 'timed out' ? [] : replicated.deliveries;
    for (const delivery of deliveries) outcomes[delivery.outcome] = (outcomes[delivery.outcome] ?? 0) + 1;
    return {
      options,
      seconds,
      writes,
      routed,
      deliveries: deliveries.length,
      batches: replicated === 'timed out' ? invocations : new Set(deliveries.map((delivery) => delivery.target)).size,
      failures: replicated === 'timed out' ? NaN : replicated.failures,
      failedInvocations: failedInvocations.length,
      stuck,
      outcomes,
      findings,
      cpu,
    };
  } finally {
    [source, destination, sqs, dynamodb].forEach((client) => client.destroy());
  }
}

/**
 * Makes the stretch of writes from `first` on, `WRITERS` keys at a time, each key's writes in
 * order (its versions and their sequencers in the same order); returns their events.
 */
async function writeStretch(events: S3EventSource, workload: SoakOperation[], first: number): Promise<Record<string, Step>> {
  const byKey = new Map<string, number[]>();
  for (let index = first; index < Math.min(first + REORDER_WINDOW, workload.length); index++) {
    byKey.set(workload[index].key, [...byKey.get(workload[index].key) ?? [], index]);
  }
  const steps: Record<string, Step> = {};
  const keys = [...byKey.values()];
  const writer = async () => {
    for (let indexes = keys.shift(); indexes; indexes = keys.shift()) {
      for (const index of indexes) {
        const { kind, key, size } = workload[index];
        const body = Buffer.alloc(size, `${key} write ${index}\n`);
        steps[String(index)] = {
          label: `write ${index}`,
          event: kind === 'delete' ? await events.deleteMarker(key) : await events.put(key, body, { ContentType: 'text/plain' }),
        };
      }
    }
  };
  await Promise.all(Array.from({ length: WRITERS }, writer));
  return steps;
}

/** The moto servers (this process's children listening on the emulators' ports) and the sandboxes, by label. */
function watchedProcesses(emulated: Emulators, sandboxes: Sandboxes): WatchedProcesses {
  const watched: WatchedProcesses = {};
  const ports = { [new URL(emulated.sourceEndpoint).port]: 'moto source', [new URL(emulated.destinationEndpoint).port]: 'moto destination' };
  for (const entry of fs.readdirSync('/proc').filter((name) => /^\d+$/.test(name))) {
    try {
      const parent = Number(fs.readFileSync(`/proc/${entry}/stat`, 'utf8').replace(/^.*\) /s, '').split(' ')[1]);
      const args = fs.readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0');
      const port = args[args.indexOf('-p') + 1];
      if (parent === process.pid && args.some((arg) => arg.endsWith('moto_server.py')) && ports[port]) watched[ports[port]] = Number(entry);
    } catch {
      // gone meanwhile
    }
  }
  sandboxes.routers.pids.forEach((pid, i) => { watched[`router ${i + 1}`] = pid; });
  sandboxes.replicators.pids.forEach((pid, i) => { watched[`replicator ${i + 1}`] = pid; });
  return watched;
}

const sleep = (ms: number) => new Promise((done) => setTimeout(done, ms));

/** The queue's approximate counts. */
async function queueCounts(sqs: SQSClient, queueUrl: string): Promise<QueueCounts> {
  const { Attributes: attributes = {} } = await sqs.send(new GetQueueAttributesCommand({
    QueueUrl: queueUrl,
    AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible', 'ApproximateNumberOfMessagesDelayed'],
  }));
  return {
    visible: Number(attributes.ApproximateNumberOfMessages ?? 0),
    notVisible: Number(attributes.ApproximateNumberOfMessagesNotVisible ?? 0),
    delayed: Number(attributes.ApproximateNumberOfMessagesDelayed ?? 0),
  };
}

/**
 * The messages a receive can still get (one per group not in flight, as FIFO hands them out), each
 * received once with a visibility timeout long enough for this report: only when the run is over.
 */
async function visibleMessages(sqs: SQSClient, queueUrl: string): Promise<QueuedMessage[]> {
  const seen: QueuedMessage[] = [];
  for (let receives = 0; receives < 100; receives++) {
    const { Messages: messages = [] } = await sqs.send(new ReceiveMessageCommand({
      QueueUrl: queueUrl, MaxNumberOfMessages: 10, VisibilityTimeout: 600, MessageSystemAttributeNames: ['All'],
    }));
    if (messages.length === 0) break;
    for (const message of messages) {
      const body = JSON.parse(message.Body ?? '{}') as { key?: string; kind?: string };
      seen.push({
        group: message.Attributes?.MessageGroupId ?? '?',
        key: body.key ?? '?',
        kind: body.kind ?? '?',
        receiveCount: Number(message.Attributes?.ApproximateReceiveCount ?? 0),
      });
    }
  }
  return seen;
}

/** The key a replication message names (for reports; '?' if it names none). */
function keyOf(body: string): string {
  try {
    return (JSON.parse(body) as { key?: string }).key ?? '?';
  } catch {
    return '?';
  }
}

/** Messages on the queues: visible, in flight and delayed. */
async function queued(sqs: SQSClient, queueUrls: string[]): Promise<number> {
  let total = 0;
  for (const url of queueUrls) {
    const { Attributes: attributes = {} } = await sqs.send(new GetQueueAttributesCommand({
      QueueUrl: url,
      AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible', 'ApproximateNumberOfMessagesDelayed'],
    }));
    total += Object.values(attributes).reduce((sum, value) => sum + Number(value), 0);
  }
  return total;
}

async function listVersions(s3: S3Client, bucket: string): Promise<ListedVersion[]> {
  const versions: ListedVersion[] = [];
  let keyMarker: string | undefined;
  let versionIdMarker: string | undefined;
  do {
    const page = await s3.send(new ListObjectVersionsCommand({
      Bucket: bucket, Prefix: PREFIX, KeyMarker: keyMarker, VersionIdMarker: versionIdMarker,
    }));
    const entries = [
      ...(page.Versions ?? []).map((v) => ({
        key: v.Key!, versionId: v.VersionId!, isDeleteMarker: false, isLatest: v.IsLatest === true, eTag: v.ETag?.replace(/"/g, ''),
      })),
      ...(page.DeleteMarkers ?? []).map((m) => ({ key: m.Key!, versionId: m.VersionId!, isDeleteMarker: true, isLatest: m.IsLatest === true })),
    ];
    versions.push(...entries);
    keyMarker = page.IsTruncated ? page.NextKeyMarker : undefined;
    versionIdMarker = page.IsTruncated ? page.NextVersionIdMarker : undefined;
  } while (keyMarker);
  return versions;
}

/** The version map's records: each key's head and each version's own item. */
async function versionMap(dynamodb: DynamoDBClient, tableName: string): Promise<MapRecord[]> {
  const records: MapRecord[] = [];
  let startKey: ScanCommandOutput['LastEvaluatedKey'];
  do {
    const page = await dynamodb.send(new ScanCommand({ TableName: tableName, ExclusiveStartKey: startKey }));
    for (const item of page.Items ?? []) {
      const pk = item.pk?.S ?? '';
      if (!pk.startsWith('object#') || !item.sourceVersionId?.S) continue;
      records.push({ key: pk.slice('object#'.length), sourceVersionId: item.sourceVersionId.S, destinationVersionId: item.destinationVersionId?.S });
    }
    startKey = page.LastEvaluatedKey;
  } while (startKey);
  return records;
}

const mix = (writes: Record<string, number>) => Object.entries(writes).map(([kind, n]) => `${n} ${kind}`).join(', ');

/** The soak's rows of the benchmark table. */
export function soakRows(result: SoakResult): Row[] {
  const { options, seconds, findings } = result;
  const rate = options.operations / seconds;
  const outcomes = Object.entries(result.outcomes).sort(([, a], [, b]) => b - a).map(([outcome, n]) => `${n} ${outcome}`).join(', ');
  return [
    {
      measurement: `Soak: ${options.operations.toLocaleString('en')} small-object writes (${mix(result.writes)}; `
        + `seed ${options.seed}) through router, FIFO queue and ${options.replicators} concurrent replicators, end to end (moto, IAM enforced)`,
      result: `**${rate.toFixed(1)} writes/s** (${seconds.toFixed(0)} s from the first write to an empty queue; ${(rate / options.replicators).toFixed(1)} per replicator)`,
      target: '0 lost, duplicated or stale replicas; queue and dead-letter queues empty',
      met: findings.violations.length === 0,
      notes: `Checked ${findings.keys} keys, ${findings.sourceVersions} source and ${findings.destinationVersions} destination versions, `
        + `${findings.mappedReplicas} replicas in the version map: ${findings.violations.length === 0 ? 'no violation' : `${findings.violations.length} violations, e.g. ${findings.violations[0]}`}. `
        + `${result.routed} events routed, ${result.deliveries} deliveries in ${result.batches} batches (${result.failures} reported failed and retried`
        + `${result.failedInvocations ? `, ${result.failedInvocations} invocations failed as a whole` : ''}): ${outcomes}. `
        + `${result.stuck.length ? `Stuck: ${result.stuck.join(' ')} ` : ''}`
        + `${formatCpu(result.cpu, 'writer and poller')}`,
    },
  ];
}

if (require.main === module) {
  const rows: Row[] = [];
  measureSoak(rows).then(() => {
    console.log(markdownTable(rows));
  }).catch((error: unknown) => {
    console.error(error);
    process.exitCode = 1;
  });
}
