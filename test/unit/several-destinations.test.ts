import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { PartitionReplicatedBucket } from '../../src';
import { nagFindings } from '../support/nag-findings';
import { FIXED_ENV } from '../support/replicated-bucket-stack';
import { logicalId } from '../support/template-queries';

/**
 * One source bucket of the app replicated into two partitions by two constructs that adopt it,
 * each with its own queue, table, secret, rule and functions. The destination buckets have the
 * same name (bucket names are unique per partition only), the worst case for metric dimensions.
 */
function twoDestinations() {
  const app = new App();
  const stack = new Stack(app, 'Stack', { env: FIXED_ENV });
  const bucket = new s3.Bucket(stack, 'Data', {
    versioned: true, enforceSSL: true, serverAccessLogsPrefix: 'logs/', blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
  });
  const govCloud = new PartitionReplicatedBucket(stack, 'ToGovCloud', { bucket, destinationBucketName: 'replica', destinationRegion: 'us-gov-west-1' });
  const china = new PartitionReplicatedBucket(stack, 'ToChina', { bucket, destinationBucketName: 'replica', destinationRegion: 'cn-north-1' });
  return { stack, bucket, govCloud, china };
}

describe('two constructs adopting one bucket, for two destination partitions', () => {
  const { stack, bucket, govCloud, china } = twoDestinations();
  const template = Template.fromStack(stack);
  const resources = template.toJSON().Resources as Record<string, { Type: string; Properties?: Record<string, any> }>;
  const ofType = (type: string) => Object.values(resources).filter((resource) => resource.Type === type);

  test('each has its own queues, table, secret, rule and functions', () => {
    // FIFO queue and its dead-letter queue, the router's dead-letter queue, the backfill queue: per construct.
    expect(ofType('AWS::SQS::Queue').length).toBe(2 * 4);
    template.resourceCountIs('AWS::DynamoDB::Table', 2);
    template.resourceCountIs('AWS::SecretsManager::Secret', 2);
    template.resourceCountIs('AWS::Events::Rule', 2);
    for (const construct of [govCloud, china]) {
      expect(logicalId(stack, construct.queue)).toMatch(new RegExp(`^${construct.node.id}`));
      expect(logicalId(stack, construct.table)).toMatch(new RegExp(`^${construct.node.id}`));
    }
    expect(new Set([govCloud.queue, govCloud.table, govCloud.replicator, govCloud.credentialsSecret].map((each) => each.node.path)))
      .not.toContain(china.queue.node.path);
  });

  test('no physical name is hard-coded, so none can collide', () => {
    const named = Object.entries(resources).flatMap(([id, resource]) =>
      ['QueueName', 'TableName', 'FunctionName', 'Name', 'RuleName', 'DashboardName', 'AlarmName', 'LogGroupName']
        .filter((property) => typeof resource.Properties?.[property] === 'string')
        .map((property) => `${id}.${property} = ${resource.Properties![property]}`));
    expect(named).toEqual([]);
  });

  test('both rules send the same bucket\'s events, each to its own router', () => {
    const rules = ofType('AWS::Events::Rule');
    for (const rule of rules) expect(rule.Properties!.EventPattern.detail.bucket.name).toEqual([{ Ref: logicalId(stack, bucket) }]);
    const targets = rules.map((rule) => JSON.stringify(rule.Properties!.Targets[0].Arn));
    expect(new Set(targets).size).toBe(2);
  });

  test('EventBridge notifications are switched on once, and the bucket keeps one policy', () => {
    template.resourceCountIs('Custom::S3BucketNotifications', 1);
    template.hasResourceProperties('Custom::S3BucketNotifications', {
      BucketName: { Ref: logicalId(stack, bucket) },
      NotificationConfiguration: { EventBridgeConfiguration: {} },
    });
    // One policy on the source bucket (each construct has its own report bucket, with its own policy).
    const onSource = ofType('AWS::S3::BucketPolicy').filter((policy) => policy.Properties!.Bucket.Ref === logicalId(stack, bucket));
    expect(onSource.length).toBe(1);
    expect(ofType('AWS::S3::BucketPolicy').length).toBe(3);
  });

  test('each replicator reads the bucket and writes to its own destination partition', () => {
    const environments = ofType('AWS::Lambda::Function')
      .map((fn) => fn.Properties!.Environment?.Variables ?? {})
      .filter((variables) => variables.REPLICATE_TAGS !== undefined);
    expect(environments.map((variables) => [variables.DESTINATION_BUCKET_NAME, variables.DESTINATION_REGION, variables.DESTINATION_PARTITION]).sort())
      .toEqual([['replica', 'cn-north-1', 'aws-cn'], ['replica', 'us-gov-west-1', 'aws-us-gov']]);
    for (const variables of environments) expect(variables.SOURCE_BUCKET_NAME).toEqual({ Ref: logicalId(stack, bucket) });
  });

  test('their metrics never share dimensions, although both destination buckets are named "replica"', () => {
    const dimensions = [govCloud, china].map((construct) => stack.resolve(construct.metricObjectsReplicated().dimensions));
    expect(dimensions[0]).not.toEqual(dimensions[1]);
    expect(dimensions.map((each) => each.DestinationPartition).sort()).toEqual(['aws-cn', 'aws-us-gov']);
    // The alarms watch their own replication's metrics.
    const alarmDimensions = ofType('AWS::CloudWatch::Alarm')
      .flatMap((alarm) => JSON.stringify(alarm.Properties!.Dimensions ?? alarm.Properties!.Metrics ?? []))
      .filter((text) => text.includes('DestinationPartition'));
    expect(alarmDimensions.some((text) => text.includes('aws-cn'))).toBe(true);
    expect(alarmDimensions.some((text) => text.includes('aws-us-gov'))).toBe(true);
  });

  test('AwsSolutions (cdk-nag) has no findings', () => {
    const built = twoDestinations();
    expect(nagFindings(built.stack)).toEqual([]);
  });
});

test('a stack with both constructs still matches the props checks: the bucket must be versioned', () => {
  const app = new App();
  const stack = new Stack(app, 'Stack', { env: FIXED_ENV });
  const bucket = new s3.Bucket(stack, 'Data');
  new PartitionReplicatedBucket(stack, 'ToGovCloud', { bucket, destinationBucketName: 'replica', destinationRegion: 'us-gov-west-1' });
  new PartitionReplicatedBucket(stack, 'ToChina', { bucket, destinationBucketName: 'replica', destinationRegion: 'cn-north-1' });
  expect(() => app.synth()).toThrow(/not versioned/);
});
