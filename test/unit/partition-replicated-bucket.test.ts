import { Annotations as CoreAnnotations, App, ArnFormat, CfnParameter, Duration, Environment, RemovalPolicy, Stack } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { NagSuppressions } from 'cdk-nag';
import { BackfillMode, PartitionReplicatedBucket, PartitionReplicatedBucketProps } from '../../src';
import { addNagSuppressions } from '../../src/private/nag-suppressions';
import { COPY_HANDOVER_RESERVE_SECONDS, ENV } from '../../src/runtime/contract/replication-environment';
import { nagFindings } from '../support/nag-findings';

const FIXED_ENV: Environment = { account: '111111111111', region: 'us-east-1' };
const REQUIRED: PartitionReplicatedBucketProps = { destinationBucketName: 'dest-bucket', destinationRegion: 'us-gov-west-1' };
const IMPORTED_BUCKET_WARNING = 'cdk-partition-replicated-bucket:importedBucketPrerequisites';

/** A stack in its own app with one construct. */
function build(props: Partial<PartitionReplicatedBucketProps> = {}, env: Environment | undefined = FIXED_ENV) {
  const app = new App();
  const stack = new Stack(app, 'Stack', { env });
  const construct = new PartitionReplicatedBucket(stack, 'Replication', { ...REQUIRED, ...props });
  return { app, stack, construct };
}

function synth(props: Partial<PartitionReplicatedBucketProps> = {}, env?: Environment) {
  const built = build(props, env);
  return { ...built, template: Template.fromStack(built.stack) };
}

/** The logical id of a construct's default CloudFormation resource. */
function logicalId(stack: Stack, scope: { node: { defaultChild?: unknown } }): string {
  return stack.getLogicalId(scope.node.defaultChild as never);
}

/** The statements of the default policy of a function's role. */
function policyStatements(template: Template, stack: Stack, fn: { role?: { node: { defaultChild?: unknown } } }): any[] {
  const roleId = logicalId(stack, fn.role!);
  const policies = template.findResources('AWS::IAM::Policy', {
    Properties: { Roles: Match.arrayWith([{ Ref: roleId }]) },
  });
  return Object.values(policies).flatMap((policy: any) => policy.Properties.PolicyDocument.Statement);
}

function functionEnvironment(template: Template, stack: Stack, fn: { node: { defaultChild?: unknown } }): Record<string, unknown> {
  return template.toJSON().Resources[logicalId(stack, fn)].Properties.Environment.Variables;
}

const asArray = <T>(value: T | T[]): T[] => (Array.isArray(value) ? value : [value]);

describe('source bucket', () => {
  test('the created bucket is versioned, encrypted, private, TLS-only, sends EventBridge events and is retained', () => {
    const { template, stack, construct } = synth();
    const bucketId = logicalId(stack, construct.bucket);

    template.hasResource('AWS::S3::Bucket', {
      Properties: {
        VersioningConfiguration: { Status: 'Enabled' },
        BucketEncryption: { ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }] },
        PublicAccessBlockConfiguration: {
          BlockPublicAcls: true, BlockPublicPolicy: true, IgnorePublicAcls: true, RestrictPublicBuckets: true,
        },
      },
      DeletionPolicy: 'Retain',
      UpdateReplacePolicy: 'Retain',
    });
    template.hasResourceProperties('Custom::S3BucketNotifications', {
      BucketName: { Ref: bucketId },
      NotificationConfiguration: { EventBridgeConfiguration: {} },
    });
    template.hasResourceProperties('AWS::S3::BucketPolicy', {
      Bucket: { Ref: bucketId },
      PolicyDocument: {
        Statement: Match.arrayWith([Match.objectLike({
          Effect: 'Deny',
          Action: 's3:*',
          Condition: { Bool: { 'aws:SecureTransport': 'false' } },
        })]),
      },
    });
  });

  test('removalPolicy applies to the created bucket, the table and the log groups', () => {
    const { template } = synth({ removalPolicy: RemovalPolicy.DESTROY });
    template.hasResource('AWS::S3::Bucket', { DeletionPolicy: 'Delete' });
    template.hasResource('AWS::DynamoDB::Table', { DeletionPolicy: 'Delete' });
    template.allResources('AWS::Logs::LogGroup', { DeletionPolicy: 'Delete' });
  });

  test('an adopted bucket of the app is used as is, with EventBridge notifications switched on', () => {
    const app = new App();
    const stack = new Stack(app, 'Stack', { env: FIXED_ENV });
    const bucket = new s3.Bucket(stack, 'Mine', { versioned: true });
    const construct = new PartitionReplicatedBucket(stack, 'Replication', { ...REQUIRED, bucket });
    const template = Template.fromStack(stack);
    const bucketId = logicalId(stack, bucket);

    expect(construct.bucket).toBe(bucket);
    // Yours and the backfill report bucket: no second source bucket.
    template.resourceCountIs('AWS::S3::Bucket', 2);
    template.hasResourceProperties('Custom::S3BucketNotifications', {
      BucketName: { Ref: bucketId },
      NotificationConfiguration: { EventBridgeConfiguration: {} },
    });
    template.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: { detail: { bucket: { name: [{ Ref: bucketId }] } } },
    });
  });

  test('an adopted bucket of the app that is not versioned fails synthesis', () => {
    const app = new App();
    const stack = new Stack(app, 'Stack', { env: FIXED_ENV });
    const bucket = new s3.Bucket(stack, 'Mine');
    new PartitionReplicatedBucket(stack, 'Replication', { ...REQUIRED, bucket });
    expect(() => app.synth()).toThrow(/bucket Stack\/Mine is not versioned; create it with versioned: true/);
  });

  test('an imported bucket is not changed, and a warning names its prerequisites until acknowledged', () => {
    const build2 = (acknowledge: boolean) => {
      const app = new App();
      const stack = new Stack(app, 'Stack', { env: FIXED_ENV });
      const bucket = s3.Bucket.fromBucketName(stack, 'Imported', 'existing-source-bucket');
      const construct = new PartitionReplicatedBucket(stack, 'Replication', { ...REQUIRED, bucket });
      if (acknowledge) CoreAnnotations.of(construct).acknowledgeWarning(IMPORTED_BUCKET_WARNING);
      return stack;
    };

    const stack = build2(false);
    const template = Template.fromStack(stack);
    // Only the backfill report bucket.
    template.resourceCountIs('AWS::S3::Bucket', 1);
    template.resourceCountIs('Custom::S3BucketNotifications', 0);
    template.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: { detail: { bucket: { name: ['existing-source-bucket'] } } },
    });
    const warnings = Annotations.fromStack(stack).findWarning('/Stack/Replication',
      Match.stringLikeRegexp('versioning and "Send notifications to Amazon EventBridge"'));
    expect(warnings).toHaveLength(1);
    expect(warnings[0].entry.data).toContain(IMPORTED_BUCKET_WARNING);

    expect(Annotations.fromStack(build2(true)).findWarning('*', Match.stringLikeRegexp('versioning'))).toHaveLength(0);
  });
});

