import { randomUUID } from 'node:crypto';
import {
  CreateQueueCommand, DeleteMessageBatchCommand, DeleteMessageCommand, DeleteQueueCommand, GetQueueAttributesCommand,
  PurgeQueueCommand, QueueAttributeName, ReceiveMessageCommand, SendMessageCommand, SQSClient,
} from '@aws-sdk/client-sqs';
import { emulators, sourceClientConfig } from './partitions';

// moto_server.py finds a message by receipt handle and a FIFO send's earlier message by
// deduplication id through indexes instead of moto's scan of the whole queue per delete and per
// send, and builds the visible messages reading the clock once. What the emulator answers must not
// change: deletes by current and earlier handles, twice, of unknown, other queues', dead-lettered
// and purged messages; deduplication against messages still in the queue (moto forgets a deleted
// message's id, SQS does not); delays. Real servers, no mock.
describe("the emulator's SQS deletes, deduplication and visibility", () => {
  const emulated = emulators();
  const sqs = new SQSClient(sourceClientConfig(emulated.sourceEndpoint, emulated.sourceAdmin));
  const created: string[] = [];
  const createQueue = async (name: string, attributes: Partial<Record<QueueAttributeName, string>> = {}) => {
    const { QueueUrl } = await sqs.send(new CreateQueueCommand({
      QueueName: `${name}-${randomUUID().slice(0, 8)}${attributes.FifoQueue ? '.fifo' : ''}`, Attributes: attributes,
    }));
    created.push(QueueUrl!);
    return QueueUrl!;
  };
  const send = (queueUrl: string, body: string, deduplicationId = body) =>
    sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: body, MessageGroupId: body, MessageDeduplicationId: deduplicationId }));
  const receive = async (queueUrl: string, visibilityTimeout?: number) => (await sqs.send(new ReceiveMessageCommand({
    QueueUrl: queueUrl, MaxNumberOfMessages: 10, VisibilityTimeout: visibilityTimeout,
  }))).Messages ?? [];
  const deleteMessage = (queueUrl: string, receiptHandle: string) =>
    sqs.send(new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: receiptHandle }));
  const counts = async (queueUrl: string) => {
    const { Attributes: attributes = {} } = await sqs.send(new GetQueueAttributesCommand({
      QueueUrl: queueUrl, AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible', 'ApproximateNumberOfMessagesDelayed'],
    }));
    return {
      visible: Number(attributes.ApproximateNumberOfMessages),
      inFlight: Number(attributes.ApproximateNumberOfMessagesNotVisible),
      delayed: Number(attributes.ApproximateNumberOfMessagesDelayed),
    };
  };
  afterAll(async () => {
    await Promise.all(created.map((queueUrl) => sqs.send(new DeleteQueueCommand({ QueueUrl: queueUrl }))));
    sqs.destroy();
  });

  it('deletes by the current or an earlier receipt handle, twice without error, and refuses unknown and other queues\' handles', async () => {
    const queueUrl = await createQueue('handles', { FifoQueue: 'true' });
    const other = await createQueue('handles-other', { FifoQueue: 'true' });
    for (const body of ['a', 'b', 'c']) await send(queueUrl, body);
    await send(other, 'x');
    const [otherMessage] = await receive(other);

    const first = await receive(queueUrl, 0);
    expect(first.map((m) => m.Body)).toEqual(['a', 'b', 'c']);
    // Received again: each message has a new handle, and moto still takes the earlier one.
    const again = await receive(queueUrl);
    expect(again.map((m) => m.ReceiptHandle)).not.toContain(first[0].ReceiptHandle);
    await deleteMessage(queueUrl, first[0].ReceiptHandle!);
    await deleteMessage(queueUrl, again[1].ReceiptHandle!);
    // Deleted already, by either handle: accepted.
    await deleteMessage(queueUrl, again[0].ReceiptHandle!);
    await deleteMessage(queueUrl, first[1].ReceiptHandle!);

    await expect(deleteMessage(queueUrl, 'no-such-handle')).rejects.toThrow(/receipt handle|ReceiptHandleIsInvalid/i);
    await expect(deleteMessage(queueUrl, otherMessage.ReceiptHandle!)).rejects.toThrow(/receipt handle|ReceiptHandleIsInvalid/i);
    const batch = await sqs.send(new DeleteMessageBatchCommand({
      QueueUrl: queueUrl, Entries: [{ Id: 'c', ReceiptHandle: again[2].ReceiptHandle! }, { Id: 'x', ReceiptHandle: otherMessage.ReceiptHandle! }],
    }));
    expect(batch.Successful?.map((entry) => entry.Id)).toEqual(['c']);
    expect(batch.Failed?.map((entry) => [entry.Id, entry.Code])).toEqual([['x', 'ReceiptHandleIsInvalid']]);
    expect(await counts(queueUrl)).toEqual({ visible: 0, inFlight: 0, delayed: 0 });
    expect(await counts(other)).toEqual({ visible: 0, inFlight: 1, delayed: 0 });
  });

  it('deduplicates a FIFO send against the messages still in the queue, and a dead-lettered message in its new queue', async () => {
    const deadLetters = await createQueue('dedup-dlq', { FifoQueue: 'true' });
    const { Attributes: { QueueArn: deadLetterArn } = {} } = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: deadLetters, AttributeNames: ['QueueArn'] }));
    const queueUrl = await createQueue('dedup', {
      FifoQueue: 'true', RedrivePolicy: JSON.stringify({ deadLetterTargetArn: deadLetterArn, maxReceiveCount: 1 }),
    });
    await send(queueUrl, 'a');
    await send(queueUrl, 'a again', 'a');
    await send(queueUrl, 'b');
    const [a, b] = await receive(queueUrl, 0);
    expect([a.Body, b.Body]).toEqual(['a', 'b']);
    await deleteMessage(queueUrl, a.ReceiptHandle!);
    // moto deduplicates only against messages in the queue: "a" is deleted, so its id is new again.
    await send(queueUrl, 'a after delete', 'a');

    // "b" was received once: the next receive moves it to the dead-letter queue.
    expect((await receive(queueUrl)).map((m) => m.Body)).toEqual(['a after delete']);
    await expect(deleteMessage(queueUrl, b.ReceiptHandle!)).rejects.toThrow(/receipt handle|ReceiptHandleIsInvalid/i);
    await send(deadLetters, 'b in the dead-letter queue', 'b');
    const [deadLettered, ...rest] = await receive(deadLetters);
    expect([deadLettered.Body, rest]).toEqual(['b', []]);
    await deleteMessage(deadLetters, deadLettered.ReceiptHandle!);
    expect(await counts(deadLetters)).toEqual({ visible: 0, inFlight: 0, delayed: 0 });
  });

  it('refuses the handle of a purged message, and holds back a delayed one until its delay ends', async () => {
    const queueUrl = await createQueue('purged', { FifoQueue: 'true' });
    await send(queueUrl, 'a');
    const [a] = await receive(queueUrl);
    await sqs.send(new PurgeQueueCommand({ QueueUrl: queueUrl }));
    await expect(deleteMessage(queueUrl, a.ReceiptHandle!)).rejects.toThrow(/receipt handle|ReceiptHandleIsInvalid/i);

    const delaying = await createQueue('delayed');
    await sqs.send(new SendMessageCommand({ QueueUrl: delaying, MessageBody: 'later', DelaySeconds: 1 }));
    await sqs.send(new SendMessageCommand({ QueueUrl: delaying, MessageBody: 'now' }));
    expect(await counts(delaying)).toEqual({ visible: 1, inFlight: 0, delayed: 1 });
    expect((await receive(delaying, 0)).map((m) => m.Body)).toEqual(['now']);
    await new Promise((resolve) => setTimeout(resolve, 1_100));
    expect((await receive(delaying)).map((m) => m.Body).sort()).toEqual(['later', 'now']);
  });
});
