import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { ChangeMessageVisibilityBatchCommand, SQSClient } from '@aws-sdk/client-sqs';
import { BackfillRuns } from '../../../../src/runtime/backfill/backfill-runs';
import { createTelemetry } from '../../../../src/runtime/contract/telemetry';
import { backoffCeilingMs, DestinationRetryStrategy, THROTTLED_ATTEMPTS } from '../../../../src/runtime/destination/destination-retry';
import { DeliverySkips } from '../../../../src/runtime/replication/delivery-retry';
import { FailureRecords } from '../../../../src/runtime/replication/key-state/failure-records';
import { createReplicatorHandler } from '../../../../src/runtime/replication/replicator-handler';
import { captureOutput, emittedMetrics } from '../../../support/capture-output';
import { FaultPlan, FaultProxy } from '../../emulators/fault-proxy';
import { emulators, sourceClientConfig, sourceS3 } from '../../emulators/partitions';
import { ReplicationFixture } from '../../emulators/replication-fixture';
import { requestsDuring } from '../../emulators/request-counter';

// What the replicator tells operators: replication latency, failure records, an unfilled
// credentials secret, and a destination that throttles. Run against the moto partitions.

/** The values of one EMF metric among captured lines, in order. */
function metricValues(lines: string[], name: string): number[] {
  return lines.filter((line) => line.startsWith('{')).map((line) => JSON.parse(line) as Record<string, unknown>)
    .filter((entry) => entry._aws !== undefined && name in entry)
    .flatMap((entry) => ([] as unknown[]).concat(entry[name]).map(Number));
}

describe('ReplicationLatency', () => {
  test('a replicated version publishes the milliseconds from its S3 event to the commit, on the handler\'s clock', async () => {
    // The handler's clock, set by the test: the commit happens 4.321 s after the event.
    let clock = Date.now();
    const fixture = await ReplicationFixture.create({ invocation: { timeMs: 900_000, now: () => clock, reserveMs: 0 } });
    const created = await fixture.events.put('timed.txt', 'x');
    const deleted = await fixture.events.deleteMarker('timed.txt');
    clock = Date.parse(created.time) + 4321;

    const { lines } = await captureOutput(() => fixture.replicate([created]));
    expect(metricValues(lines, 'ReplicationLatency')).toEqual([4321]);

    clock = Date.parse(deleted.time) + 60_000;
    const { lines: deleteLines } = await captureOutput(() => fixture.replicate([deleted]));
    expect(metricValues(deleteLines, 'ReplicationLatency')).toEqual([60_000]);
  });

  test('on the real clock the latency is plausible: not negative, and no longer than the test took', async () => {
    const fixture = await ReplicationFixture.create();
    const created = await fixture.events.put('real-clock.txt', 'x');
    const { lines } = await captureOutput(() => fixture.replicate([created]));

    const [latency, ...others] = metricValues(lines, 'ReplicationLatency');
    expect(others).toEqual([]);
    expect(latency).toBeGreaterThanOrEqual(0);
    expect(latency).toBeLessThanOrEqual(Date.now() - Date.parse(created.time));
    expect(emittedMetrics(lines)).toMatchObject({ ObjectsReplicated: 1 });
  });

  test('a message a backfill enqueued publishes none', async () => {
    const fixture = await ReplicationFixture.create();
    const put = await fixture.sourceS3.send(new PutObjectCommand({ Bucket: fixture.sourceBucket, Key: 'listed.txt', Body: 'old' }));
    await fixture.enqueueBackfillCopy('listed.txt', put.VersionId!, 'run-1', { backfillRun: 'run-1', backfillIndex: 0 });
    const { result, lines } = await captureOutput(() => fixture.drain());

    expect(result).toEqual({ processed: 1, failures: 0 });
    expect(emittedMetrics(lines)).toMatchObject({ ObjectsReplicated: 1 });
    expect(emittedMetrics(lines).ReplicationLatency).toBeUndefined();
  });
});