describe('event rule', () => {
  test('forwards created, deleted and tag events of the source bucket, for every key by default', () => {
    const { template, stack, construct } = synth();
    template.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: {
        'source': ['aws.s3'],
        'detail-type': ['Object Created', 'Object Deleted', 'Object Tags Added', 'Object Tags Deleted'],
        'detail': { bucket: { name: [{ Ref: logicalId(stack, construct.bucket) }] }, object: Match.absent() },
      },
    });
  });

  test('filters on the key prefixes when given', () => {
    const { template } = synth({ prefixes: ['reports/', 'exports/2024/'] });
    template.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: { detail: { object: { key: [{ prefix: 'reports/' }, { prefix: 'exports/2024/' }] } } },
    });
  });

  test('leaves out the tag events when replicateTags is false', () => {
    const { template } = synth({ replicateTags: false });
    template.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: { 'detail-type': ['Object Created', 'Object Deleted'] },
    });
  });

  test('forwards delete events even when no kind of delete is replicated (the version map records them)', () => {
    const { template } = synth({ replicateDeleteMarkers: false, replicateVersionDeletes: false });
    template.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: { 'detail-type': ['Object Created', 'Object Deleted', 'Object Tags Added', 'Object Tags Deleted'] },
    });
  });

  test('targets the router with a dead-letter queue and the longest retry policy', () => {
    const { template, stack, construct } = synth();
    template.hasResourceProperties('AWS::Events::Rule', {
      Targets: [{
        Arn: { 'Fn::GetAtt': [logicalId(stack, construct.router), 'Arn'] },
        DeadLetterConfig: { Arn: { 'Fn::GetAtt': [logicalId(stack, construct.routerDeadLetterQueue), 'Arn'] } },
        RetryPolicy: { MaximumRetryAttempts: 185, MaximumEventAgeInSeconds: 86400 },
      }],
    });
  });
});

