import { S3Client } from '@aws-sdk/client-s3';
import {
  ChangeMessageVisibilityBatchCommand, DeleteMessageBatchCommand, GetQueueAttributesCommand, ReceiveMessageCommand, SendMessageCommand,
} from '@aws-sdk/client-sqs';
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { queueReceiveLimit } from '../../../../src/private/queue-defaults';
import { messageGroupId } from '../../../../src/runtime/contract/replication-message';
import { sourceS3 } from '../../emulators/partitions';
import { ReplicationFixture } from '../../emulators/replication-fixture';

// Retries and dead-lettering on the emulated FIFO queue (moto): a real queue with a real redrive
// policy and FIFO dead-letter queue, as the construct deploys them. `poll` plays the Lambda SQS
// poller: it receives a batch with the queue's own visibility timeout, runs the replicator on it and
// applies its partial batch response as Lambda does (deletes the successes, leaves the failures as
// they are). Only the replicator sets retry delays. The timings are printed, not asserted: they are
// wall-clock times on a shared machine.

jest.setTimeout(120_000);

type Handler = (event: SQSEvent) => Promise<SQSBatchResponse>;

interface PollLog {
  /** Highest ApproximateReceiveCount seen per message body. */
  readonly receives: Map<string, number>;
  /** Invocations, and when each began (ms since the poll started). */
  readonly invocations: number[];
}

/** Plays the Lambda poller until `done` holds (checked after every invocation and every idle second). */
async function poll(fixture: ReplicationFixture, handler: Handler, done: () => Promise<boolean>, limitMs = 100_000): Promise<PollLog> {
  const log: PollLog = { receives: new Map(), invocations: [] };
  const started = Date.now();
  while (!(await done())) {
    if (Date.now() - started > limitMs) throw new Error(`not done after ${limitMs} ms; receives ${JSON.stringify([...log.receives])}`);
    const { event, messages } = await fixture.receiveBatch();
    if (messages.length === 0) {
      await new Promise((resolve) => setTimeout(resolve, 250));
      continue;
    }
    for (const message of messages) {
      const count = Number(message.Attributes?.ApproximateReceiveCount);
      log.receives.set(message.Body!, Math.max(count, log.receives.get(message.Body!) ?? 0));
    }
    log.invocations.push(Date.now() - started);
    const response = await handler(event);
    const failed = new Set(response.batchItemFailures.map((failure) => failure.itemIdentifier));
    const succeeded = messages.filter((message) => !failed.has(message.MessageId!));
    if (succeeded.length > 0) {
      await fixture.sqs.send(new DeleteMessageBatchCommand({
        QueueUrl: fixture.queueUrl,
        Entries: succeeded.map((message, index) => ({ Id: String(index), ReceiptHandle: message.ReceiptHandle! })),
      }));
    }
  }
  return log;
}

/** The dead-letter queue's messages (left in place), with their group ids. */
async function deadLetters(fixture: ReplicationFixture) {
  const { Messages: messages = [] } = await fixture.sqs.send(new ReceiveMessageCommand({
    QueueUrl: fixture.deadLetterQueueUrl,
    MaxNumberOfMessages: 10,
    VisibilityTimeout: 30,
    MessageSystemAttributeNames: ['All'],
    MessageAttributeNames: ['All'],
  }));
  // Handed back at once, so the next look sees them all again (FIFO holds a group while one is in flight).
  if (messages.length > 0) {
    await fixture.sqs.send(new ChangeMessageVisibilityBatchCommand({
      QueueUrl: fixture.deadLetterQueueUrl,
      Entries: messages.map((message, index) => ({ Id: String(index), ReceiptHandle: message.ReceiptHandle!, VisibilityTimeout: 0 })),
    }));
  }
  return messages.map((message) => ({
    body: message.Body!, group: message.Attributes?.MessageGroupId, reason: message.MessageAttributes?.FailureReason?.StringValue,
  }));
}

async function queueDepth(fixture: ReplicationFixture): Promise<number> {
  const { Attributes: attributes = {} } = await fixture.sqs.send(new GetQueueAttributesCommand({
    QueueUrl: fixture.queueUrl, AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
  }));
  return Number(attributes.ApproximateNumberOfMessages) + Number(attributes.ApproximateNumberOfMessagesNotVisible);
}

