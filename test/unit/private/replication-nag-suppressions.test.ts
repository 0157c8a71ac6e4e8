import { App, Stack } from 'aws-cdk-lib';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { NagSuppressions } from 'cdk-nag';
import { PartitionReplicatedBucket } from '../../../src';
import { nagFindings } from '../../support/nag-findings';
import { FIXED_ENV, REQUIRED, build } from '../../support/replicated-bucket-stack';

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
});