describe('queues', () => {
  test('the replication queue is a high-throughput FIFO queue with a visibility of six replicator timeouts', () => {
    const { template, stack, construct } = synth({ replicatorTimeout: Duration.minutes(2), maxReceiveCount: 7 });
    template.hasResourceProperties('AWS::SQS::Queue', {
      FifoQueue: true,
      ContentBasedDeduplication: false,
      DeduplicationScope: 'messageGroup',
      FifoThroughputLimit: 'perMessageGroupId',
      VisibilityTimeout: 720,
      MessageRetentionPeriod: 1209600,
      SqsManagedSseEnabled: true,
      RedrivePolicy: {
        deadLetterTargetArn: { 'Fn::GetAtt': [logicalId(stack, construct.deadLetterQueue), 'Arn'] },
        // The replicator dead-letters after 7 attempts itself; the redrive policy is the backstop.
        maxReceiveCount: 70,
      },
    });
  });

  test('the default visibility timeout is 90 minutes; the redrive backstop is 50 receives, the replicator gives up after 5 attempts', () => {
    const { template, stack, construct } = synth();
    template.hasResourceProperties('AWS::SQS::Queue', { VisibilityTimeout: 5400, RedrivePolicy: { maxReceiveCount: 50 } });
    expect(functionEnvironment(template, stack, construct.replicator)).toMatchObject({ [ENV.maxReceiveCount]: '5' });
  });

  test('the redrive backstop is at most the 1000 receives SQS allows', () => {
    const { template } = synth({ maxReceiveCount: 150 });
    template.hasResourceProperties('AWS::SQS::Queue', { FifoQueue: true, RedrivePolicy: { maxReceiveCount: 1000 } });
  });

  test('the dead-letter queue of the FIFO queue is FIFO; the router dead-letter queue is standard', () => {
    const { template, stack, construct } = synth();
    const queues = template.toJSON().Resources;
    expect(queues[logicalId(stack, construct.deadLetterQueue)].Properties).toEqual({
      FifoQueue: true, MessageRetentionPeriod: 1209600, SqsManagedSseEnabled: true,
    });
    expect(queues[logicalId(stack, construct.routerDeadLetterQueue)].Properties).toEqual({
      MessageRetentionPeriod: 1209600, SqsManagedSseEnabled: true,
    });
  });

  test('every queue rejects requests without TLS', () => {
    const { template } = synth();
    template.resourcePropertiesCountIs('AWS::SQS::QueuePolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([Match.objectLike({
          Effect: 'Deny', Action: 'sqs:*', Condition: { Bool: { 'aws:SecureTransport': 'false' } },
        })]),
      },
    }, 4);
  });
});