/**
 * The fixture's replicator reading the source through a client whose GETs of the given versions
 * fail with a 503 while `failing(versionId)` says so. Fault injection: moto cannot be made to throttle.
 */
function replicatorWithFaults(fixture: ReplicationFixture, failing: (versionId: string) => boolean): Handler {
  const source: S3Client = sourceS3(fixture.emulators.sourceEndpoint, fixture.emulators.sourceAdmin);
  source.middlewareStack.add((next, context) => async (args) => {
    const versionId = (args as { input: { VersionId?: string } }).input.VersionId;
    if (context.commandName === 'GetObjectCommand' && versionId && failing(versionId)) {
      // A 500, not a 503 SlowDown: a throttled delivery does not count as an attempt (see delivery-retry).
      throw Object.assign(new Error('We encountered an internal error. Please try again.'), { name: 'InternalError', $metadata: { httpStatusCode: 500 } });
    }
    return next(args);
  }, { step: 'initialize', name: 'throttleVersions' });
  return fixture.replicatorReadingThrough(source);
}

const timing = (name: string, values: Record<string, unknown>) => {
  // Printed for the README and the closing note.
  console.log(`queue timing: ${name} ${JSON.stringify(values)}`);
};

test('a transient failure is retried after seconds and its key recovers once the fault clears', async () => {
  const fixture = await ReplicationFixture.create();
  const first = await fixture.events.put('flaky.txt', 'one');
  const second = await fixture.events.put('flaky.txt', 'two');
  await fixture.routerHandler(first);
  await fixture.routerHandler(second);
  const firstVersion = first.detail.object['version-id'] as string;

  // The first version's reads fail on two deliveries; then the fault clears.
  let failedDeliveries = 0;
  let clearedAt = 0;
  const faulty = replicatorWithFaults(fixture, (versionId) => versionId === firstVersion && failedDeliveries < 2);
  const handler: Handler = async (event) => {
    const response = await faulty(event);
    if (response.batchItemFailures.length > 0 && ++failedDeliveries === 2) clearedAt = Date.now();
    return response;
  };
  const startedAt = Date.now();
  const log = await poll(fixture, handler, async () => (await queueDepth(fixture)) === 0);
  const recoveredAt = Date.now();

  expect(failedDeliveries).toBe(2);
  expect((await fixture.destinationObject('flaky.txt'))?.body.toString()).toBe('two');
  expect((await fixture.destinationVersions('flaky.txt')).versions).toHaveLength(2);
  expect(await deadLetters(fixture)).toEqual([]);
  // Three receives of each: two failed (the second message skipped behind the first), one that replicated both.
  expect([...log.receives.values()]).toEqual([3, 3]);
  timing('transient', {
    failedAttempts: failedDeliveries,
    secondsFromFirstFailureToRecovery: (recoveredAt - startedAt) / 1000,
    secondsFromFaultClearedToRecovery: (recoveredAt - clearedAt) / 1000,
    invocationsAtSeconds: log.invocations.map((ms) => ms / 1000),
    receiveCounts: [...log.receives.values()],
  });
});