describe('failure records', () => {
  /** Points the secret at a key pair the destination does not know: every attempt fails authentication, not permanently. */
  const rejectedKey = async (fixture: ReplicationFixture) => {
    await fixture.putSecret({ ...fixture.secretFor({ accessKeyId: 'AKIAUNKNOWNUNKNOWN00', secretAccessKey: 'not-a-key' }) });
  };

  test('a message that used up its attempts leaves a failure record of its version, with the reason it was dead-lettered', async () => {
    const fixture = await ReplicationFixture.create();
    const created = await fixture.events.put('doomed.txt', 'x');
    await rejectedKey(fixture);
    const { result } = await captureOutput(() => fixture.replicate([created], { allowDeadLetters: true }));

    expect(result.deadLettered).toHaveLength(1);
    const record = await new FailureRecords(fixture.dynamodb, fixture.tableName).read('doomed.txt', created.detail.object['version-id'] as string);
    expect(record).toEqual({
      reason: expect.stringMatching(/^failed 3 attempts \(maxReceiveCount 3\); last: DestinationAuthenticationError: /),
      failedAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
      messageId: expect.any(String),
      attempts: 3,
    });
  });

  test('a failure record that cannot be written is a warning: the message is dead-lettered all the same', async () => {
    const fixture = await ReplicationFixture.create({ logLevel: 'WARN' });
    const created = await fixture.events.put('unrecorded.txt', 'x');
    await rejectedKey(fixture);
    // Fault injection: the table refuses only the failure record's write, which no moto setting can do.
    const config = sourceClientConfig(fixture.emulators.sourceEndpoint, fixture.emulators.sourceAdmin);
    const dynamodb = new DynamoDBClient(config);
    dynamodb.middlewareStack.add((next, context) => async (args) => {
      const item = (args.input as { Item?: { sk?: { S?: string } } }).Item;
      if (context.commandName === 'PutItemCommand' && item?.sk?.S?.startsWith('failure#')) {
        throw Object.assign(new Error('Internal server error'), { name: 'InternalServerError', $metadata: { httpStatusCode: 500 } });
      }
      return next(args);
    }, { step: 'initialize', name: 'refuseFailureRecords' });
    const handler = createReplicatorHandler(
      fixture.settings,
      {
        s3: sourceS3(fixture.emulators.sourceEndpoint, fixture.emulators.sourceAdmin),
        dynamodb,
        secretsManager: new SecretsManagerClient(config),
        sqs: new SQSClient(config),
      },
      createTelemetry('replicator', { logLevel: 'WARN' }),
      { memoryBudget: 64 * 1024 * 1024 },
      new BackfillRuns(dynamodb, fixture.tableName),
    );
    await fixture.routerHandler(created);
    const { result, lines } = await captureOutput(() => fixture.drain(3, handler));

    expect(result.deadLettered).toHaveLength(1);
    expect(emittedMetrics(lines)).toMatchObject({ MessagesDeadLettered: 1 });
    expect(lines.some((line) => line.includes('"level":"WARN"') && line.includes('could not record why the message failed'))).toBe(true);
    expect(await new FailureRecords(fixture.dynamodb, fixture.tableName).read('unrecorded.txt', created.detail.object['version-id'] as string)).toBeUndefined();
  });
});