describe('functions', () => {
  test('the router, the replicator and the backfill run on Node.js 22', () => {
    const { template } = synth();
    template.resourcePropertiesCountIs('AWS::Lambda::Function', { Runtime: 'nodejs22.x' }, 3);
  });

  test('runtime moves the router, the replicator and the backfill to a newer Node.js runtime', () => {
    const { template } = synth({ runtime: new lambda.Runtime('nodejs24.x', lambda.RuntimeFamily.NODEJS) });
    template.resourcePropertiesCountIs('AWS::Lambda::Function', { Runtime: 'nodejs24.x' }, 3);
    template.resourcePropertiesCountIs('AWS::Lambda::Function', { Runtime: 'nodejs22.x' }, 0);
  });

  test('the router retries asynchronous invocations twice, then uses the router dead-letter queue', () => {
    const { template, stack, construct } = synth();
    const routerId = logicalId(stack, construct.router);
    template.hasResourceProperties('AWS::Lambda::Function', {
      Timeout: 30,
      MemorySize: 256,
      DeadLetterConfig: { TargetArn: { 'Fn::GetAtt': [logicalId(stack, construct.routerDeadLetterQueue), 'Arn'] } },
    });
    template.hasResourceProperties('AWS::Lambda::EventInvokeConfig', { FunctionName: { Ref: routerId }, MaximumRetryAttempts: 2 });
  });

  test('the router environment names the bucket, the replication scope and the queue', () => {
    const { template, stack, construct } = synth({ prefixes: ['a/'] });
    expect(functionEnvironment(template, stack, construct.router)).toMatchObject({
      [ENV.sourceBucket]: { Ref: logicalId(stack, construct.bucket) },
      [ENV.scope]: '{"prefixes":["a/"]}',
      [ENV.queueUrl]: { Ref: logicalId(stack, construct.queue) },
    });
  });

  test('the replicator consumes the FIFO queue in batches of 10 with partial batch responses', () => {
    const { template, stack, construct } = synth();
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      EventSourceArn: { 'Fn::GetAtt': [logicalId(stack, construct.queue), 'Arn'] },
      FunctionName: { Ref: logicalId(stack, construct.replicator) },
      BatchSize: 10,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
    });
  });

  test('the replicator has a 15 minute timeout, 1024 MiB and the default settings in its environment', () => {
    const { template, stack, construct } = synth();
    const replicator = template.toJSON().Resources[logicalId(stack, construct.replicator)].Properties;
    expect(replicator).toMatchObject({ Timeout: 900, MemorySize: 1024 });
    const environment = functionEnvironment(template, stack, construct.replicator);
    expect(environment).toMatchObject({
      [ENV.sourceBucket]: { Ref: logicalId(stack, construct.bucket) },
      [ENV.scope]: '{"prefixes":[]}',
      [ENV.tableName]: { Ref: logicalId(stack, construct.table) },
      [ENV.queueUrl]: { Ref: logicalId(stack, construct.queue) },
      [ENV.deadLetterQueueUrl]: { Ref: logicalId(stack, construct.deadLetterQueue) },
      [ENV.maxReceiveCount]: '5',
      [ENV.credentialsSecretId]: { Ref: logicalId(stack, construct.credentialsSecret) },
      [ENV.destinationBucket]: 'dest-bucket',
      [ENV.destinationRegion]: 'us-gov-west-1',
      [ENV.destinationPartition]: 'aws-us-gov',
      [ENV.replicateDeleteMarkers]: 'true',
      [ENV.replicateVersionDeletes]: 'false',
      [ENV.replicateTags]: 'true',
    });
    expect(environment).not.toHaveProperty(ENV.destinationEndpoint);
    expect(environment).not.toHaveProperty(ENV.destinationAccount);
    expect(environment).not.toHaveProperty(ENV.destinationKmsKeyArn);
    expect(environment).not.toHaveProperty(ENV.destinationStorageClass);
  });

  test('the replicator environment carries every optional setting', () => {
    const { template, stack, construct } = synth({
      destinationRegion: 'cn-northwest-1',
      destinationEndpoint: 'https://s3.cn-northwest-1.amazonaws.com.cn',
      destinationStsEndpoint: 'https://sts.cn-northwest-1.amazonaws.com.cn',
      destinationKmsKeyArn: 'arn:aws-cn:kms:cn-northwest-1:222222222222:alias/replicas',
      destinationStorageClass: s3.StorageClass.GLACIER_INSTANT_RETRIEVAL,
      replicateDeleteMarkers: false,
      replicateVersionDeletes: true,
      replicateTags: false,
      replicatorTimeout: Duration.minutes(5),
      replicatorMemorySize: 2048,
    });
    expect(template.toJSON().Resources[logicalId(stack, construct.replicator)].Properties).toMatchObject({ Timeout: 300, MemorySize: 2048 });
    expect(functionEnvironment(template, stack, construct.replicator)).toMatchObject({
      [ENV.destinationRegion]: 'cn-northwest-1',
      [ENV.destinationPartition]: 'aws-cn',
      [ENV.destinationEndpoint]: 'https://s3.cn-northwest-1.amazonaws.com.cn',
      [ENV.destinationStsEndpoint]: 'https://sts.cn-northwest-1.amazonaws.com.cn',
      [ENV.destinationKmsKeyArn]: 'arn:aws-cn:kms:cn-northwest-1:222222222222:alias/replicas',
      [ENV.destinationStorageClass]: 'GLACIER_IR',
      [ENV.replicateDeleteMarkers]: 'false',
      [ENV.replicateVersionDeletes]: 'true',
      [ENV.replicateTags]: 'false',
    });
  });

  test('an existing secret is used instead of a new one', () => {
    const app = new App();
    const stack = new Stack(app, 'Stack', { env: FIXED_ENV });
    const secret = secretsmanager.Secret.fromSecretCompleteArn(stack, 'Keys',
      stack.formatArn({ service: 'secretsmanager', resource: 'secret', resourceName: 'govcloud-keys-AbCdEf', arnFormat: ArnFormat.COLON_RESOURCE_NAME }));
    const construct = new PartitionReplicatedBucket(stack, 'Replication', { ...REQUIRED, credentialsSecret: secret });
    const template = Template.fromStack(stack);
    template.resourceCountIs('AWS::SecretsManager::Secret', 0);
    expect(construct.credentialsSecret).toBe(secret);
    expect(JSON.stringify(functionEnvironment(template, stack, construct.replicator)[ENV.credentialsSecretId])).toContain('secret:govcloud-keys-AbCdEf');
  });

  test('the created secret holds no credentials, only an empty JSON object and instructions', () => {
    const { template } = synth();
    template.hasResourceProperties('AWS::SecretsManager::Secret', {
      SecretString: '{}',
      Description: Match.stringLikeRegexp('"accesskey".*"secretaccesskey"'),
    });
  });
});

describe('table', () => {
  test('is keyed by pk and sk, on demand, with point-in-time recovery and encryption', () => {
    const { template } = synth();
    template.hasResource('AWS::DynamoDB::Table', {
      Properties: {
        KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }, { AttributeName: 'sk', KeyType: 'RANGE' }],
        AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }, { AttributeName: 'sk', AttributeType: 'S' }],
        BillingMode: 'PAY_PER_REQUEST',
        PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
        SSESpecification: { SSEEnabled: true },
      },
      DeletionPolicy: 'Retain',
    });
  });

  test('expires the checkpoints of uploads whose message was dead-lettered (TTL on expiresAt)', () => {
    const { template } = synth();
    template.hasResourceProperties('AWS::DynamoDB::Table', {
      TimeToLiveSpecification: { AttributeName: 'expiresAt', Enabled: true },
    });
  });
});

