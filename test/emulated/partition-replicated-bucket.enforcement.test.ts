import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { CreateQueueCommand, DeleteMessageCommand, ReceiveMessageCommand, SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { PartitionReplicatedBucket } from '../../src';
import { captureOutput } from '../support/capture-output';
import { AccessKey, SOURCE_REGION, sourceClientConfig, sourceS3 } from './emulators/partitions';
import { ReplicationFixture } from './emulators/replication-fixture';
import { attachedPolicies, logicalIdOf, ResolutionContext, adaptForMoto } from './emulators/template-policies';
import { createBackfillHandler } from '../../src/runtime/backfill/backfill-handler';
import { messageGroupId } from '../../src/runtime/contract/replication-message';
import { createTelemetry } from '../../src/runtime/contract/telemetry';
import { FailureRecords } from '../../src/runtime/replication/key-state/failure-records';

// The source side's least privilege, proven: the router's and replicator's role policies are taken
// from the synthesized template and enforced by the source partition's IAM (moto). moto cannot run
// a Lambda execution role, so each role's policies are attached to an IAM user whose key the
// handler signs with. The S3 statements are enforced exactly as synthesized; where moto's IAM
// differs from AWS's (resource matching for DynamoDB, Secrets Manager and SQS), `adaptForMoto`
// says what it changes and why.

const ACCOUNT = '123456789012';

/** The backfill function's own queues, which the fixture does not create: its driver queue and the router's dead-letter queue. */
async function backfillQueues(fixture: ReplicationFixture) {
  const create = async (name: string) => (await fixture.sqs.send(new CreateQueueCommand({ QueueName: `${fixture.id}-${name}` }))).QueueUrl!;
  return { backfillQueueUrl: await create('backfill'), routerDeadLetterQueueUrl: await create('router-dlq') };
}

async function sourceIdentities(fixture: ReplicationFixture, prefixes?: string[], queues?: Awaited<ReturnType<typeof backfillQueues>>) {
  const stack = new Stack(new App(), 'Source', { env: { account: ACCOUNT, region: SOURCE_REGION } });
  new PartitionReplicatedBucket(stack, 'Replicated', {
    bucket: s3.Bucket.fromBucketName(stack, 'SourceBucket', fixture.sourceBucket),
    credentialsSecret: secretsmanager.Secret.fromSecretCompleteArn(stack, 'Secret', fixture.secretArn),
    destinationBucketName: fixture.destinationBucket,
    destinationRegion: 'us-gov-west-1',
    prefixes,
  });
  const template = Template.fromStack(stack).toJSON();
  const context: ResolutionContext = {
    partition: 'aws',
    region: SOURCE_REGION,
    accountId: ACCOUNT,
    resources: {
      [logicalIdOf(template, 'AWS::DynamoDB::Table')]: {
        Ref: fixture.tableName,
        Arn: `arn:aws:dynamodb:${SOURCE_REGION}:${ACCOUNT}:table/${fixture.tableName}`,
      },
      [logicalIdOf(template, 'AWS::SQS::Queue', 'ReplicatedQueue')]: {
        Ref: fixture.queueUrl,
        Arn: `arn:aws:sqs:${SOURCE_REGION}:${ACCOUNT}:${fixture.id}.fifo`,
      },
      [logicalIdOf(template, 'AWS::SQS::Queue', 'ReplicatedDeadLetterQueue')]: {
        Ref: fixture.deadLetterQueueUrl,
        Arn: `arn:aws:sqs:${SOURCE_REGION}:${ACCOUNT}:${fixture.id}-dlq.fifo`,
      },
      // Lambda and EventBridge send failed deliveries there; the backfill function's redrive reads it.
      [logicalIdOf(template, 'AWS::SQS::Queue', 'ReplicatedRouterDeadLetterQueue')]: {
        Ref: queues?.routerDeadLetterQueueUrl ?? 'unused',
        Arn: `arn:aws:sqs:${SOURCE_REGION}:${ACCOUNT}:${fixture.id}-router-dlq`,
      },
      [logicalIdOf(template, 'AWS::SQS::Queue', 'ReplicatedBackfillQueue')]: {
        Ref: queues?.backfillQueueUrl ?? 'unused',
        Arn: `arn:aws:sqs:${SOURCE_REGION}:${ACCOUNT}:${fixture.id}-backfill`,
      },
      [logicalIdOf(template, 'AWS::S3::Bucket', 'ReplicatedBackfillReportBucket')]: {
        Ref: `${fixture.id}-reports`,
        Arn: `arn:aws:s3:::${fixture.id}-reports`,
      },
    },
  };
  const replicatorRole = logicalIdOf(template, 'AWS::IAM::Role', 'ReplicatedReplicatorServiceRole');
  const routerRole = logicalIdOf(template, 'AWS::IAM::Role', 'ReplicatedRouterServiceRole');
  const policiesOf = (role: string) => adaptForMoto(attachedPolicies(template, { roles: role }, context));
  return {
    replicator: await fixture.createSourceUser('replicator-role', policiesOf(replicatorRole)),
    router: await fixture.createSourceUser('router-role', policiesOf(routerRole)),
    backfill: async () => fixture.createSourceUser('backfill-role', policiesOf(logicalIdOf(template, 'AWS::IAM::Role', 'ReplicatedBackfillFunctionServiceRole'))),
  };
}

/** The backfill function's handler, its clients signed with `key` (the backfill role's synthesized policies). */
function backfillHandlerAs(fixture: ReplicationFixture, key: AccessKey, queues: Awaited<ReturnType<typeof backfillQueues>>) {
  const config = sourceClientConfig(fixture.emulators.sourceEndpoint, key);
  return createBackfillHandler(
    {
      ...fixture.settings,
      backfillQueueUrl: queues.backfillQueueUrl,
      routerDeadLetterQueueUrl: queues.routerDeadLetterQueueUrl,
      backfillMode: 'all-versions',
      reportBucket: `${fixture.id}-reports`,
      reportPrefix: 'backfill-reports/',
    },
    {
      s3: sourceS3(fixture.emulators.sourceEndpoint, key),
      sqs: new SQSClient(config),
      dynamodb: new DynamoDBClient(config),
      secretsManager: fixture.secretsManager,
    },
    createTelemetry('backfill', { logLevel: 'ERROR' }),
    { redriveWaitSeconds: 0 },
  );
}

test('the synthesized router and replicator policies are enough for the whole scenario', async () => {
  const fixture = await ReplicationFixture.create({ replicateVersionDeletes: true });
  const { replicator, router } = await sourceIdentities(fixture);
  fixture.useSourceIdentity(replicator, router);

  const v1 = await fixture.events.put('doc.txt', 'one', { Tagging: 'k=v' });
  const v2 = await fixture.events.put('doc.txt', 'two');
  const result = await fixture.replicate([
    v1, v2,
    await fixture.events.tag('doc.txt', v2.detail.object['version-id'] as string, [{ Key: 'state', Value: 'final' }]),
    await fixture.events.put('big.bin', Buffer.alloc(9 * 1024 * 1024, 1)),
    await fixture.events.put('gone.txt', 'soon deleted'),
    await fixture.events.deleteMarker('gone.txt'),
    // A version delete is checked against the source's version listing first.
    await fixture.events.deleteVersion('doc.txt', v1.detail.object['version-id'] as string),
  ]);

  expect(result).toEqual({ processed: 7, failures: 0 });
  expect((await fixture.destinationVersions('doc.txt')).versions).toHaveLength(1);
  expect(await fixture.destinationObject('gone.txt')).toBeUndefined();
  expect(await fixture.destinationObject('doc.txt')).toMatchObject({ body: Buffer.from('two'), tags: { state: 'final' } });
  expect((await fixture.destinationObject('big.bin'))?.body.length).toBe(9 * 1024 * 1024);
});

test('the synthesized replicator policy lets it set retry delays and dead-letter a message itself', async () => {
  const fixture = await ReplicationFixture.create({ logLevel: 'WARN' });
  const { replicator, router } = await sourceIdentities(fixture);
  fixture.useSourceIdentity(replicator, router);
  await fixture.sqs.send(new SendMessageCommand({
    QueueUrl: fixture.queueUrl, MessageBody: 'not json', MessageGroupId: messageGroupId(fixture.sourceBucket, 'k.txt'), MessageDeduplicationId: 'bad',
  }));
  const created = await fixture.events.put('k.txt', 'behind the bad one');
  // A key pair the destination rejects: a failure that is retried (ChangeMessageVisibility), not dead-lettered at once.
  await fixture.putSecret({ ...fixture.secretFor({ accessKeyId: 'AKIAREJECTED00000000', secretAccessKey: 'wrong' }) });
  await fixture.routerHandler(created);
  const { event } = await fixture.receiveBatch();
  const { result, lines } = await captureOutput(() => fixture.replicatorHandler(event));

  expect(event.Records).toHaveLength(2);
  expect(result.batchItemFailures).toEqual([{ itemIdentifier: event.Records[1].messageId }]);
  expect(lines.filter((line) => line.includes('not set'))).toEqual([]);
  expect(await fixture.takeDeadLetters()).toEqual(['not json']);
});

test('the replicator identity cannot read another bucket or write to the source bucket', async () => {
  const fixture = await ReplicationFixture.create();
  const other = await ReplicationFixture.create();
  await other.events.put('secret.txt', 'not yours');
  const { replicator } = await sourceIdentities(fixture);
  const client = sourceS3(fixture.emulators.sourceEndpoint, replicator);

  await expect(client.send(new GetObjectCommand({ Bucket: other.sourceBucket, Key: 'secret.txt' }))).rejects.toMatchObject({ name: 'AccessDenied' });
  await expect(client.send(new PutObjectCommand({ Bucket: fixture.sourceBucket, Key: 'x', Body: 'x' }))).rejects.toMatchObject({ name: 'AccessDenied' });
});

test('with prefixes, the replicator identity cannot read source objects outside them', async () => {
  const fixture = await ReplicationFixture.create({ prefixes: ['in/'], logLevel: 'ERROR' });
  await fixture.events.put('out/private.txt', 'outside');
  const inside = await fixture.events.put('in/public.txt', 'inside');
  const { replicator, router } = await sourceIdentities(fixture, ['in/']);
  fixture.useSourceIdentity(replicator, router);
  const client = sourceS3(fixture.emulators.sourceEndpoint, replicator);

  await expect(client.send(new GetObjectCommand({ Bucket: fixture.sourceBucket, Key: 'out/private.txt' }))).rejects.toMatchObject({ name: 'AccessDenied' });
  expect(await fixture.replicate([inside])).toEqual({ processed: 1, failures: 0 });
});

// Proves the backfill role's actions suffice; which queues they reach is asserted on the template
// (test/unit/private/replication-backfill.test.ts), since moto matches SQS resources as "*".
test('the synthesized backfill policy lets it answer status and redrive both dead-letter queues', async () => {
  const fixture = await ReplicationFixture.create();
  const queues = await backfillQueues(fixture);
  const identities = await sourceIdentities(fixture, undefined, queues);
  const backfill = backfillHandlerAs(fixture, await identities.backfill(), queues);
  const context = { getRemainingTimeInMillis: () => 15 * 60_000 };
  // A dead letter as the replicator leaves it (with its failure record), an S3 event EventBridge
  // could not deliver, and a backfill step that kept failing.
  const failed = await fixture.events.put('failed.txt', 'again');
  const versionId = failed.detail.object['version-id'] as string;
  await fixture.routerHandler(failed);
  const { event } = await fixture.receiveBatch();
  await fixture.sqs.send(new DeleteMessageCommand({ QueueUrl: fixture.queueUrl, ReceiptHandle: event.Records[0].receiptHandle }));
  await fixture.sqs.send(new SendMessageCommand({
    QueueUrl: fixture.deadLetterQueueUrl,
    MessageBody: event.Records[0].body,
    MessageGroupId: messageGroupId(fixture.sourceBucket, 'failed.txt'),
    MessageDeduplicationId: event.Records[0].messageId,
    MessageAttributes: { SourceMessageId: { DataType: 'String', StringValue: event.Records[0].messageId } },
  }));
  await new FailureRecords(fixture.dynamodb, fixture.tableName).record('failed.txt', versionId, { reason: 'test', messageId: event.Records[0].messageId, attempts: 5 });
  await fixture.sqs.send(new SendMessageCommand({ QueueUrl: queues.routerDeadLetterQueueUrl, MessageBody: JSON.stringify(await fixture.events.put('undelivered.txt', 'late')) }));
  await fixture.sqs.send(new SendMessageCommand({ QueueUrl: queues.routerDeadLetterQueueUrl, MessageBody: JSON.stringify({ runId: 'run-1' }) }));

  expect(await backfill({ mode: 'status', key: 'failed.txt', versionId }, context)).toMatchObject({ status: 'failed', reason: 'test' });
  expect(await backfill({ mode: 'redrive' }, context)).toMatchObject({
    replication: { redriven: 1, remaining: 0 }, router: { events: 1, backfillSteps: 1, unrecognised: 0, remaining: 0 }, complete: true,
  });
  expect(await backfill({ mode: 'status', key: 'failed.txt', versionId }, context)).toMatchObject({ status: 'pending' });
  const { Messages: steps = [] } = await fixture.sqs.send(new ReceiveMessageCommand({ QueueUrl: queues.backfillQueueUrl }));
  expect(steps.map((step) => step.Body)).toEqual([JSON.stringify({ runId: 'run-1' })]);
  expect(await fixture.drain()).toEqual({ processed: 2, failures: 0 });
  expect((await fixture.destinationObject('failed.txt'))?.body.toString()).toBe('again');
  expect((await fixture.destinationObject('undelivered.txt'))?.body.toString()).toBe('late');
});
