import { Annotations as CoreAnnotations, App, RemovalPolicy, Stack } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { PartitionReplicatedBucket } from '../../../src';
import { FIXED_ENV, REQUIRED, synth } from '../../support/replicated-bucket-stack';
import { logicalId } from '../../support/template-queries';

const IMPORTED_BUCKET_WARNING = 'cdk-partition-replicated-bucket:importedBucketPrerequisites';

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