describe('permissions', () => {
  const s3Statements = (statements: any[]) => statements.filter((s) => asArray(s.Action).some((a: string) => a.startsWith('s3:')));

  test('the replicator may only read the source bucket', () => {
    const { template, stack, construct } = synth();
    const statements = policyStatements(template, stack, construct.replicator);
    const bucketArn = { 'Fn::GetAtt': [logicalId(stack, construct.bucket), 'Arn'] };
    const reads = s3Statements(statements);
    expect(reads.length).toBeGreaterThan(0);
    for (const statement of reads) {
      expect(asArray(statement.Action).sort()).toEqual(['s3:GetBucket*', 's3:GetObject*', 's3:List*']);
      expect(asArray(statement.Resource)).toEqual([bucketArn, { 'Fn::Join': ['', [bucketArn, '/*']] }]);
    }
    const actions = statements.flatMap((s) => asArray(s.Action));
    expect(actions.filter((a: string) => /^s3:(Put|Delete|Restore|Replicate|\*)/.test(a))).toEqual([]);
  });

  test('with prefixes, the replicator may only read objects under them', () => {
    const { template, stack, construct } = synth({ prefixes: ['a/', 'b/'] });
    const bucketArn = { 'Fn::GetAtt': [logicalId(stack, construct.bucket), 'Arn'] };
    const objectResources = s3Statements(policyStatements(template, stack, construct.replicator))
      .flatMap((s) => asArray(s.Resource))
      .filter((r) => JSON.stringify(r) !== JSON.stringify(bucketArn));
    expect(objectResources).toEqual([
      { 'Fn::Join': ['', [bucketArn, '/a/*']] },
      { 'Fn::Join': ['', [bucketArn, '/b/*']] },
    ]);
  });

  test('the replicator reads the secret, uses the table and consumes the queue', () => {
    const { template, stack, construct } = synth();
    const statements = policyStatements(template, stack, construct.replicator);
    expect(statements).toEqual(expect.arrayContaining([
      expect.objectContaining({
        Action: ['secretsmanager:GetSecretValue', 'secretsmanager:DescribeSecret'],
        Resource: { Ref: logicalId(stack, construct.credentialsSecret) },
      }),
      expect.objectContaining({
        Action: expect.arrayContaining(['dynamodb:PutItem', 'dynamodb:GetItem', 'dynamodb:Query']),
        Resource: expect.arrayContaining([{ 'Fn::GetAtt': [logicalId(stack, construct.table), 'Arn'] }]),
      }),
      expect.objectContaining({
        Action: expect.arrayContaining(['sqs:ReceiveMessage', 'sqs:DeleteMessage']),
        Resource: { 'Fn::GetAtt': [logicalId(stack, construct.queue), 'Arn'] },
      }),
    ]));
  });

  test('the replicator may send to its own queue: a large copy queues its continuation', () => {
    const { template, stack, construct } = synth();
    expect(policyStatements(template, stack, construct.replicator)).toEqual(expect.arrayContaining([expect.objectContaining({
      Action: expect.arrayContaining(['sqs:SendMessage']),
      Resource: { 'Fn::GetAtt': [logicalId(stack, construct.queue), 'Arn'] },
    })]));
  });

  test('the replicator may send to the FIFO dead-letter queue and set retry delays on its queue', () => {
    const { template, stack, construct } = synth();
    const statements = policyStatements(template, stack, construct.replicator);
    expect(statements).toEqual(expect.arrayContaining([
      expect.objectContaining({
        Action: expect.arrayContaining(['sqs:SendMessage']),
        Resource: { 'Fn::GetAtt': [logicalId(stack, construct.deadLetterQueue), 'Arn'] },
      }),
      expect.objectContaining({
        Action: expect.arrayContaining(['sqs:ChangeMessageVisibility']),
        Resource: { 'Fn::GetAtt': [logicalId(stack, construct.queue), 'Arn'] },
      }),
    ]));
    // Sending is all it may do there: the dead-letter queue is read by people redriving it.
    const onDeadLetters = statements.filter((s) => JSON.stringify(s.Resource).includes(logicalId(stack, construct.deadLetterQueue)));
    expect(onDeadLetters.flatMap((s) => asArray(s.Action)).sort()).toEqual(['sqs:GetQueueAttributes', 'sqs:GetQueueUrl', 'sqs:SendMessage']);
  });

  test('the router may send to the FIFO queue and may not touch the bucket', () => {
    const { template, stack, construct } = synth();
    const statements = policyStatements(template, stack, construct.router);
    expect(statements).toEqual(expect.arrayContaining([expect.objectContaining({
      Action: expect.arrayContaining(['sqs:SendMessage']),
      Resource: { 'Fn::GetAtt': [logicalId(stack, construct.queue), 'Arn'] },
    })]));
    expect(s3Statements(statements)).toEqual([]);
  });
});