describe('a credentials secret not filled in yet', () => {
  test('a batch waits without reading the secret per message, without dead-lettering and without using up attempts; once filled it replicates', async () => {
    const fixture = await ReplicationFixture.create();
    const filled = fixture.secretFor(await fixture.createDestinationKey());
    // As the construct creates it.
    await fixture.putSecret({});
    const keys = ['wait/1.txt', 'wait/2.txt', 'wait/3.txt', 'wait/4.txt'];
    for (const key of keys) await fixture.routerHandler(await fixture.events.put(key, key));

    // More invocations than maxReceiveCount allows attempts: none of them is an attempt.
    const invocations = fixture.settings.maxReceiveCount + 1;
    for (let invocation = 1; invocation <= invocations; invocation++) {
      const { event, messages } = await fixture.receiveBatch();
      expect(messages).toHaveLength(keys.length);
      expect(event.Records.map((record) => record.attributes.ApproximateReceiveCount)).toEqual(keys.map(() => String(invocation)));
      let response: Awaited<ReturnType<typeof fixture.replicatorHandler>> | undefined;
      const { lines } = await captureOutput(async () => {
        const requests = await requestsDuring({ secretsmanager: SecretsManagerClient }, [fixture.secretsManager], async () => {
          response = await fixture.replicatorHandler(event);
        });
        expect(requests).toEqual({ 'secretsmanager@us-east-1:GetSecretValue': 1 });
      });

      expect(response!.batchItemFailures.map(({ itemIdentifier }) => itemIdentifier).sort())
        .toEqual(messages.map((message) => message.MessageId!).sort());
      const errors = lines.filter((line) => line.includes('"level":"ERROR"'));
      expect(errors).toHaveLength(1);
      const logged = JSON.parse(errors[0]);
      expect(logged.message).toContain(`credentials secret ${fixture.secretArn} is still {}`);
      expect(logged.message).toContain('"accesskey": "...", "secretaccesskey": "..."');
      expect(logged.message).toContain('4 message(s) wait for it');
      expect(logged).toMatchObject({ secretId: fixture.secretArn, waitingMessages: 4 });
      expect(emittedMetrics(lines)).toEqual({ CredentialsSecretNotFilled: 1 });
      // Handed back with a wait, not at once: the queue hands out nothing now.
      expect((await fixture.receiveBatch()).messages).toHaveLength(0);
      // The test plays the wait's end.
      await fixture.sqs.send(new ChangeMessageVisibilityBatchCommand({
        QueueUrl: fixture.queueUrl,
        Entries: messages.map((message, index) => ({ Id: String(index), ReceiptHandle: message.ReceiptHandle!, VisibilityTimeout: 0 })),
      }));
    }
    const skips = new DeliverySkips(fixture.dynamodb, fixture.tableName);
    const { messages } = await fixture.receiveBatch(0);
    for (const message of messages) expect(await skips.count(message.MessageId!)).toBe(invocations);

    await fixture.putSecret(filled);
    const { result } = await captureOutput(() => fixture.drain());

    expect(result).toEqual({ processed: keys.length, failures: 0 });
    expect(await fixture.takeDeadLetters()).toEqual([]);
    for (const key of keys) expect((await fixture.destinationObject(key))?.body.toString()).toBe(key);
  });

  test('a secret with some fields but not the key pair is still dead-lettered on the first attempt', async () => {
    const fixture = await ReplicationFixture.create();
    await fixture.putSecret({ user: 'someone' });
    const created = await fixture.events.put('malformed.txt', 'x');
    const { result, lines } = await captureOutput(() => fixture.replicate([created], { allowDeadLetters: true }));

    expect(result.deadLettered).toHaveLength(1);
    expect(emittedMetrics(lines)).toMatchObject({ MessagesDeadLettered: 1 });
    expect(emittedMetrics(lines).CredentialsSecretNotFilled).toBeUndefined();
  });
});

