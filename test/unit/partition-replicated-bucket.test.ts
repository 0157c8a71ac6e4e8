import { App, ArnFormat, Duration, Environment, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { PartitionReplicatedBucket } from '../../src';
import { ENV } from '../../src/runtime/contract/replication-environment';
import { FIXED_ENV, REQUIRED, synth } from '../support/replicated-bucket-stack';
import { asArray, functionEnvironment, logicalId, policyStatements } from '../support/template-queries';

// The construct's own wiring (rule, queues, functions, table, permissions) and its one snapshot;
// its parts are tested next to theirs under private/ (source bucket, backfill, monitoring, cdk-nag,
// props validation, handler functions).

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

  test('the replicator consumes the FIFO queue in batches of 10 with partial batch responses, at most 20 at once', () => {
    const { template, stack, construct } = synth();
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      EventSourceArn: { 'Fn::GetAtt': [logicalId(stack, construct.queue), 'Arn'] },
      FunctionName: { Ref: logicalId(stack, construct.replicator) },
      BatchSize: 10,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      ScalingConfig: { MaximumConcurrency: 20 },
    });
  });

  test('maxConcurrency bounds the replicator\'s event source', () => {
    const { template, stack, construct } = synth({ maxConcurrency: 200 });
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      FunctionName: { Ref: logicalId(stack, construct.replicator) },
      ScalingConfig: { MaximumConcurrency: 200 },
    });
  });

  test('the router has no reserved concurrency unless asked, then exactly that', () => {
    const routerOf = (built: ReturnType<typeof synth>) =>
      built.template.toJSON().Resources[logicalId(built.stack, built.construct.router)].Properties;
    expect(routerOf(synth()).ReservedConcurrentExecutions).toBeUndefined();
    expect(routerOf(synth({ routerReservedConcurrency: 5 })).ReservedConcurrentExecutions).toBe(5);
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

describe('metric methods', () => {
  const { stack, construct } = synth();
  /** What a metric is: namespace, name, resolved dimensions, statistic, unit and period in minutes. */
  const described = (metric: cloudwatch.Metric) => ({
    namespace: metric.namespace,
    metricName: metric.metricName,
    dimensions: stack.resolve(metric.dimensions),
    statistic: metric.statistic,
    unit: metric.unit,
    periodMinutes: metric.period.toMinutes(),
  });
  const handlerMetric = (metricName: string, statistic: string, unit: string | undefined, service = 'replicator') => ({
    namespace: 'PartitionReplicatedBucket',
    metricName,
    dimensions: { service, SourceBucket: { Ref: logicalId(stack, construct.bucket) }, DestinationBucket: 'dest-bucket', DestinationPartition: 'aws-us-gov' },
    statistic,
    unit,
    periodMinutes: 5,
  });
  const queueMetric = (metricName: string) => ({
    namespace: 'AWS/SQS',
    metricName,
    dimensions: { QueueName: { 'Fn::GetAtt': [logicalId(stack, construct.queue), 'QueueName'] } },
    statistic: 'Maximum',
    unit: undefined,
    periodMinutes: 1,
  });

  test.each([
    ['metricReplicationLatency', 'ReplicationLatency', 'Maximum', 'Milliseconds'],
    ['metricObjectsReplicated', 'ObjectsReplicated', 'Sum', 'Count'],
    ['metricBytesReplicated', 'BytesReplicated', 'Sum', 'Bytes'],
    ['metricReplicationFailures', 'ReplicationFailures', 'Sum', 'Count'],
  ] as const)('%s: the replicator\'s %s in this replication\'s dimensions, %s, %s', (method, metricName, statistic, unit) => {
    expect(described(construct[method]())).toEqual(handlerMetric(metricName, statistic, unit));
  });

  test.each([
    ['metricOldestPendingAge', 'ApproximateAgeOfOldestMessage'],
    ['metricPendingOperations', 'ApproximateNumberOfMessagesVisible'],
  ] as const)('%s: the replication queue\'s %s, Maximum over a minute', (method, metricName) => {
    expect(described(construct[method]())).toEqual(queueMetric(metricName));
  });

  test('options override the defaults, as in aws-cdk-lib\'s metric methods', () => {
    const metric = construct.metricReplicationLatency({ statistic: 'p99', period: Duration.minutes(1), label: 'p99 latency' });
    expect(metric.statistic).toBe('p99');
    expect(metric.period.toMinutes()).toBe(1);
    expect(metric.label).toBe('p99 latency');
    expect(construct.metricPendingOperations({ statistic: 'Average' }).statistic).toBe('Average');
  });

  test('metric() reaches every other metric by name, under the handler that publishes it', () => {
    expect(described(construct.metric('StaleEventsSkipped'))).toEqual(handlerMetric('StaleEventsSkipped', 'Sum', 'Count'));
    expect(described(construct.metric('DeadLettersRedriven'))).toEqual(handlerMetric('DeadLettersRedriven', 'Sum', 'Count', 'backfill'));
  });

  test('metric() refuses a name the handlers never publish, and lists the ones they do', () => {
    expect(() => construct.metric('ObjectsReplicatd')).toThrow(
      /PartitionReplicatedBucket.metric: "ObjectsReplicatd" is not a metric of this construct; use one of ReplicationLatency, ObjectsReplicated,/);
  });

  test('two replications in one stack have metrics of their own', () => {
    const second = new PartitionReplicatedBucket(stack, 'Second', { ...REQUIRED, destinationBucketName: 'other-dest' });
    expect(stack.resolve(second.metricObjectsReplicated().dimensions)).not.toEqual(stack.resolve(construct.metricObjectsReplicated().dimensions));
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
