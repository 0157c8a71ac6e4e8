import { ChangeMessageVisibilityCommand, DeleteMessageCommand, ReceiveMessageCommand, ReceiveMessageCommandOutput, SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { messageGroupId } from '../../../../src/runtime/contract/replication-message';
import { FailureRecords } from '../../../../src/runtime/replication/key-state/failure-records';
import { captureOutput, emittedMetrics } from '../../../support/capture-output';
import { BackfillDriver } from '../../emulators/backfill-driver';
import { sourceClientConfig } from '../../emulators/partitions';
import { ReplicationFixture } from '../../emulators/replication-fixture';
import { createFixtureHandlers } from '../../emulators/replication-handlers';
import { createCredentialsSecret } from '../../emulators/replication-resources';
import { drainQueue } from '../../emulators/sqs-poller';

// The backfill function's `redrive` mode against the moto partitions: dead letters put there by the
// real replicator (or as EventBridge, Lambda and the backfill queue's redrive policy put them) go
// back, and then replicate.

const minutes = (n: number) => ({ getRemainingTimeInMillis: () => n * 60_000 });
const versionOf = (event: { detail: { object: Record<string, unknown> } }) => event.detail.object['version-id'] as string;

async function setUp() {
  const fixture = await ReplicationFixture.create();
  const driver = await BackfillDriver.create(fixture);
  return { fixture, driver, invoke: (request: Record<string, unknown>, context = minutes(15)) => driver.handler()(request, context) };
}

/** Every message of a queue (left in place: received with a zero visibility timeout), with its attributes. */
async function peek(fixture: ReplicationFixture, queueUrl: string) {
  const { Messages: messages = [] } = await fixture.sqs.send(new ReceiveMessageCommand({
    QueueUrl: queueUrl, MaxNumberOfMessages: 10, VisibilityTimeout: 0, MessageSystemAttributeNames: ['All'], MessageAttributeNames: ['All'],
  }));
  return messages;
}

/**
 * Lets the real replicator, reading a credentials secret that misses a field, fail the queued
 * messages: it dead-letters each on its first attempt (a permanent error), and they stay in the
 * dead-letter queue (the fixture's `drain` would take them out).
 */
async function deadLetterWithBrokenSecret(fixture: ReplicationFixture) {
  const brokenSecret = await createCredentialsSecret(fixture.secretsManager, `${fixture.id}-broken`, { accesskey: 'AKIAONLYHALFAKEY' });
  const { replicatorHandler } = createFixtureHandlers({ ...fixture.settings, credentialsSecretId: brokenSecret }, { logLevel: 'ERROR' }, fixture, {
    sourceEndpoint: fixture.emulators.sourceEndpoint, key: fixture.emulators.sourceAdmin, routerKey: fixture.emulators.sourceAdmin,
  });
  return drainQueue(fixture, 1, replicatorHandler, (visibilityTimeout) => fixture.receiveBatch(visibilityTimeout), () => undefined);
}

test('a message the replicator dead-lettered goes back to the replication queue in its group, its failure record goes, and it replicates', async () => {
  const { fixture, invoke } = await setUp();
  const created = await fixture.events.put('retry/me.txt', 'second chance');
  await fixture.routerHandler(created);
  expect(await deadLetterWithBrokenSecret(fixture)).toEqual({ processed: 1, failures: 0 });
  const [deadLetter] = await peek(fixture, fixture.deadLetterQueueUrl);
  expect(deadLetter.MessageAttributes?.FailureReason?.StringValue).toContain('secretaccesskey');
  // What the replicator records as it dead-letters (written here too, so this test does not depend on that).
  const failures = new FailureRecords(fixture.dynamodb, fixture.tableName);
  await failures.record('retry/me.txt', versionOf(created), {
    reason: deadLetter.MessageAttributes!.FailureReason!.StringValue!,
    messageId: deadLetter.MessageAttributes!.SourceMessageId!.StringValue!,
    attempts: 1,
  });
  expect(await invoke({ mode: 'status', key: 'retry/me.txt' })).toMatchObject({ status: 'failed' });

  const { result, lines } = await captureOutput(() => invoke({ mode: 'redrive' }));
  expect(result).toEqual({
    mode: 'redrive',
    replication: { redriven: 1, remaining: 0 },
    router: { events: 0, outOfScope: 0, backfillSteps: 0, unrecognised: 0, remaining: 0 },
    complete: true,
  });
  expect(emittedMetrics(lines)).toMatchObject({ DeadLettersRedriven: 1 });
  const [redriven] = await peek(fixture, fixture.queueUrl);
  expect(redriven.Attributes?.MessageGroupId).toBe(messageGroupId(fixture.sourceBucket, 'retry/me.txt'));
  expect(redriven.Attributes?.MessageDeduplicationId).toBe(`redrive-${deadLetter.MessageId}`);
  expect(redriven.Body).toBe(deadLetter.Body);
  expect(await failures.read('retry/me.txt', versionOf(created))).toBeUndefined();

  expect(await fixture.drain()).toEqual({ processed: 1, failures: 0 });
  expect((await fixture.destinationObject('retry/me.txt'))?.body.toString()).toBe('second chance');
  expect(await invoke({ mode: 'status', key: 'retry/me.txt' })).toMatchObject({ status: 'replicated' });
});

test('a crash between the send and the delete leaves the dead letter in place; the next redrive sends it again and the queue drops the copy', async () => {
  const { fixture, driver } = await setUp();
  const created = await fixture.events.put('crash.txt', 'once');
  await fixture.routerHandler(created);
  await deadLetterWithBrokenSecret(fixture);

  // The invocation dies right after its first send (a timeout or an out-of-memory kill): a fault no
  // server produces, so the SQS client fails the delete that follows, and notes the receipt handle.
  const real = new SQSClient(sourceClientConfig(fixture.emulators.sourceEndpoint, fixture.emulators.sourceAdmin));
  const receipts: string[] = [];
  const crashing = new Proxy(real, {
    get(target, property, receiver) {
      if (property !== 'send') return Reflect.get(target, property, receiver);
      return async (command: unknown) => {
        if (command instanceof DeleteMessageCommand) throw new Error('simulated crash of the invocation');
        const output = await (target.send as (c: unknown) => Promise<unknown>)(command);
        if (command instanceof ReceiveMessageCommand) {
          receipts.push(...((output as ReceiveMessageCommandOutput).Messages ?? []).map((m) => m.ReceiptHandle!));
        }
        return output;
      };
    },
  });
  await expect(driver.handler(crashing)({ mode: 'redrive', queue: 'replication' }, minutes(15))).rejects.toThrow('simulated crash');
  // Its visibility timeout passes: the dead letter is back.
  await fixture.sqs.send(new ChangeMessageVisibilityCommand({
    QueueUrl: fixture.deadLetterQueueUrl, ReceiptHandle: receipts[0], VisibilityTimeout: 0,
  }));

  await expect(driver.handler()({ mode: 'redrive', queue: 'replication' }, minutes(15)))
    .resolves.toMatchObject({ replication: { redriven: 1, remaining: 0 } });
  expect(await fixture.drain()).toEqual({ processed: 1, failures: 0 });
  expect((await fixture.destinationObject('crash.txt'))?.body.toString()).toBe('once');
});

test('a failure recorded for a newer dead-lettering of the version is not removed by redriving the older message', async () => {
  const { fixture, invoke } = await setUp();
  const created = await fixture.events.put('again.txt', 'x');
  await fixture.routerHandler(created);
  await deadLetterWithBrokenSecret(fixture);
  const failures = new FailureRecords(fixture.dynamodb, fixture.tableName);
  // The redriven message failed again meanwhile: its own (new) message id is recorded.
  await failures.record('again.txt', versionOf(created), { reason: 'newer failure', messageId: 'a-newer-message', attempts: 1 });

  await invoke({ mode: 'redrive', queue: 'replication' });
  expect(await failures.read('again.txt', versionOf(created))).toMatchObject({ reason: 'newer failure' });
});

test('S3 events in the router\'s dead-letter queue (an undelivered EventBridge event, a failed router invocation) are routed and replicate', async () => {
  const { fixture, driver, invoke } = await setUp();
  const undelivered = await fixture.events.put('events/undelivered.txt', 'from EventBridge');
  const failedInvocation = await fixture.events.put('events/failed-invocation.txt', 'from Lambda');
  // As EventBridge puts an event it could not deliver, and as Lambda puts a failed asynchronous invocation.
  await fixture.sqs.send(new SendMessageCommand({
    QueueUrl: driver.routerDeadLetterQueueUrl,
    MessageBody: JSON.stringify(undelivered),
    MessageAttributes: { ERROR_CODE: { DataType: 'String', StringValue: 'SDK_CLIENT_ERROR' } },
  }));
  await fixture.sqs.send(new SendMessageCommand({
    QueueUrl: driver.routerDeadLetterQueueUrl,
    MessageBody: JSON.stringify(failedInvocation),
    MessageAttributes: {
      RequestID: { DataType: 'String', StringValue: '1b6e4c3a-0000-4000-8000-000000000000' },
      ErrorCode: { DataType: 'Number', StringValue: '200' },
      ErrorMessage: { DataType: 'String', StringValue: 'Task timed out after 30.00 seconds' },
    },
  }));

  const { result, lines } = await captureOutput(() => invoke({ mode: 'redrive', queue: 'router' }));
  expect(result).toEqual({
    mode: 'redrive', router: { events: 2, outOfScope: 0, backfillSteps: 0, unrecognised: 0, remaining: 0 }, complete: true,
  });
  expect(emittedMetrics(lines)).toMatchObject({ DeadLettersRedriven: 2 });
  expect(await fixture.drain()).toEqual({ processed: 2, failures: 0 });
  expect((await fixture.destinationObject('events/undelivered.txt'))?.body.toString()).toBe('from EventBridge');
  expect((await fixture.destinationObject('events/failed-invocation.txt'))?.body.toString()).toBe('from Lambda');
});

test('a backfill step goes back on the backfill queue; an unrecognised message stays, visible, and is counted', async () => {
  const { fixture, driver, invoke } = await setUp();
  await fixture.sqs.send(new SendMessageCommand({ QueueUrl: driver.routerDeadLetterQueueUrl, MessageBody: '{"runId":"2026-11-30T12-00-00-000Z-1a2b3c4d"}' }));
  await fixture.sqs.send(new SendMessageCommand({ QueueUrl: driver.routerDeadLetterQueueUrl, MessageBody: 'something else entirely' }));
  const elsewhere = await fixture.events.put('x.txt', 'x');
  await fixture.sqs.send(new SendMessageCommand({
    QueueUrl: driver.routerDeadLetterQueueUrl, MessageBody: JSON.stringify({ ...elsewhere, detail: { ...elsewhere.detail, bucket: { name: 'another-bucket' } } }),
  }));

  await expect(invoke({ mode: 'redrive' })).resolves.toEqual({
    mode: 'redrive',
    replication: { redriven: 0, remaining: 0 },
    router: { events: 0, outOfScope: 0, backfillSteps: 1, unrecognised: 2, remaining: 2 },
    complete: true,
  });
  expect((await peek(fixture, driver.queueUrl)).map((message) => message.Body)).toEqual(['{"runId":"2026-11-30T12-00-00-000Z-1a2b3c4d"}']);
  const left = (await peek(fixture, driver.routerDeadLetterQueueUrl)).map((message) => message.Body).sort();
  expect(left).toHaveLength(2);
  expect(left).toContain('something else entirely');
});

test('when the invocation\'s time runs low it stops and says how many remain', async () => {
  const { fixture, driver, invoke } = await setUp();
  await fixture.sqs.send(new SendMessageCommand({ QueueUrl: driver.routerDeadLetterQueueUrl, MessageBody: '{"runId":"r1"}' }));
  await expect(invoke({ mode: 'redrive', queue: 'router' }, { getRemainingTimeInMillis: () => 5_000 })).resolves.toEqual({
    mode: 'redrive', router: { events: 0, outOfScope: 0, backfillSteps: 0, unrecognised: 0, remaining: 1 }, complete: false,
  });
});

test('a queue other than "replication" or "router" is refused, saying what to send', async () => {
  const { invoke } = await setUp();
  await expect(invoke({ mode: 'redrive', queue: 'everything' })).rejects.toThrow('send {"mode": "redrive"}');
});