describe('a destination that answers 503 SlowDown', () => {
  const plan = new FaultPlan();
  let proxy: FaultProxy;
  beforeAll(async () => {
    proxy = await FaultProxy.start(emulators().destinationEndpoint, plan);
  });
  afterAll(() => proxy.stop());

  /**
   * The fixture's replicator with its destination requests going through the fault proxy, and the
   * destination retry strategy of production whose waits are recorded, not waited (random factor 0.5).
   */
  const throttledReplicator = (fixture: ReplicationFixture, waits: number[]) => {
    const config = sourceClientConfig(fixture.emulators.sourceEndpoint, fixture.emulators.sourceAdmin);
    const dynamodb = new DynamoDBClient(config);
    return createReplicatorHandler(
      { ...fixture.settings, destinationEndpoint: proxy.endpoint },
      {
        s3: sourceS3(fixture.emulators.sourceEndpoint, fixture.emulators.sourceAdmin),
        dynamodb,
        secretsManager: new SecretsManagerClient(config),
        sqs: new SQSClient(config),
      },
      createTelemetry('replicator', { logLevel: 'ERROR' }),
      {
        memoryBudget: 64 * 1024 * 1024,
        retryPacing: {
          partBackoffMs: 0,
          destinationRetryStrategy: () => new DestinationRetryStrategy({ random: () => 0.5, sleep: async (ms) => void waits.push(ms) }),
        },
      },
      new BackfillRuns(dynamodb, fixture.tableName),
    );
  };

  test('a PUT answered SlowDown several times is retried in place with growing waits and replicates: no failure, no dead letter', async () => {
    const fixture = await ReplicationFixture.create();
    const waits: number[] = [];
    const handler = throttledReplicator(fixture, waits);
    await fixture.routerHandler(await fixture.events.put('busy.txt', 'payload'));
    // The new object's only destination request is its PUT: refused 4 times, more than the SDK's standard 3 attempts allow.
    plan.arm({ at: 1, kind: 'refuse', attempts: 4 });
    const { result, lines } = await captureOutput(() => fixture.drain(3, handler));

    expect(plan.requests[0]).toMatch(/^PUT \//);
    expect(plan.attempts.get(1)).toBe(5);
    // Exponential backoff with full jitter: half of a ceiling that doubles from 1 s.
    expect(waits).toEqual([500, 1000, 2000, 4000]);
    expect(waits).toEqual([1, 2, 3, 4].map((retry) => backoffCeilingMs(true, retry) / 2));
    expect(result).toEqual({ processed: 1, failures: 0 });
    expect(emittedMetrics(lines)).toMatchObject({ ObjectsReplicated: 1 });
    expect(emittedMetrics(lines).ReplicationFailures).toBeUndefined();
    expect(emittedMetrics(lines).MessagesDeadLettered).toBeUndefined();
    expect((await fixture.destinationObject('busy.txt'))?.body.toString()).toBe('payload');
    expect((await fixture.destinationVersions('busy.txt')).versions).toHaveLength(1);
  });

  test('a PUT still throttled after every retry is handed back for longer, without using up an attempt, and then replicates', async () => {
    const fixture = await ReplicationFixture.create();
    const waits: number[] = [];
    const handler = throttledReplicator(fixture, waits);
    await fixture.routerHandler(await fixture.events.put('swamped.txt', 'payload'));
    plan.arm({ at: 1, kind: 'refuse' });
    const { event, messages } = await fixture.receiveBatch();
    const { result: response, lines } = await captureOutput(() => handler(event));

    expect(plan.attempts.get(1)).toBe(THROTTLED_ATTEMPTS);
    expect(waits).toHaveLength(THROTTLED_ATTEMPTS - 1);
    expect(response.batchItemFailures).toEqual([{ itemIdentifier: messages[0].MessageId }]);
    expect(lines.some((line) => line.includes('replication throttled after the SDK\'s retries; retrying in 30 s, not counted as an attempt'))).toBe(true);
    expect(emittedMetrics(lines).MessagesDeadLettered).toBeUndefined();
    // Handed back for 30 s (other failures: 2 s), and the receive recorded as not an attempt.
    expect((await fixture.receiveBatch(0)).messages).toHaveLength(0);
    expect(await new DeliverySkips(fixture.dynamodb, fixture.tableName).count(messages[0].MessageId!)).toBe(1);

    plan.disarm();
    await fixture.sqs.send(new ChangeMessageVisibilityBatchCommand({
      QueueUrl: fixture.queueUrl, Entries: [{ Id: '0', ReceiptHandle: messages[0].ReceiptHandle!, VisibilityTimeout: 0 }],
    }));
    const { result } = await captureOutput(() => fixture.drain(3, handler));
    expect(result).toEqual({ processed: 1, failures: 0 });
    expect((await fixture.destinationObject('swamped.txt'))?.body.toString()).toBe('payload');
  });
});
