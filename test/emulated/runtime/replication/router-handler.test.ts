import { ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import { messageGroupId, parseReplicationMessage } from '../../../../src/runtime/contract/replication-message';
import { ReplicationFixture } from '../../emulators/replication-fixture';

// The router against the source partition's real SQS FIFO queue (moto).

test('an S3 event lands on the FIFO queue grouped by a hash of bucket and key', async () => {
  const fixture = await ReplicationFixture.create();
  const key = `deep/${'ü'.repeat(400)}/name with spaces+plus`;
  const created = await fixture.events.put(key, 'x');

  await expect(fixture.routerHandler(created)).resolves.toEqual({ routed: true });
  const { Messages = [] } = await fixture.sqs.send(new ReceiveMessageCommand({ QueueUrl: fixture.queueUrl, MessageSystemAttributeNames: ['All'] }));
  expect(Messages).toHaveLength(1);
  expect(Messages[0].Attributes?.MessageGroupId).toBe(messageGroupId(fixture.sourceBucket, key));
  expect(Messages[0].Attributes?.MessageGroupId?.length).toBeLessThanOrEqual(128);
  expect(parseReplicationMessage(Messages[0].Body!)).toMatchObject({
    kind: 'ObjectCreated', key, versionId: created.detail.object['version-id'], bucket: fixture.sourceBucket,
  });
});

test('the same event routed twice is deduplicated by the queue', async () => {
  const fixture = await ReplicationFixture.create();
  const created = await fixture.events.put('dup.txt', 'x');
  await fixture.routerHandler(created);
  await fixture.routerHandler(created);

  expect(await fixture.drain()).toEqual({ processed: 1, failures: 0 });
});

test.each([
  ['an event of another source', (event: Record<string, unknown>) => ({ ...event, source: 'aws.ec2' }), 'is not "aws.s3"'],
  ['an event for another bucket', (event: Record<string, unknown>) => ({ ...event, detail: { ...(event.detail as object), bucket: { name: 'other' } } }), 'this router serves'],
  ['an event without a version id', (event: Record<string, unknown>) => ({
    ...event, detail: { ...(event.detail as object), object: { key: 'k', sequencer: '01' } },
  }), 'versioning enabled'],
])('%s is rejected with a clear error (Lambda then retries it into the dead-letter queue)', async (_, alter, expected) => {
  const fixture = await ReplicationFixture.create();
  const created = await fixture.events.put('bad.txt', 'x');

  await expect(fixture.routerHandler(alter(created))).rejects.toThrow(expected);
});

test('a key outside the prefixes is not put on the queue', async () => {
  const fixture = await ReplicationFixture.create({ prefixes: ['only/'] });
  await expect(fixture.routerHandler(await fixture.events.put('elsewhere.txt', 'x'))).resolves.toEqual({ routed: false });
  expect(await fixture.drain()).toEqual({ processed: 0, failures: 0 });
});
