import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  DeleteObjectCommand,
  ListMultipartUploadsCommand,
  ListObjectVersionsCommand,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { DeleteMessageBatchCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { BackfillRuns } from '../../../../src/runtime/backfill/backfill-runs';
import { createTelemetry } from '../../../../src/runtime/contract/telemetry';
import { CLAIM_MARGIN_MS, DEFAULT_LEASE_MS } from '../../../../src/runtime/replication/key-state/replica-claim';
import { VersionTable } from '../../../../src/runtime/replication/key-state/version-table';
import { createReplicatorHandler } from '../../../../src/runtime/replication/replicator-handler';
import { Fault, FaultKind, FaultPlan, FaultProxy } from '../../emulators/fault-proxy';
import { emulators, sourceClientConfig } from '../../emulators/partitions';
import { ReplicationFixture } from '../../emulators/replication-fixture';
import { destinationRetriesWithoutWaits, RETRIES_WITHOUT_WAITS, retriesWithoutWaits } from '../../emulators/retry-pacing';
import { S3Event } from '../../emulators/s3-events';

/**
 * Systematic fault exploration. For each scenario, a clean run counts the requests the replicator
 * makes (source and destination, one numbering); then the scenario runs again once per request k
 * and fault kind: the process dies right after request k, request k is refused until the SDK gives
 * up, or request k is applied and its response lost. The queue then redelivers (a new process each
 * time) until it drains. Every run must end with the destination equal to the source, one
 * destination version per source version, the version map agreeing with the destination, no
 * upload left open, and nothing dead-lettered. Faults are injected by an HTTP proxy in front of the
 * real emulators.
 */

const MiB = 1024 * 1024;
const KINDS: FaultKind[] = ['crash', 'refuse', 'lose-response'];

interface Scenario {
  readonly name: string;
  /**
   * Short invocations on a clock that moves a second per reading, with one part in flight: a large
   * copy then continues across invocations through the queue. Unset: no time limit, 64 MiB of parts.
   */
  readonly shortInvocations?: boolean;
  /** Replicated without faults before the run. */
  prelude(fixture: ReplicationFixture, key: string): Promise<S3Event[]>;
  /** The events whose replication the faults strike. */
  act(fixture: ReplicationFixture, key: string, prelude: S3Event[]): Promise<S3Event[]>;
}

/** The large objects' bodies, made once: every run of a scenario writes the same bytes. */
const LARGE = Buffer.alloc(9 * MiB + 5, 7);
const LARGE_CONTINUED = Buffer.alloc(9 * MiB + 5, 3);

const versionOf = (event: S3Event) => event.detail.object['version-id'] as string;
const text = { ContentType: 'text/plain', Metadata: { origin: 'fault-matrix' } };

const SCENARIOS: Scenario[] = [
  { name: 'new small object', prelude: async () => [], act: async (f, key) => [await f.events.put(key, 'payload', text)] },
  {
    name: 'overwrite',
    prelude: async (f, key) => [await f.events.put(key, 'first', text)],
    act: async (f, key) => [await f.events.put(key, 'second', text)],
  },
  { name: 'tagged object', prelude: async () => [], act: async (f, key) => [await f.events.put(key, 'tagged', { ...text, Tagging: 'team=storage' })] },
  {
    name: 'delete marker',
    prelude: async (f, key) => [await f.events.put(key, 'doomed', text)],
    act: async (f, key) => [await f.events.deleteMarker(key)],
  },
  {
    name: 'version delete',
    prelude: async (f, key) => [await f.events.put(key, 'kept', text), await f.events.put(key, 'removed', text)],
    act: async (f, key, prelude) => [await f.events.deleteVersion(key, versionOf(prelude[1]))],
  },
  {
    name: 'version delete of the newest, after an older version was skipped as late',
    prelude: async (f, key) => {
      const older = await f.events.put(key, 'older', text);
      return [await f.events.put(key, 'newer', text), older];
    },
    act: async (f, key, prelude) => [await f.events.deleteVersion(key, versionOf(prelude[0]))],
  },
  {
    name: 'undelete',
    prelude: async (f, key) => [await f.events.put(key, 'back', text), await f.events.deleteMarker(key)],
    act: async (f, key, prelude) => [await f.events.deleteVersion(key, versionOf(prelude[1]))],
  },
  {
    // A version that existed before the construct, enqueued by a backfill run, then a live overwrite.
    name: 'backfill version interleaved with a live event',
    prelude: async () => [],
    act: async (f, key) => {
      const existing = await f.sourceS3.send(new PutObjectCommand({ Bucket: f.sourceBucket, Key: key, Body: 'existing', ...text }));
      await f.enqueueBackfillCopy(key, existing.VersionId!, `run-${key.replace(/\W+/g, '-')}`, { backfillRun: 'run', backfillIndex: 0 });
      return [await f.events.put(key, 'live', text)];
    },
  },
  {
    // The destination lost the replica (deleted by hand); a reconcile run enqueues its repair.
    name: 'reconcile repair',
    prelude: async (f, key) => [await f.events.put(key, 'repaired', text)],
    act: async (f, key, prelude) => {
      const { version } = await new VersionTable(f.dynamodb, f.tableName).load(key, versionOf(prelude[0]));
      await f.adminS3.send(new DeleteObjectCommand({ Bucket: f.destinationBucket, Key: key, VersionId: version!.destinationVersionId }));
      await f.enqueueBackfillCopy(key, versionOf(prelude[0]), `repair-${key.replace(/\W+/g, '-')}`, { staleReplica: version!.destinationVersionId });
      return [];
    },
  },
  {
    name: 'tag change',
    prelude: async (f, key) => [await f.events.put(key, 'labelled', text)],
    act: async (f, key, prelude) => [await f.events.tag(key, versionOf(prelude[0]), [{ Key: 'stage', Value: 'final' }])],
  },
  {
    name: 'multipart object within one invocation',
    prelude: async () => [],
    act: async (f, key) => [await f.events.put(key, LARGE, text)],
  },
  {
    name: 'multipart object continued across invocations',
    prelude: async () => [],
    act: async (f, key) => [await f.events.put(key, LARGE_CONTINUED, { ...text, Tagging: 'size=large' })],
    shortInvocations: true,
  },
];

describe('fault matrix', () => {
  let fixture: ReplicationFixture;
  let plan: FaultPlan;
  let sourceProxy: FaultProxy;
  let destinationProxy: FaultProxy;

  // A bucket pair, table and queue of its own for each test: no scenario sees another's state.
  beforeEach(async () => {
    fixture = await ReplicationFixture.create({ replicateVersionDeletes: true });
  });

  beforeAll(async () => {
    plan = new FaultPlan();
    sourceProxy = await FaultProxy.start(emulators().sourceEndpoint, plan);
    destinationProxy = await FaultProxy.start(emulators().destinationEndpoint, plan);
  });

  const totals = { scenarios: 0, boundaries: 0, violations: 0 };
  /** Retry strategies made for destination clients: the replicator took the test's retry pacing. */
  let destinationStrategies = 0;
  const retryPacing = {
    ...RETRIES_WITHOUT_WAITS,
    destinationRetryStrategy: () => {
      destinationStrategies += 1;
      return destinationRetriesWithoutWaits();
    },
  };

  afterAll(async () => {
    // eslint-disable-next-line no-console
    console.log(`fault matrix: ${totals.scenarios} scenarios, ${totals.boundaries} request boundaries x ${KINDS.length} fault kinds = `
      + `${totals.boundaries * KINDS.length} runs, ${totals.violations} violations`);
    await sourceProxy.stop();
    await destinationProxy.stop();
  });

  /**
   * A replicator in a new process, with every client going through the fault proxies. Every retry
   * in place (the SDK's and the copy engine's) happens as in production, without its wait: the
   * matrix runs hundreds of faults, each of which would otherwise wait out up to seconds of backoff.
   */
  const replicatorProcess = (now: () => number, memoryBudget = 64 * MiB) => {
    const admin = fixture.emulators.sourceAdmin;
    // A function, not one object: each client gets its own retry strategy (and quota), as by default.
    const config = () => ({ ...sourceClientConfig(sourceProxy.endpoint, admin), retryStrategy: retriesWithoutWaits() });
    const dynamodb = new DynamoDBClient(config());
    return createReplicatorHandler(
      { ...fixture.settings, destinationEndpoint: destinationProxy.endpoint, destinationStsEndpoint: destinationProxy.endpoint },
      {
        s3: new S3Client({ ...config(), forcePathStyle: true }),
        dynamodb,
        secretsManager: new SecretsManagerClient(config()),
        sqs: new SQSClient(config()),
      },
      createTelemetry('replicator', { logLevel: 'ERROR' }),
      { memoryBudget, now, reserveMs: 0, retryPacing },
      new BackfillRuns(dynamodb, fixture.tableName),
    );
  };

  /**
   * Routes the scenario's events, then drains the queue with the fault armed until the delivery it
   * strikes ends (request numbers run on across deliveries: a continued copy takes several). A crashed delivery reports nothing (every message comes back, as after a timeout),
   * and its claim's lease has passed by the time SQS redelivers.
   */
  async function run(scenario: Scenario, key: string, fault?: Fault) {
    const prelude = await scenario.prelude(fixture, key);
    if (prelude.length > 0) await fixture.replicate(prelude);
    for (const event of await scenario.act(fixture, key, prelude)) await fixture.routerHandler(event);
    let offset = 0;
    let ticks = 0;
    // On the short clock every reading is a second later; a delivery has 12 of them.
    const now = scenario.shortInvocations ? () => Date.now() + offset + (ticks += 1_000) : () => Date.now() + offset;
    plan.arm(fault);
    const deliver = async (event: SQSEvent, context?: Context): Promise<SQSBatchResponse> => {
      const deadline = now() + 12_000;
      const invocation = scenario.shortInvocations ? { getRemainingTimeInMillis: () => deadline - now() } as Context : context;
      const response = await replicatorProcess(now, scenario.shortInvocations ? 8 * MiB : undefined)(event, invocation);
      const crashed = plan.crashed;
      // The fault strikes once: the deliveries after the one it struck run clean.
      if (plan.fired) plan.disarm();
      if (!crashed) return response;
      offset += DEFAULT_LEASE_MS + CLAIM_MARGIN_MS;
      return { batchItemFailures: event.Records.map((record) => ({ itemIdentifier: record.messageId })) };
    };
    const drained = await fixture.drain(6, deliver);
    return { drained, requests: [...plan.requests] };
  }

  /** What must hold after every run; returns the violations found. */
  async function violations(key: string, drained: Awaited<ReturnType<typeof run>>['drained'], expectedEntries: number): Promise<string[]> {
    const found: string[] = [];
    if (drained.deadLettered) found.push(`dead-lettered: ${drained.deadLettered.length}`);
    const source = await fixture.sourceObject(key);
    const destination = await fixture.destinationObject(key);
    if (!source !== !destination) found.push(`current: source ${source ? 'has an object' : 'is deleted'}, destination ${destination ? 'has one' : 'is deleted'}`);
    if (source && destination) {
      if (!destination.body.equals(source.body)) found.push('bytes differ');
      if (destination.contentType !== source.contentType) found.push(`content type ${destination.contentType} != ${source.contentType}`);
      if (JSON.stringify(destination.metadata) !== JSON.stringify(source.metadata)) found.push('metadata differs');
      if (JSON.stringify(destination.tags) !== JSON.stringify(source.tags)) found.push(`tags ${JSON.stringify(destination.tags)} != ${JSON.stringify(source.tags)}`);
    }
    const { versions, deleteMarkers } = await fixture.destinationVersions(key);
    const entries = versions.length + deleteMarkers.length;
    if (entries !== expectedEntries) found.push(`${entries} destination versions and markers, expected ${expectedEntries}`);
    const latest = [...versions, ...deleteMarkers].find((entry) => entry.IsLatest);
    const { head } = await fixture.versionTable.load(key, 'none');
    if (latest && head?.destinationVersionId && head.destinationVersionId !== latest.VersionId) {
      found.push(`version map head ${head.destinationVersionId} is not the destination's newest ${latest.VersionId}`);
    }
    const uploads = await fixture.adminS3.send(new ListMultipartUploadsCommand({ Bucket: fixture.destinationBucket, Prefix: key }));
    if ((uploads.Uploads ?? []).length > 0) found.push(`${uploads.Uploads!.length} multipart uploads left open`);
    return found;
  }

  /**
   * Deletes a finished run's versions on both sides. moto's ListObjectVersions copies every version
   * of the whole bucket (contents included) into temporary files, so buckets holding hundreds of
   * 9 MiB objects make each listing slow and can fill the disk; S3 has no such cost.
   */
  async function removeEveryVersion(key: string) {
    for (const [s3, bucket] of [[fixture.sourceS3, fixture.sourceBucket], [fixture.adminS3, fixture.destinationBucket]] as const) {
      const listed = await s3.send(new ListObjectVersionsCommand({ Bucket: bucket, Prefix: key }));
      for (const entry of [...listed.Versions ?? [], ...listed.DeleteMarkers ?? []]) {
        if (entry.Key === key) await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: key, VersionId: entry.VersionId }));
      }
    }
  }


  test.each(SCENARIOS.map((scenario) => [scenario.name, scenario] as const))('%s: every single fault at every request boundary ends correct', async (name, scenario) => {
    const slug = name.replace(/\W+/g, '-');
    const clean = await run(scenario, `${slug}/clean`);
    const { versions, deleteMarkers } = await fixture.destinationVersions(`${slug}/clean`);
    const expectedEntries = versions.length + deleteMarkers.length;
    expect(await violations(`${slug}/clean`, clean.drained, expectedEntries)).toEqual([]);
    const boundaries = clean.requests.length;
    expect(boundaries).toBeGreaterThan(1);

    const found: string[] = [];
    for (let at = 1; at <= boundaries; at++) {
      for (const kind of KINDS) {
        const key = `${slug}/${kind}-${at}`;
        const { drained } = await run(scenario, key, { at, kind });
        for (const violation of await violations(key, drained, expectedEntries)) {
          found.push(`${kind} at request ${at} (${clean.requests[at - 1]}): ${violation}`);
        }
        await removeEveryVersion(key);
      }
    }
    totals.scenarios += 1;
    totals.boundaries += boundaries;
    totals.violations += found.length;
    // eslint-disable-next-line no-console
    console.log(`fault matrix: ${name}: ${boundaries} boundaries x ${KINDS.length} fault kinds = ${boundaries * KINDS.length} runs, ${found.length} violations`);
    expect(found).toEqual([]);
  }, 600_000);

  test('a small object\'s PUT answered 503 Slow Down twice is sent again in place: one delivery, one destination version', async () => {
    const scenario = SCENARIOS[0];
    const clean = await run(scenario, 'slow-down/clean');
    const put = clean.requests.findIndex((request) => request.startsWith('PUT ')) + 1;
    expect(put).toBeGreaterThan(0);

    destinationStrategies = 0;
    const { drained } = await run(scenario, 'slow-down/throttled', { at: put, kind: 'refuse', attempts: 2 });

    // The destination PUT was retried by a strategy from the test's pacing (without the SDK's waits).
    expect(destinationStrategies).toBeGreaterThan(0);
    expect(plan.attempts.get(put)).toBe(3);
    expect(drained).toEqual({ processed: 1, failures: 0 });
    expect((await fixture.destinationVersions('slow-down/throttled')).versions).toHaveLength(1);
    expect((await fixture.destinationObject('slow-down/throttled'))?.body.toString()).toBe('payload');
  });

  test('the same message handed to two invocations at once leaves one replica version with the current tags', async () => {
    const created = await fixture.events.put('raced.txt', 'once', { ...text, Tagging: 'round=1' });
    await fixture.routerHandler(created);
    const { messages, event } = await fixture.receiveBatch();
    const twice = await Promise.all([replicatorProcess(Date.now)(event), replicatorProcess(Date.now)(event)]);
    // One of them may lose the race (and be retried); the message is done once either succeeded.
    expect(twice.some((response) => response.batchItemFailures.length === 0)).toBe(true);
    await fixture.sqs.send(new DeleteMessageBatchCommand({
      QueueUrl: fixture.queueUrl,
      Entries: messages.map((message, index) => ({ Id: String(index), ReceiptHandle: message.ReceiptHandle! })),
    }));
    await fixture.replicate([await fixture.events.tag('raced.txt', versionOf(created), [{ Key: 'round', Value: '2' }])]);

    const { versions } = await fixture.destinationVersions('raced.txt');
    expect(versions).toHaveLength(1);
    expect((await fixture.destinationObject('raced.txt'))?.tags).toEqual({ round: '2' });
  });
});
