import { DeleteMessageBatchCommand, ReceiveMessageCommand, SendMessageCommand } from '@aws-sdk/client-sqs';
import { ReplicationFixture } from '../../emulators/replication-fixture';

// The emulated FIFO queue must keep a message group's order when its messages come back, as SQS
// does: every test of ordering (the fault matrix's backfill version ahead of a live one, say)
// depends on it. moto 5.2.5 alone hands out a group's second message without its first when both
// come back at once (moto_server.py patches it). The fault matrix hit the same stale state through
// ChangeMessageVisibility 0 about once in 300 crash runs (timing-dependent); this is its exact case.

jest.setTimeout(60_000);

let fixture: ReplicationFixture;
beforeAll(async () => {
  fixture = await ReplicationFixture.create();
});

async function sendGroup(group: string, bodies: string[]): Promise<void> {
  for (const body of bodies) {
    await fixture.sqs.send(new SendMessageCommand({ QueueUrl: fixture.queueUrl, MessageBody: body, MessageGroupId: group, MessageDeduplicationId: `${group}-${body}` }));
  }
}

async function receive(visibilityTimeout: number) {
  const { Messages: messages = [] } = await fixture.sqs.send(new ReceiveMessageCommand({
    QueueUrl: fixture.queueUrl, MaxNumberOfMessages: 10, VisibilityTimeout: visibilityTimeout,
  }));
  return messages;
}

test('a group whose messages come back after their visibility timeout is handed out again first message first', async () => {
  await sendGroup('timed-out', ['first', 'second']);
  expect((await receive(1)).map((message) => message.Body)).toEqual(['first', 'second']);
  // Both visible again (a crashed consumer): nothing of the group is in flight.
  await new Promise((resolve) => setTimeout(resolve, 1_500));

  const again = await receive(30);
  expect(again.map((message) => message.Body)).toEqual(['first', 'second']);
  await fixture.sqs.send(new DeleteMessageBatchCommand({
    QueueUrl: fixture.queueUrl,
    Entries: again.map((message, index) => ({ Id: String(index), ReceiptHandle: message.ReceiptHandle! })),
  }));
});
