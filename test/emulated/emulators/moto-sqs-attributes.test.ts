import { randomUUID } from 'node:crypto';
import {
  CreateQueueCommand, DeleteQueueCommand, GetQueueAttributesCommand, QueueAttributeName, ReceiveMessageCommand, SendMessageCommand, SQSClient,
} from '@aws-sdk/client-sqs';
import { emulators, sourceClientConfig } from './partitions';

// moto_server.py computes a queue's attributes one name at a time instead of all of them (three
// message counts among them) four times per message sent, which made filling a queue O(n²). What the
// emulator answers must not change: every attribute, the FIFO deduplication and validation that read
// them, and CreateQueue's comparison with an existing queue. Real servers, no mock.
describe("the emulator's SQS queue attributes", () => {
  const emulated = emulators();
  const sqs = new SQSClient(sourceClientConfig(emulated.sourceEndpoint, emulated.sourceAdmin));
  const created = new Set<string>();
  const createQueue = async (name: string, attributes: Partial<Record<QueueAttributeName, string>>) => {
    const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: name, Attributes: attributes }));
    created.add(QueueUrl!);
    return QueueUrl!;
  };
  const attributesOf = async (queueUrl: string, names: QueueAttributeName[] = ['All']) =>
    (await sqs.send(new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: names }))).Attributes ?? {};
  afterAll(async () => {
    await Promise.all([...created].map((queueUrl) => sqs.send(new DeleteQueueCommand({ QueueUrl: queueUrl }))));
    sqs.destroy();
  });

  it('answers every attribute of a FIFO queue with a dead-letter queue, counts included', async () => {
    const id = randomUUID().slice(0, 8);
    const deadLetters = await createQueue(`attrs-dlq-${id}.fifo`, { FifoQueue: 'true' });
    const deadLetterArn = (await attributesOf(deadLetters, ['QueueArn'])).QueueArn!;
    const queueUrl = await createQueue(`attrs-${id}.fifo`, {
      FifoQueue: 'true', VisibilityTimeout: '120', RedrivePolicy: JSON.stringify({ deadLetterTargetArn: deadLetterArn, maxReceiveCount: 5 }),
    });
    for (const group of ['a', 'b', 'c']) {
      await sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: group, MessageGroupId: group, MessageDeduplicationId: group }));
    }
    // The same deduplication id again: dropped.
    await sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: 'again', MessageGroupId: 'a', MessageDeduplicationId: 'a' }));
    await sqs.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 1 }));

    const all = await attributesOf(queueUrl);
    expect(all).toMatchObject({
      ApproximateNumberOfMessages: '2',
      ApproximateNumberOfMessagesNotVisible: '1',
      ApproximateNumberOfMessagesDelayed: '0',
      VisibilityTimeout: '120',
      FifoQueue: 'true',
      ContentBasedDeduplication: 'false',
      QueueArn: expect.stringMatching(new RegExp(`:attrs-${id}\\.fifo$`)),
    });
    expect(JSON.parse(all.RedrivePolicy!)).toEqual({ deadLetterTargetArn: deadLetterArn, maxReceiveCount: 5 });
    expect(await attributesOf(queueUrl, ['ApproximateNumberOfMessages', 'FifoQueue'])).toEqual({ ApproximateNumberOfMessages: '2', FifoQueue: 'true' });
    await expect(attributesOf(queueUrl, ['NoSuchAttribute' as QueueAttributeName])).rejects.toThrow(/NoSuchAttribute/);
  });

  it('still validates and deduplicates FIFO sends by ContentBasedDeduplication', async () => {
    const id = randomUUID().slice(0, 8);
    const explicit = await createQueue(`explicit-${id}.fifo`, { FifoQueue: 'true' });
    await expect(sqs.send(new SendMessageCommand({ QueueUrl: explicit, MessageBody: 'x', MessageGroupId: 'g' })))
      .rejects.toThrow(/ContentBasedDeduplication|MessageDeduplicationId/);

    const contentBased = await createQueue(`content-${id}.fifo`, { FifoQueue: 'true', ContentBasedDeduplication: 'true' });
    for (let i = 0; i < 2; i++) await sqs.send(new SendMessageCommand({ QueueUrl: contentBased, MessageBody: 'same', MessageGroupId: 'g' }));
    await sqs.send(new SendMessageCommand({ QueueUrl: contentBased, MessageBody: 'other', MessageGroupId: 'g' }));
    expect(await attributesOf(contentBased, ['ApproximateNumberOfMessages', 'ContentBasedDeduplication']))
      .toEqual({ ApproximateNumberOfMessages: '2', ContentBasedDeduplication: 'true' });
  });

  it('compares CreateQueue of an existing name with its attributes', async () => {
    const name = `standard-${randomUUID().slice(0, 8)}`;
    const queueUrl = await createQueue(name, { VisibilityTimeout: '30' });
    expect(await createQueue(name, { VisibilityTimeout: '30' })).toBe(queueUrl);
    await expect(sqs.send(new CreateQueueCommand({ QueueName: name, Attributes: { VisibilityTimeout: '60' } }))).rejects.toThrow(/already exists/);
    expect(await attributesOf(queueUrl)).not.toHaveProperty('FifoQueue');
  });
});
