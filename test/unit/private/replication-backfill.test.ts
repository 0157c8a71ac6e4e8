import { App, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { BackfillMode, PartitionReplicatedBucket } from '../../../src';
import { ENV } from '../../../src/runtime/contract/replication-environment';
import { nagFindings } from '../../support/nag-findings';
import { FIXED_ENV, REQUIRED, build, synth } from '../../support/replicated-bucket-stack';
import { asArray, functionEnvironment, logicalId, policyStatements } from '../../support/template-queries';

describe('backfill', () => {
  test('the backfill function lists the source bucket and is driven by its own queue', () => {
    const { template, stack, construct } = synth();
    expect(functionEnvironment(template, stack, construct.backfill)).toMatchObject({
      [ENV.sourceBucket]: { Ref: logicalId(stack, construct.bucket) },
      [ENV.queueUrl]: { Ref: logicalId(stack, construct.queue) },
      [ENV.backfillQueueUrl]: { Ref: logicalId(stack, construct.backfillQueue) },
      [ENV.backfillMode]: 'all-versions',
      [ENV.reportBucket]: { Ref: logicalId(stack, construct.reportBucket) },
      [ENV.reportPrefix]: 'backfill-reports/',
      // The destination, which reconcile runs list.
      [ENV.destinationBucket]: REQUIRED.destinationBucketName,
      [ENV.destinationRegion]: REQUIRED.destinationRegion,
      [ENV.credentialsSecretId]: { Ref: logicalId(stack, construct.credentialsSecret) },
    });
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      FunctionName: { Ref: logicalId(stack, construct.backfill) },
      EventSourceArn: { 'Fn::GetAtt': [logicalId(stack, construct.backfillQueue), 'Arn'] },
      BatchSize: 1,
    });
    template.hasResourceProperties('AWS::SQS::Queue', {
      VisibilityTimeout: 5400,
      RedrivePolicy: { deadLetterTargetArn: { 'Fn::GetAtt': [logicalId(stack, construct.routerDeadLetterQueue), 'Arn'] }, maxReceiveCount: 5 },
    });
    template.resourceCountIs('Custom::Trigger', 0);
  });

  test('the backfill may list the source bucket but never read, write or delete its objects', () => {
    const { template, stack, construct } = synth();
    const statements = policyStatements(template, stack, construct.backfill);
    const s3Actions = statements.flatMap((statement) => asArray(statement.Action)).filter((action: string) => action.startsWith('s3:'));
    expect(s3Actions.filter((action: string) => /^s3:(Get|Delete)/.test(action))).toEqual([]);
    expect(statements).toContainEqual(expect.objectContaining({
      Action: ['s3:ListBucket', 's3:ListBucketVersions'],
      Resource: { 'Fn::GetAtt': [logicalId(stack, construct.bucket), 'Arn'] },
    }));
    // The credentials, for reconcile runs to list the destination.
    expect(statements).toContainEqual(expect.objectContaining({
      Action: ['secretsmanager:GetSecretValue', 'secretsmanager:DescribeSecret'],
      Resource: { Ref: logicalId(stack, construct.credentialsSecret) },
    }));
    const puts = statements.filter((statement) => asArray(statement.Action).includes('s3:PutObject'));
    expect(puts).toHaveLength(1);
    expect(JSON.stringify(puts[0].Resource)).toContain('/backfill-reports/*');
    expect(JSON.stringify(puts[0].Resource)).toContain(logicalId(stack, construct.reportBucket));
  });

  test('the redrive mode is given both dead-letter queues, may consume only those, and sends only to the replication and backfill queues', () => {
    const { template, stack, construct } = synth();
    expect(functionEnvironment(template, stack, construct.backfill)).toMatchObject({
      [ENV.deadLetterQueueUrl]: { Ref: logicalId(stack, construct.deadLetterQueue) },
      [ENV.routerDeadLetterQueueUrl]: { Ref: logicalId(stack, construct.routerDeadLetterQueue) },
    });
    const statements = policyStatements(template, stack, construct.backfill);
    const arnOf = (queue: { node: unknown }) => ({ 'Fn::GetAtt': [logicalId(stack, queue as never), 'Arn'] });
    const queuesWith = (action: string) => statements
      .filter((statement) => asArray(statement.Action).includes(action))
      .flatMap((statement) => asArray(statement.Resource));
    const dlqs = [arnOf(construct.deadLetterQueue), arnOf(construct.routerDeadLetterQueue)];
    // (Sending includes sqs:GetQueueAttributes, so only the consuming actions are counted.)
    expect(queuesWith('sqs:GetQueueAttributes')).toEqual(expect.arrayContaining(dlqs));
    for (const action of ['sqs:ReceiveMessage', 'sqs:DeleteMessage', 'sqs:ChangeMessageVisibility']) {
      // The backfill queue's own event source also consumes it.
      expect(queuesWith(action)).toEqual(expect.arrayContaining(dlqs));
      expect(queuesWith(action).filter((arn) => !JSON.stringify(arn).includes(logicalId(stack, construct.backfillQueue))))
        .toHaveLength(2);
    }
    expect(queuesWith('sqs:SendMessage')).toEqual(expect.arrayContaining([arnOf(construct.queue), arnOf(construct.backfillQueue)]));
    expect(queuesWith('sqs:SendMessage')).toHaveLength(2);
    // No wildcard queue and no purge.
    expect(JSON.stringify(statements)).not.toContain('sqs:PurgeQueue');
    expect(statements.flatMap((statement) => asArray(statement.Resource))).not.toContain('*');
  });

  test('with reconcileCredentialsSecret the backfill reads only that secret, never the replicator\'s write key', () => {
    const app = new App();
    const stack = new Stack(app, 'Stack', { env: FIXED_ENV });
    const listKey = new secretsmanager.Secret(stack, 'ListOnlyKey');
    const construct = new PartitionReplicatedBucket(stack, 'Replication', { ...REQUIRED, reconcileCredentialsSecret: listKey });
    const template = Template.fromStack(stack);

    const secretReads = (fn: typeof construct.backfill) => policyStatements(template, stack, fn)
      .filter((statement) => asArray(statement.Action).some((action: string) => action.startsWith('secretsmanager:')))
      .map((statement) => statement.Resource);
    expect(secretReads(construct.backfill)).toEqual([{ Ref: logicalId(stack, listKey) }]);
    expect(functionEnvironment(template, stack, construct.backfill)[ENV.credentialsSecretId]).toEqual({ Ref: logicalId(stack, listKey) });
    // The replicator still writes with credentialsSecret.
    expect(secretReads(construct.replicator)).toEqual([{ Ref: logicalId(stack, construct.credentialsSecret) }]);
    expect(functionEnvironment(template, stack, construct.replicator)[ENV.credentialsSecretId])
      .toEqual({ Ref: logicalId(stack, construct.credentialsSecret) });
  });

  test('backfillOnDeploy starts one run, asynchronously, when the construct is created', () => {
    const { template, stack, construct } = synth({ backfillOnDeploy: BackfillMode.CURRENT_VERSIONS });
    expect(functionEnvironment(template, stack, construct.backfill)).toMatchObject({ [ENV.backfillMode]: 'current-versions' });
    template.hasResourceProperties('Custom::Trigger', {
      HandlerArn: Match.anyValue(),
      InvocationType: 'Event',
      ExecuteOnHandlerChange: false,
    });
  });

  test('a report bucket of your own is used', () => {
    const app = new App();
    const stack = new Stack(app, 'Stack', { env: FIXED_ENV });
    const reportBucket = new s3.Bucket(stack, 'Reports');
    const construct = new PartitionReplicatedBucket(stack, 'Replication', { ...REQUIRED, reportBucket });
    expect(construct.reportBucket).toBe(reportBucket);
    Template.fromStack(stack).resourceCountIs('AWS::S3::Bucket', 2);
  });

  test('an inventory bucket: the backfill may read its objects, and nothing else is granted on it; cdk-nag has no findings', () => {
    const app = new App();
    const stack = new Stack(app, 'Stack', { env: FIXED_ENV });
    const inventoryBucket = new s3.Bucket(stack, 'Inventories', { enforceSSL: true, serverAccessLogsPrefix: 'logs/' });
    const construct = new PartitionReplicatedBucket(stack, 'Replication', { ...REQUIRED, inventoryBucket });
    const statements = policyStatements(Template.fromStack(stack), stack, construct.backfill);
    const onInventory = statements.filter((statement) => JSON.stringify(statement.Resource).includes(logicalId(stack, inventoryBucket)));
    expect(onInventory).toHaveLength(1);
    expect(asArray(onInventory[0].Action).sort()).toEqual(['s3:GetBucket*', 's3:GetObject*', 's3:List*']);
    expect(nagFindings(stack)).toEqual([]);
  });

  test('the replicated bucket as the inventory bucket fails at synth, saying to use another', () => {
    const app = new App();
    const stack = new Stack(app, 'Stack', { env: FIXED_ENV });
    const bucket = new s3.Bucket(stack, 'Source', { versioned: true });
    expect(() => new PartitionReplicatedBucket(stack, 'Replication', { ...REQUIRED, bucket, inventoryBucket: bucket }))
      .toThrow('PartitionReplicatedBucket: inventoryBucket is the replicated bucket: deliver its S3 Inventory reports to another bucket');
  });

  test('AwsSolutions has no findings with backfillOnDeploy', () => {
    expect(nagFindings(build({ backfillOnDeploy: BackfillMode.ALL_VERSIONS }).stack)).toEqual([]);
  });
});