test('an alarm watches both dead-letter queues', () => {
  const { template, stack, construct } = synth();
  const queueName = (queue: { node: { defaultChild?: unknown } }) => ({
    Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [logicalId(stack, queue), 'QueueName'] } }],
    MetricName: 'ApproximateNumberOfMessagesVisible',
    Namespace: 'AWS/SQS',
  });
  template.hasResourceProperties('AWS::CloudWatch::Alarm', {
    ComparisonOperator: 'GreaterThanOrEqualToThreshold',
    Threshold: 1,
    EvaluationPeriods: 1,
    TreatMissingData: 'notBreaching',
    Metrics: Match.arrayWith([
      Match.objectLike({ Expression: 'FILL(fifoDlq, 0) + FILL(routerDlq, 0)' }),
      { Id: 'fifoDlq', MetricStat: { Metric: queueName(construct.deadLetterQueue), Period: 60, Stat: 'Maximum' }, ReturnData: false },
      { Id: 'routerDlq', MetricStat: { Metric: queueName(construct.routerDeadLetterQueue), Period: 60, Stat: 'Maximum' }, ReturnData: false },
    ]),
  });
});

test('snapshot of the default stack', () => {
  const { template } = synth();
  // The handler bundles are written by another task; their asset hashes are not part of this contract.
  const json = JSON.stringify(template.toJSON()).replace(/[0-9a-f]{64}\.zip/g, 'ASSET_HASH.zip');
  expect(JSON.parse(json)).toMatchSnapshot();
});

describe('partitions', () => {
  test.each<[string, Environment | undefined]>([
    ['aws-us-gov', { account: '111111111111', region: 'us-gov-west-1' }],
    ['aws-cn', { account: '111111111111', region: 'cn-north-1' }],
    ['environment-agnostic', undefined],
  ])('a stack in %s contains no commercial-partition ARN', (_name, env) => {
    const { template } = synth({ destinationRegion: 'us-east-1', prefixes: ['a/'] }, env);
    expect(JSON.stringify(template.toJSON())).not.toContain('arn:aws:');
  });
});

test('synthesis is deterministic', () => {
  const once = () => JSON.stringify(synth({ prefixes: ['a/'] }).template.toJSON());
  expect(once()).toEqual(once());
});

describe('cdk-nag', () => {
  test('AwsSolutions has no findings on the default construct', () => {
    expect(nagFindings(build().stack)).toEqual([]);
  });

  test('AwsSolutions has no findings with prefixes, an adopted bucket and an existing secret', () => {
    const app = new App();
    const stack = new Stack(app, 'Stack', { env: FIXED_ENV });
    const bucket = new s3.Bucket(stack, 'Mine', {
      versioned: true, enforceSSL: true, serverAccessLogsPrefix: 'logs/', blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
    });
    const secret = new secretsmanager.Secret(stack, 'Keys');
    NagSuppressions.addResourceSuppressions(secret, [{ id: 'AwsSolutions-SMG4', reason: 'Rotated by hand in this test' }]);
    new PartitionReplicatedBucket(stack, 'Replication', { ...REQUIRED, bucket, credentialsSecret: secret, prefixes: ['a/', 'b/'] });
    expect(nagFindings(stack)).toEqual([]);
  });

  test('AwsSolutions has no findings with an imported bucket', () => {
    const app = new App();
    const stack = new Stack(app, 'Stack', { env: { account: '111111111111', region: 'us-gov-west-1' } });
    const bucket = s3.Bucket.fromBucketName(stack, 'Imported', 'existing-source-bucket');
    new PartitionReplicatedBucket(stack, 'Replication', { ...REQUIRED, destinationRegion: 'us-east-1', bucket, prefixes: ['in/'] });
    expect(nagFindings(stack)).toEqual([]);
  });

  test('the metadata helper keeps suppressions added with cdk-nag', () => {
    const stack = new Stack();
    const bucket = new s3.Bucket(stack, 'Bucket');
    NagSuppressions.addResourceSuppressions(bucket, [{ id: 'AwsSolutions-S1', reason: 'Added through cdk-nag itself' }]);
    addNagSuppressions(bucket, [{ id: 'AwsSolutions-S10', reason: 'Added through the helper', appliesTo: ['finding'] }]);
    const cfnBucket = bucket.node.defaultChild as s3.CfnBucket;
    expect(cfnBucket.getMetadata('cdk_nag')).toEqual({
      rules_to_suppress: [
        { id: 'AwsSolutions-S1', reason: 'Added through cdk-nag itself' },
        { id: 'AwsSolutions-S10', reason: 'Added through the helper', applies_to: ['finding'] },
      ],
    });
  });
});

