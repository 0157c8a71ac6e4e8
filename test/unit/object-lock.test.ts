import { App, CfnParameter, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { PartitionReplicatedBucket, PartitionReplicatedBucketProps } from '../../src';
import { ENV } from '../../src/runtime/contract/replication-environment';
import { synth as synthDestination, rightsPolicy } from '../support/destination-user-stack';
import { nagFindings } from '../support/nag-findings';
import { FIXED_ENV, REQUIRED } from '../support/replicated-bucket-stack';
import { asArray, functionEnvironment, logicalId, policyStatements } from '../support/template-queries';
import { thrownBy } from '../support/thrown-by';

// Object Lock on both sides, in the templates: `replicateObjectLock` (its default from the source
// bucket, its validation, the replicator's grants and environment) and `allowObjectLock` of the
// destination user. The behaviour is in test/emulated/runtime/replication/object-lock.test.ts.

type BucketKind = 'created' | 'locked' | 'unlocked' | 'imported';

/** A source stack whose construct replicates a bucket of the given kind. */
function sourceStack(kind: BucketKind, props: Partial<PartitionReplicatedBucketProps> = {}) {
  const stack = new Stack(new App(), 'Stack', { env: FIXED_ENV });
  const bucket = kind === 'created' ? undefined
    : kind === 'imported' ? s3.Bucket.fromBucketName(stack, 'Imported', 'existing-source')
      : new s3.Bucket(stack, 'Source', {
        versioned: true,
        objectLockEnabled: kind === 'locked',
        // What cdk-nag asks of a bucket, so that its findings are the construct's only.
        enforceSSL: true,
        serverAccessLogsPrefix: 'logs/',
        blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      });
  const construct = new PartitionReplicatedBucket(stack, 'Replication', { ...REQUIRED, bucket, ...props });
  return { stack, construct, template: Template.fromStack(stack) };
}

/** The replicator's statements that grant reading Object Lock, and whether its environment turns it on. */
function lockSettings(built: ReturnType<typeof sourceStack>) {
  const { template, stack, construct } = built;
  const statements = policyStatements(template, stack, construct.replicator)
    .filter((s) => asArray(s.Action).some((a: string) => /Retention|LegalHold/.test(a)));
  return { statements, env: functionEnvironment(template, stack, construct.replicator)[ENV.replicateObjectLock] };
}

describe('replicateObjectLock: its default', () => {
  test('on for a bucket of the app with Object Lock', () => {
    const { statements, env } = lockSettings(sourceStack('locked'));
    expect(env).toBe('true');
    expect(statements).toHaveLength(1);
  });

  test.each<BucketKind>(['created', 'unlocked', 'imported'])('off for a %s bucket: no grant, nothing in the environment', (kind) => {
    expect(lockSettings(sourceStack(kind))).toEqual({ statements: [], env: undefined });
  });

  test('an imported bucket: on when set', () => {
    expect(lockSettings(sourceStack('imported', { replicateObjectLock: true })).env).toBe('true');
  });

  test('off when set false, even for a bucket with Object Lock', () => {
    expect(lockSettings(sourceStack('locked', { replicateObjectLock: false }))).toEqual({ statements: [], env: undefined });
  });

  test('Object Lock set through the L1 (objectLockConfiguration) counts too', () => {
    const stack = new Stack(new App(), 'Stack', { env: FIXED_ENV });
    const bucket = new s3.Bucket(stack, 'Source', { versioned: true });
    (bucket.node.defaultChild as s3.CfnBucket).objectLockConfiguration = { objectLockEnabled: 'Enabled' };
    const construct = new PartitionReplicatedBucket(stack, 'Replication', { ...REQUIRED, bucket });
    expect(functionEnvironment(Template.fromStack(stack), stack, construct.replicator)[ENV.replicateObjectLock]).toBe('true');
  });

  test('a token for objectLockEnabled is not guessed: off unless set, and true is accepted', () => {
    const stack = new Stack(new App(), 'Stack', { env: FIXED_ENV });
    const bucket = new s3.Bucket(stack, 'Source', { versioned: true });
    (bucket.node.defaultChild as s3.CfnBucket).objectLockEnabled = new CfnParameter(stack, 'Lock', { type: 'String' }).valueAsString as unknown as boolean;
    const construct = new PartitionReplicatedBucket(stack, 'Replication', { ...REQUIRED, bucket, replicateObjectLock: true });
    expect(functionEnvironment(Template.fromStack(stack), stack, construct.replicator)[ENV.replicateObjectLock]).toBe('true');
  });
});

describe('replicateObjectLock: validation', () => {
  test('true with a bucket of the app without Object Lock fails synthesis, naming the prop and the bucket', () => {
    expect(thrownBy(() => sourceStack('unlocked', { replicateObjectLock: true })).message).toBe(
      'PartitionReplicatedBucket: replicateObjectLock is true, but the source bucket Stack/Source has no Object Lock: ' +
      'create it with objectLockEnabled: true, or leave replicateObjectLock unset');
  });

  test('true with the bucket the construct creates fails synthesis, saying to pass a bucket with Object Lock', () => {
    expect(thrownBy(() => sourceStack('created', { replicateObjectLock: true })).message)
      .toMatch(/^PartitionReplicatedBucket: replicateObjectLock is true, but the bucket this construct creates has no Object Lock: pass `bucket`, created with objectLockEnabled: true/);
  });
});

describe('replicateObjectLock: grants at the source', () => {
  test('s3:GetObjectRetention and s3:GetObjectLegalHold on the source objects, scoped like the reads', () => {
    const built = sourceStack('locked', { prefixes: ['a/', 'b/'] });
    const bucketArn = { 'Fn::GetAtt': [logicalId(built.stack, built.construct.bucket), 'Arn'] };
    expect(lockSettings(built).statements).toEqual([{
      Effect: 'Allow',
      Action: ['s3:GetObjectRetention', 's3:GetObjectLegalHold'],
      Resource: [{ 'Fn::Join': ['', [bucketArn, '/a/*']] }, { 'Fn::Join': ['', [bucketArn, '/b/*']] }],
    }]);
  });

  test('no cdk-nag findings with it', () => {
    expect(nagFindings(sourceStack('locked', { prefixes: ['a/'] }).stack)).toEqual([]);
    expect(nagFindings(sourceStack('imported', { replicateObjectLock: true }).stack)).toEqual([]);
  });
});

describe('allowObjectLock of DestinationReplicationUser', () => {
  test('grants s3:PutObjectRetention and s3:PutObjectLegalHold on the object ARNs, in this account only', () => {
    const { template, stack, bucket } = synthDestination({ allowObjectLock: true, prefixes: ['reports/'] });
    const statements = rightsPolicy(template).Properties.PolicyDocument.Statement;
    const lock = statements.find((s: any) => s.Sid === 'LockReplicas');
    const bucketArn = { 'Fn::GetAtt': [logicalId(stack, bucket), 'Arn'] };
    expect(lock).toEqual({
      Sid: 'LockReplicas',
      Effect: 'Allow',
      Action: ['s3:PutObjectRetention', 's3:PutObjectLegalHold'],
      Resource: { 'Fn::Join': ['', [bucketArn, '/reports/*']] },
      Condition: { StringEquals: { 's3:ResourceAccount': '222222222222' } },
    });
  });

  test('without it (the default), no Object Lock right at all', () => {
    const { template } = synthDestination({});
    const actions = rightsPolicy(template).Properties.PolicyDocument.Statement.flatMap((s: any) => asArray(s.Action));
    expect(actions.filter((a: string) => /Retention|LegalHold|BypassGovernance/.test(a))).toEqual([]);
  });

  test('no cdk-nag findings with it', () => {
    expect(nagFindings(synthDestination({ allowObjectLock: true, prefixes: ['reports/'] }).stack)).toEqual([]);
  });
});