test('a message failing every attempt is dead-lettered after maxReceiveCount attempts; the message behind it is not, and replicates', async () => {
  const fixture = await ReplicationFixture.create();
  const poison = await fixture.events.put('blocked.txt', 'never readable');
  const behind = await fixture.events.put('blocked.txt', 'behind it');
  await fixture.routerHandler(poison);
  await fixture.routerHandler(behind);
  const poisonVersion = poison.detail.object['version-id'] as string;
  const behindVersion = behind.detail.object['version-id'] as string;

  // The first version never reads; the one behind it fails its first attempt too (after it was
  // skipped twice), so it is retried on its own account, not dead-lettered for the skips.
  let behindFailures = 0;
  const handler = replicatorWithFaults(fixture, (versionId) => versionId === poisonVersion || (versionId === behindVersion && behindFailures++ < 1));
  const startedAt = Date.now();
  let deadLetteredAt = 0;
  const log = await poll(fixture, handler, async () => {
    if (!deadLetteredAt && (await deadLetters(fixture)).length > 0) deadLetteredAt = Date.now();
    return (await queueDepth(fixture)) === 0;
  });
  const doneAt = Date.now();

  const dead = await deadLetters(fixture);
  expect(dead).toHaveLength(1);
  expect(JSON.parse(dead[0].body)).toMatchObject({ key: 'blocked.txt', versionId: poisonVersion });
  expect(dead[0].group).toBe(messageGroupId(fixture.sourceBucket, 'blocked.txt'));
  expect(dead[0].reason).toMatch(/^failed 3 attempts \(maxReceiveCount 3\); last: InternalError/);
  expect((await fixture.destinationObject('blocked.txt'))?.body.toString()).toBe('behind it');
  const receives = [...log.receives.entries()].map(([body, count]) => ({ versionId: JSON.parse(body).versionId, count }));
  const behindReceives = receives.find((entry) => entry.versionId === behindVersion)!.count;
  // More receives than maxReceiveCount allows attempts, yet not dead-lettered: its skips did not count.
  expect(behindReceives).toBeGreaterThan(fixture.settings.maxReceiveCount);
  expect(behindReceives).toBeLessThan(queueReceiveLimit(fixture.settings.maxReceiveCount));
  timing('exhausted', {
    secondsToDeadLetter: (deadLetteredAt - startedAt) / 1000,
    secondsUntilTheMessageBehindReplicated: (doneAt - startedAt) / 1000,
    receivesOfDeadLettered: receives.find((entry) => entry.versionId === poisonVersion)!.count,
    receivesOfMessageBehind: behindReceives,
    redriveBackstop: queueReceiveLimit(fixture.settings.maxReceiveCount),
  });
});

test('a malformed message and a secret that is not JSON are dead-lettered on their first attempt; nothing behind them is held back', async () => {
  const fixture = await ReplicationFixture.create();
  const group = messageGroupId(fixture.sourceBucket, 'after-bad.txt');
  await fixture.sqs.send(new SendMessageCommand({
    QueueUrl: fixture.queueUrl, MessageBody: 'not json', MessageGroupId: group, MessageDeduplicationId: 'malformed',
  }));
  await fixture.routerHandler(await fixture.events.put('after-bad.txt', 'fine'));

  let startedAt = Date.now();
  const malformed = await poll(fixture, fixture.replicatorHandler, async () => (await queueDepth(fixture)) === 0);
  const malformedSeconds = (Date.now() - startedAt) / 1000;
  expect(await deadLetters(fixture)).toEqual([{ body: 'not json', group, reason: expect.stringMatching(/^permanent error on attempt 1: InvalidMessageError/) }]);
  expect((await fixture.destinationObject('after-bad.txt'))?.body.toString()).toBe('fine');
  expect(malformed.invocations).toHaveLength(1);
  await fixture.takeDeadLetters();

  await fixture.putSecret('{"accesskey": ');
  // A new replicator, as after a cold start: a running one keeps the key it read until the destination rejects it.
  fixture.useSourceIdentity(fixture.emulators.sourceAdmin);
  const created = await fixture.events.put('secret.txt', 'waits for a secret');
  await fixture.routerHandler(created);
  startedAt = Date.now();
  const badSecret = await poll(fixture, fixture.replicatorHandler, async () => (await queueDepth(fixture)) === 0);
  const secretSeconds = (Date.now() - startedAt) / 1000;
  const [dead] = await deadLetters(fixture);
  expect(dead.reason).toMatch(/^permanent error on attempt 1: CredentialsSecretError: credentials secret .* is not JSON/);
  expect(badSecret.invocations).toHaveLength(1);

  // Nothing lost: with the secret fixed, the dead-lettered message sent back (a redrive) replicates.
  await fixture.putSecret(fixture.secretFor(await fixture.createDestinationKey()));
  const [body] = await fixture.takeDeadLetters();
  await fixture.sqs.send(new SendMessageCommand({ QueueUrl: fixture.queueUrl, MessageBody: body, MessageGroupId: dead.group, MessageDeduplicationId: 'redriven' }));
  await poll(fixture, fixture.replicatorHandler, async () => (await queueDepth(fixture)) === 0);
  expect((await fixture.destinationObject('secret.txt'))?.body.toString()).toBe('waits for a secret');
  timing('permanent', { secondsToDeadLetterMalformed: malformedSeconds, secondsToDeadLetterBadSecret: secretSeconds });
});
