import { App, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { PartitionReplicatedBucket, PartitionReplicatedBucketProps } from '../../../src';
import { ENV } from '../../../src/runtime/contract/replication-environment';
import { nagFindings } from '../../support/nag-findings';
import { FIXED_ENV, REQUIRED } from '../../support/replicated-bucket-stack';
import { asArray, functionEnvironment, logicalId, policyStatements } from '../../support/template-queries';

// Source buckets encrypted with a customer managed KMS key (SSE-KMS): the replicator reads objects,
// so it needs kms:Decrypt on the key; the backfill only lists versions and needs no key.

const KEY_ARN = 'arn:aws:kms:us-east-1:111111111111:key/1234abcd-12ab-34cd-56ef-1234567890ab';

function replication(source: (stack: Stack) => Partial<PartitionReplicatedBucketProps>) {
  const stack = new Stack(new App(), 'Stack', { env: FIXED_ENV });
  const construct = new PartitionReplicatedBucket(stack, 'Replication', { ...REQUIRED, ...source(stack) });
  const template = Template.fromStack(stack);
  const kmsStatements = (fn: Parameters<typeof policyStatements>[2]) =>
    policyStatements(template, stack, fn).filter((statement) => asArray(statement.Action).some((action: string) => action.startsWith('kms:')));
  return { stack, construct, template, kmsStatements };
}

test('an imported bucket with sourceKmsKey: the replicator may decrypt with that key, and only that key; the backfill may not', () => {
  const { construct, kmsStatements } = replication((stack) => ({
    bucket: s3.Bucket.fromBucketName(stack, 'Source', 'existing-bucket'),
    sourceKmsKey: kms.Key.fromKeyArn(stack, 'SourceKey', KEY_ARN),
  }));

  expect(kmsStatements(construct.replicator)).toEqual([{ Effect: 'Allow', Action: 'kms:Decrypt', Resource: KEY_ARN }]);
  expect(kmsStatements(construct.backfill)).toEqual([]);
  expect(kmsStatements(construct.router)).toEqual([]);
});

test('an adopted bucket of the app encrypted with its own KMS key: the key is taken from the bucket, granted through the role policy', () => {
  const { stack, construct, template, kmsStatements } = replication((scope) => ({
    bucket: new s3.Bucket(scope, 'Source', { versioned: true, encryption: s3.BucketEncryption.KMS }),
  }));
  const key = (construct.bucket as s3.Bucket).encryptionKey!;
  const keyRef = { 'Fn::GetAtt': [logicalId(stack, key), 'Arn'] };

  expect(kmsStatements(construct.backfill)).toEqual([]);
  expect(kmsStatements(construct.replicator)).toEqual([{ Effect: 'Allow', Action: ['kms:Decrypt', 'kms:DescribeKey'], Resource: keyRef }]);
  // A key of the same account: its default key policy lets the account's IAM policies grant its use.
  template.hasResourceProperties('AWS::KMS::Key', {
    KeyPolicy: { Statement: [{ Action: 'kms:*', Effect: 'Allow', Principal: { AWS: Match.anyValue() }, Resource: '*' }] },
  });
});

test('an imported bucket with its encryptionKey needs no sourceKmsKey', () => {
  const { construct, kmsStatements } = replication((stack) => ({
    bucket: s3.Bucket.fromBucketAttributes(stack, 'Source', { bucketName: 'existing-bucket', encryptionKey: kms.Key.fromKeyArn(stack, 'Key', KEY_ARN) }),
  }));

  expect(kmsStatements(construct.replicator)).toEqual([{ Effect: 'Allow', Action: ['kms:Decrypt', 'kms:DescribeKey'], Resource: KEY_ARN }]);
});

test('sourceKmsKey is granted besides the bucket\'s own key', () => {
  const { construct, kmsStatements } = replication((stack) => ({
    bucket: s3.Bucket.fromBucketAttributes(stack, 'Source', {
      bucketName: 'existing-bucket',
      encryptionKey: kms.Key.fromKeyArn(stack, 'OldKey', 'arn:aws:kms:us-east-1:111111111111:key/00000000-0000-0000-0000-000000000000'),
    }),
    sourceKmsKey: kms.Key.fromKeyArn(stack, 'SourceKey', KEY_ARN),
  }));

  expect(kmsStatements(construct.replicator).map((statement) => statement.Resource)).toEqual([
    'arn:aws:kms:us-east-1:111111111111:key/00000000-0000-0000-0000-000000000000', KEY_ARN,
  ]);
});

test('an imported bucket without a key (S3-managed encryption): no KMS rights at all', () => {
  const { construct, kmsStatements } = replication((stack) => ({ bucket: s3.Bucket.fromBucketName(stack, 'Source', 'existing-bucket') }));

  expect(kmsStatements(construct.replicator)).toEqual([]);
  expect(kmsStatements(construct.backfill)).toEqual([]);
});

test('the KMS grant adds no cdk-nag finding', () => {
  const { stack } = replication((scope) => ({
    bucket: s3.Bucket.fromBucketName(scope, 'Source', 'existing-bucket'),
    sourceKmsKey: kms.Key.fromKeyArn(scope, 'SourceKey', KEY_ARN),
  }));
  const without = replication((scope) => ({ bucket: s3.Bucket.fromBucketName(scope, 'Source', 'existing-bucket') }));
  expect(nagFindings(stack)).toEqual(nagFindings(without.stack));
});

test('destinationBucketKeyEnabled reaches the replicator\'s environment; unset, the variable is left out', () => {
  const withKey = replication(() => ({ destinationKmsKeyArn: 'arn:aws-us-gov:kms:us-gov-west-1:222222222222:alias/replicas', destinationBucketKeyEnabled: true }));
  expect(functionEnvironment(withKey.template, withKey.stack, withKey.construct.replicator)).toMatchObject({ [ENV.destinationBucketKeyEnabled]: 'true' });
  const without = replication(() => ({ destinationKmsKeyArn: 'arn:aws-us-gov:kms:us-gov-west-1:222222222222:alias/replicas' }));
  expect(functionEnvironment(without.template, without.stack, without.construct.replicator)).not.toHaveProperty(ENV.destinationBucketKeyEnabled);
});
