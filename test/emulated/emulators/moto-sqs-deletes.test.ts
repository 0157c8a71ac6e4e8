import { randomUUID } from 'node:crypto';
import {
  CreateQueueCommand, DeleteMessageCommand, DeleteQueueCommand, GetQueueAttributesCommand, Message, ReceiveMessageCommand,
  SendMessageCommand, SQSClient,
} from '@aws-sdk/client-sqs';
import { emulators, sourceClientConfig } from './partitions';

// The soak (bench/soak.ts) never drained at 20,000 writes: one message stayed "in flight" for the
// queue's 90-minute visibility timeout after it had been received and deleted once. moto's
// Queue.delete_message rebuilds the queue's message list from a snapshot without a lock, so two
// DeleteMessage requests at once (concurrent Lambda instances acknowledging their batches) can put
// a deleted message back, and a SendMessage at the same time can be dropped. SQS deletes
// atomically; moto_server.py restores that. Real servers, no mock.
describe("the emulator's SQS queue under concurrent deletes and sends", () => {
  const emulated = emulators();
  const sqs = new SQSClient(sourceClientConfig(emulated.sourceEndpoint, emulated.sourceAdmin));
  let queueUrl: string;
  beforeAll(async () => {
    ({ QueueUrl: queueUrl } = await sqs.send(new CreateQueueCommand({
      QueueName: `deletes-${randomUUID().slice(0, 8)}.fifo`,
      Attributes: { FifoQueue: 'true', DeduplicationScope: 'messageGroup', FifoThroughputLimit: 'perMessageGroupId', VisibilityTimeout: '5400' },
    })) as { QueueUrl: string });
  });
  afterAll(async () => {
    await sqs.send(new DeleteQueueCommand({ QueueUrl: queueUrl }));
    sqs.destroy();
  });

  it('keeps no deleted message and loses no sent one', async () => {
    const send = (i: number) => sqs.send(new SendMessageCommand({
      QueueUrl: queueUrl, MessageBody: String(i), MessageGroupId: `g${i}`, MessageDeduplicationId: `d${i}`,
    }));
    const first = 1_500;
    for (let i = 0; i < first; i += 50) await Promise.all(Array.from({ length: 50 }, (_, j) => send(i + j)));
    const received: Message[] = [];
    while (received.length < first) {
      const { Messages: messages = [] } = await sqs.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10 }));
      received.push(...messages);
    }
    // Every received message deleted, 16 at a time, while 300 more are sent.
    const deletes = [...received];
    const deleter = async () => {
      for (let message = deletes.shift(); message; message = deletes.shift()) {
        await sqs.send(new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: message.ReceiptHandle! }));
      }
    };
    const more = 300;
    const sender = async (slice: number) => {
      for (let i = first + slice; i < first + more; i += 4) await send(i);
    };
    await Promise.all([...Array.from({ length: 16 }, deleter), ...Array.from({ length: 4 }, (_, slice) => sender(slice))]);

    const { Attributes: counts = {} } = await sqs.send(new GetQueueAttributesCommand({
      QueueUrl: queueUrl, AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
    }));
    expect({ visible: Number(counts.ApproximateNumberOfMessages), inFlight: Number(counts.ApproximateNumberOfMessagesNotVisible) })
      .toEqual({ visible: more, inFlight: 0 });
  }, 120_000);
});