describe('validation', () => {
  const manyPrefixes = Array.from({ length: 11 }, (_, i) => `p${i}/`);
  test.each<[string, Partial<PartitionReplicatedBucketProps>, string | RegExp]>([
    ['bucket name too short', { destinationBucketName: 'ab' }, 'destinationBucketName "ab" must be 3 to 63 characters long'],
    ['bucket name with capitals', { destinationBucketName: 'My_Bucket' }, 'destinationBucketName "My_Bucket" may contain only lowercase letters'],
    ['bucket name ending in a hyphen', { destinationBucketName: 'bucket-' }, 'destinationBucketName "bucket-" must start and end with a lowercase letter or a digit'],
    ['bucket name with adjacent dots', { destinationBucketName: 'my..bucket' }, 'destinationBucketName "my..bucket" must not contain two adjacent dots'],
    ['bucket name like an IP address', { destinationBucketName: '192.168.10.20' }, 'destinationBucketName "192.168.10.20" must not be formatted as an IP address'],
    ['bucket name with the reserved prefix xn--', { destinationBucketName: 'xn--abc' },
      'destinationBucketName "xn--abc" must not start with the reserved prefix "xn--" or "sthree-"'],
    ['bucket name with the reserved prefix sthree-', { destinationBucketName: 'sthree-abc' },
      'destinationBucketName "sthree-abc" must not start with the reserved prefix "xn--" or "sthree-"'],
    ['bucket name with the reserved suffix -s3alias', { destinationBucketName: 'abc-s3alias' },
      'destinationBucketName "abc-s3alias" must not end with the reserved suffix "-s3alias" or "--ol-s3"'],
    ['bucket name with the reserved suffix --ol-s3', { destinationBucketName: 'abc--ol-s3' },
      'destinationBucketName "abc--ol-s3" must not end with the reserved suffix "-s3alias" or "--ol-s3"'],
    ['region without number', { destinationRegion: 'us-gov-west' }, 'destinationRegion "us-gov-west" is not a region name (for example "us-gov-west-1")'],
    ['unknown partition', { destinationPartition: 'aws-mars' }, 'destinationPartition "aws-mars" is not a known partition'],
    ['partition of another region', { destinationPartition: 'aws-cn' },
      'destinationPartition "aws-cn" does not match destinationRegion "us-gov-west-1", which is in partition "aws-us-gov"'],
    ['malformed KMS key ARN', { destinationKmsKeyArn: 'alias/replicas' }, 'destinationKmsKeyArn "alias/replicas" is not a KMS key or alias ARN'],
    ['KMS key of another partition', { destinationKmsKeyArn: 'arn:aws:kms:us-gov-west-1:222222222222:key/1234abcd-12ab-34cd-56ef-1234567890ab' },
      'destinationKmsKeyArn is in partition "aws" but the destination bucket is in partition "aws-us-gov"'],
    ['KMS key of another region', { destinationKmsKeyArn: 'arn:aws-us-gov:kms:us-gov-east-1:222222222222:key/1234abcd' },
      'destinationKmsKeyArn is in region "us-gov-east-1" but the destination bucket is in region "us-gov-west-1"'],
    ['endpoint that is not a URL', { destinationEndpoint: 's3.example.com' }, 'destinationEndpoint "s3.example.com" is not an http:// or https:// URL'],
    ['endpoint of another scheme', { destinationEndpoint: 'ftp://s3.example.com' }, 'destinationEndpoint "ftp://s3.example.com" is not an http:// or https:// URL'],
    ['endpoint with credentials', { destinationEndpoint: 'https://key:secret@s3.example.com' }, 'destinationEndpoint must not contain credentials'],
    ['STS endpoint that is not a URL', { destinationStsEndpoint: 'sts.example.com' }, 'destinationStsEndpoint "sts.example.com" is not an http:// or https:// URL'],
    ['plain-HTTP endpoint', { destinationEndpoint: 'http://s3.example.com' },
      'destinationEndpoint "http://s3.example.com" uses http://, which sends the replicas (and, for STS, session credentials) unencrypted: ' +
      'use an https:// URL, or set allowInsecureEndpoints: true for a local emulator or a test'],
    ['plain-HTTP STS endpoint', { destinationStsEndpoint: 'http://localhost:5000' },
      'destinationStsEndpoint "http://localhost:5000" uses http://'],
    ['destination account of 11 digits', { destinationAccount: '22222222222' },
      'destinationAccount "22222222222" is not an AWS account id: give the 12 digits of the account that owns the destination bucket'],
    ['destination account with dashes', { destinationAccount: '2222-2222-2222' }, 'destinationAccount "2222-2222-2222" is not an AWS account id'],
    ['plain-HTTP endpoint with allowInsecureEndpoints explicitly false', { destinationEndpoint: 'http://localhost:5000', allowInsecureEndpoints: false },
      'destinationEndpoint "http://localhost:5000" uses http://'],
    ['empty prefix', { prefixes: [''] }, 'prefixes must not contain an empty string'],
    ['duplicate prefix', { prefixes: ['a/', 'a/'] }, 'prefixes contains "a/" more than once'],
    ['too many prefixes', { prefixes: manyPrefixes }, 'prefixes has 11 entries; at most 10 are supported'],
    ['wildcard in a prefix', { prefixes: ['logs/*/'] }, 'prefixes entry "logs/*/" contains * or ?'],
    ['timeout too long', { replicatorTimeout: Duration.minutes(16) }, 'replicatorTimeout is 16 minutes; it must be a whole number of seconds between 30 seconds and 15 minutes'],
    ['timeout too short', { replicatorTimeout: Duration.millis(500) }, 'replicatorTimeout is 500 millis; it must be'],
    ['timeout within the hand-over reserve', { replicatorTimeout: Duration.seconds(15) },
      'replicatorTimeout is 15 seconds; it must be a whole number of seconds between 30 seconds and 15 minutes (every invocation keeps 15 s back to hand a large copy over'],
    ['timeout leaving less copy time than the reserve', { replicatorTimeout: Duration.seconds(29) }, 'replicatorTimeout is 29 seconds; it must be'],
    ['timeout not whole seconds', { replicatorTimeout: Duration.millis(1500) }, 'replicatorTimeout is 1 second 500 millis; it must be a whole number of seconds'],
    ['memory too small', { replicatorMemorySize: 64 }, 'replicatorMemorySize is 64; it must be a whole number between 128 and 10240 (MiB)'],
    ['memory too large', { replicatorMemorySize: 10241 }, 'replicatorMemorySize is 10241'],
    ['receive count zero', { maxReceiveCount: 0 }, 'maxReceiveCount is 0; it must be a whole number between 1 and 1000'],
    ['receive count too large', { maxReceiveCount: 1001 }, 'maxReceiveCount is 1001'],
    ['runtime of another language', { runtime: lambda.Runtime.PYTHON_3_12 },
      'runtime "python3.12" is not a Node.js runtime; the handlers are Node.js bundles (for example lambda.Runtime.NODEJS_22_X)'],
    ['runtime older than the bundles', { runtime: lambda.Runtime.NODEJS_20_X },
      'runtime "nodejs20.x" is older than the Node.js 22 the handlers are built for: use nodejs22.x or newer'],
  ])('%s', (_name, props, message) => {
    expect(() => build(props)).toThrow(`PartitionReplicatedBucket: ${message}`);
  });

  test('destinationAccount reaches the replicator and the backfill as the expected bucket owner', () => {
    const { template, stack, construct } = synth({ destinationAccount: '222222222222' });
    expect(functionEnvironment(template, stack, construct.replicator)).toMatchObject({ [ENV.destinationAccount]: '222222222222' });
    expect(functionEnvironment(template, stack, construct.backfill)).toMatchObject({ [ENV.destinationAccount]: '222222222222' });
  });

  test('allowInsecureEndpoints lets http:// endpoints (a local emulator) through to the environment', () => {
    const { template, stack, construct } = synth({
      destinationEndpoint: 'http://localhost:5001',
      destinationStsEndpoint: 'http://localhost:5001',
      allowInsecureEndpoints: true,
    });
    expect(functionEnvironment(template, stack, construct.replicator)).toMatchObject({
      [ENV.destinationEndpoint]: 'http://localhost:5001',
      [ENV.destinationStsEndpoint]: 'http://localhost:5001',
    });
  });

  test('the shortest accepted replicatorTimeout is twice the hand-over reserve', () => {
    const { template, stack, construct } = synth({ replicatorTimeout: Duration.seconds(2 * COPY_HANDOVER_RESERVE_SECONDS) });
    expect(template.toJSON().Resources[logicalId(stack, construct.replicator)].Properties).toMatchObject({ Timeout: 30 });
  });

  test('an unresolved (token) replicatorTimeout is rejected', () => {
    const stack = new Stack();
    const seconds = new CfnParameter(stack, 'Timeout', { type: 'Number' }).valueAsNumber;
    expect(() => new PartitionReplicatedBucket(stack, 'R', { ...REQUIRED, replicatorTimeout: Duration.seconds(seconds) }))
      .toThrow('PartitionReplicatedBucket: replicatorTimeout must be a concrete duration');
  });

  test('a token region needs an explicit partition', () => {
    const stack = new Stack();
    const region = new CfnParameter(stack, 'Region').valueAsString;
    expect(() => new PartitionReplicatedBucket(stack, 'R', { ...REQUIRED, destinationRegion: region }))
      .toThrow('PartitionReplicatedBucket: destinationRegion is a token, so the partition cannot be derived from it: set destinationPartition');
  });

  test('tokens are accepted where validation cannot see the value', () => {
    const stack = new Stack();
    const parameter = (id: string) => new CfnParameter(stack, id).valueAsString;
    const construct = new PartitionReplicatedBucket(stack, 'R', {
      destinationBucketName: parameter('Bucket'),
      destinationRegion: parameter('Region'),
      destinationPartition: 'aws-us-gov',
      destinationKmsKeyArn: parameter('Key'),
      destinationEndpoint: parameter('Endpoint'),
    });
    const template = Template.fromStack(stack);
    expect(functionEnvironment(template, stack, construct.replicator)).toMatchObject({
      [ENV.destinationBucket]: { Ref: 'Bucket' },
      [ENV.destinationRegion]: { Ref: 'Region' },
      [ENV.destinationPartition]: 'aws-us-gov',
    });
  });
});

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

  test('AwsSolutions has no findings with backfillOnDeploy', () => {
    expect(nagFindings(build({ backfillOnDeploy: BackfillMode.ALL_VERSIONS }).stack)).toEqual([]);
  });
});
