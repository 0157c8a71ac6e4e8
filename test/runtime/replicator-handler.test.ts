import { DeleteObjectCommand } from '@aws-sdk/client-s3';
import { SendMessageCommand } from '@aws-sdk/client-sqs';
import { messageGroupId } from '../../src/runtime/replication-message';
import { captureOutput, emittedMetrics } from '../emulators/capture-output';
import { ReplicationFixture } from '../emulators/replication-fixture';

// The SQS FIFO handler with partial batch responses, run against the moto partitions.

describe('batches', () => {
  test('a malformed message fails only its own group; other groups in the batch replicate', async () => {
    const fixture = await ReplicationFixture.create();
    await fixture.sqs.send(new SendMessageCommand({
      QueueUrl: fixture.queueUrl,
      MessageBody: '{"v":1,"kind":"ObjectCreated","bucket":"b"}',
      MessageGroupId: messageGroupId(fixture.sourceBucket, 'broken'),
      MessageDeduplicationId: 'malformed-1',
    }));
    const good = await fixture.events.put('good.txt', 'fine');
    const result = await fixture.replicate([good], { allowDeadLetters: true });

    expect(result.processed).toBe(1);
    expect(result.deadLettered).toEqual(['{"v":1,"kind":"ObjectCreated","bucket":"b"}']);
    expect((await fixture.destinationObject('good.txt'))?.body.toString()).toBe('fine');
  });

  test('after a failure, the later messages of the same key are not processed out of order', async () => {
    const fixture = await ReplicationFixture.create();
    const group = messageGroupId(fixture.sourceBucket, 'ordered.txt');
    await fixture.sqs.send(new SendMessageCommand({
      QueueUrl: fixture.queueUrl, MessageBody: 'not json', MessageGroupId: group, MessageDeduplicationId: 'bad-first',
    }));
    const later = await fixture.events.put('ordered.txt', 'second');
    const result = await fixture.replicate([later], { allowDeadLetters: true });

    // The bad message and the message behind it in the same group were both held back.
    expect(result.deadLettered).toHaveLength(2);
    expect(await fixture.destinationObject('ordered.txt')).toBeUndefined();
  });

  test('a source version already gone is skipped with a warning and a metric, not a failure', async () => {
    const fixture = await ReplicationFixture.create({ logLevel: 'WARN' });
    const created = await fixture.events.put('vanished.txt', 'x');
    const versionId = created.detail.object['version-id'] as string;
    await fixture.sourceS3.send(new DeleteObjectCommand({ Bucket: fixture.sourceBucket, Key: 'vanished.txt', VersionId: versionId }));
    const { result, lines } = await captureOutput(() => fixture.replicate([created]));

    expect(result).toEqual({ processed: 1, failures: 0 });
    expect(emittedMetrics(lines)).toMatchObject({ SourceVersionGone: 1, EventsSkipped: 1 });
    expect(lines.some((line) => line.includes('"level":"WARN"') && line.includes('source-version-gone'))).toBe(true);
    expect(await fixture.destinationObject('vanished.txt')).toBeUndefined();
  });

  test('each replicated object is counted in metrics with its bytes', async () => {
    const fixture = await ReplicationFixture.create();
    const events = [await fixture.events.put('m/1', '12345'), await fixture.events.put('m/2', '1234567')];
    const { lines } = await captureOutput(() => fixture.replicate(events));

    expect(emittedMetrics(lines)).toMatchObject({ ObjectsReplicated: 2, BytesReplicated: 12 });
  });
});
