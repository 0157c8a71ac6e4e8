import { Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { DestinationReplicationUserProps } from '../../../src';
import { EVERYTHING, everything, PropsFor, rightsPolicy, synth, userPolicies, withKey } from '../../support/destination-user-stack';
import { asArray, logicalId } from '../../support/template-queries';

/** What the replicator does at the destination, in the order the construct lists it. */
const WRITE_ACTIONS = [
  's3:PutObject',
  's3:AbortMultipartUpload',
  's3:PutObjectTagging',
  's3:PutObjectVersionTagging',
  's3:DeleteObjectVersionTagging',
  's3:DeleteObject',
];

/** Every statement of every IAM identity and trust policy in the template (not the bucket's own policy). */
function allStatements(template: Template): any[] {
  const resources = (Object.values(template.toJSON().Resources) as any[]).filter((resource) => resource.Type.startsWith('AWS::IAM::'));
  return resources.flatMap((resource) => [
    ...(resource.Properties?.PolicyDocument?.Statement ?? []),
    ...(resource.Properties?.AssumeRolePolicyDocument?.Statement ?? []),
    ...(resource.Properties?.Policies ?? []).flatMap((policy: any) => policy.PolicyDocument.Statement),
  ]);
}

const bucketArnOf = (stack: Stack, bucket: s3.IBucket) => ({ 'Fn::GetAtt': [logicalId(stack, bucket), 'Arn'] });
const objectArn = (bucketArn: unknown, pattern: string) => ({ 'Fn::Join': ['', [bucketArn, `/${pattern}`]] });
/** The condition that keeps the S3 rights to buckets of the stack's account (FIXED_ENV's). */
const THIS_ACCOUNT = { StringEquals: { 's3:ResourceAccount': '222222222222' } };
/** The explicit Deny of writes with a customer-provided key (SSE-C), on the given object ARNs. */
const denyCustomerKeyWrites = (resource: unknown) => ({
  Sid: 'DenyCustomerKeyWrites',
  Effect: 'Deny',
  Action: 's3:PutObject',
  Resource: resource,
  Condition: { Null: { 's3:x-amz-server-side-encryption-customer-algorithm': 'false' } },
});


describe('rights', () => {
  test('by default the user may write, tag and delete-mark any object of the bucket, list a key\'s versions and uploads, and nothing more', () => {
    const { template, stack, bucket, construct } = synth();
    const policy = rightsPolicy(template);
    expect(policy.Properties.Users).toEqual([{ Ref: logicalId(stack, construct.user) }]);
    expect(policy.Properties.Roles).toBeUndefined();
    expect(policy.Properties.PolicyDocument.Statement).toEqual([{
      Sid: 'WriteReplicas',
      Effect: 'Allow',
      Action: WRITE_ACTIONS,
      Resource: objectArn(bucketArnOf(stack, bucket), '*'),
      Condition: THIS_ACCOUNT,
    }, {
      Sid: 'FindUnrecordedReplicas',
      Effect: 'Allow',
      Action: ['s3:ListBucketVersions', 's3:ListBucketMultipartUploads'],
      Resource: bucketArnOf(stack, bucket),
      Condition: THIS_ACCOUNT,
    }, denyCustomerKeyWrites(objectArn(bucketArnOf(stack, bucket), '*'))]);
    expect(userPolicies(template, stack, construct)).toEqual([policy]);
    template.hasResource('AWS::IAM::User', { Properties: Match.absent() });
    template.resourceCountIs('AWS::IAM::Role', 0);
    template.resourceCountIs('AWS::IAM::ManagedPolicy', 0);
    expect(construct.role).toBeUndefined();
  });

  test('allowVersionDeletes adds s3:DeleteObjectVersion and nothing else', () => {
    const { template } = synth({ allowVersionDeletes: true });
    expect(rightsPolicy(template).Properties.PolicyDocument.Statement[0].Action).toEqual([...WRITE_ACTIONS, 's3:DeleteObjectVersion']);
  });

  test('without allowVersionDeletes nothing may delete a version', () => {
    const { template } = synth(EVERYTHING);
    const { template: without } = synth(everything({ allowVersionDeletes: false }));
    expect(JSON.stringify(template.toJSON())).toContain('s3:DeleteObjectVersion"');
    const actions = allStatements(without).flatMap((s) => asArray(s.Action));
    expect(actions).not.toContain('s3:DeleteObjectVersion');
  });

  test('allowListing adds s3:ListBucket on the bucket, for listings under the prefixes only', () => {
    const { template, stack, bucket } = synth({ allowListing: true, prefixes: ['reports/', 'exports/2024/'] });
    expect(rightsPolicy(template).Properties.PolicyDocument.Statement[2]).toEqual({
      Sid: 'ListReplicas',
      Effect: 'Allow',
      Action: 's3:ListBucket',
      Resource: bucketArnOf(stack, bucket),
      Condition: { ...THIS_ACCOUNT, StringLike: { 's3:prefix': ['reports/*', 'exports/2024/*'] } },
    });
    const { template: everyKey } = synth({ allowListing: true });
    expect(rightsPolicy(everyKey).Properties.PolicyDocument.Statement[2].Condition).toEqual(THIS_ACCOUNT);
  });

  test('the version and upload listings that find an unrecorded replica are on the bucket, under the prefixes only', () => {
    const { template, stack, bucket } = synth({ prefixes: ['reports/', 'exports/2024/'] });
    expect(rightsPolicy(template).Properties.PolicyDocument.Statement[1]).toEqual({
      Sid: 'FindUnrecordedReplicas',
      Effect: 'Allow',
      Action: ['s3:ListBucketVersions', 's3:ListBucketMultipartUploads'],
      Resource: bucketArnOf(stack, bucket),
      Condition: { ...THIS_ACCOUNT, StringLike: { 's3:prefix': ['reports/*', 'exports/2024/*'] } },
    });
  });

  test('every S3 statement holds only for buckets of the stack\'s own account, by the stack\'s account token', () => {
    // An environment-agnostic stack: the account is AWS::AccountId, resolved at deployment.
    const { template } = synth(EVERYTHING, {});
    const s3Allows = rightsPolicy(template).Properties.PolicyDocument.Statement
      .filter((s: any) => s.Effect === 'Allow' && asArray(s.Action).some((action: string) => action.startsWith('s3:')));
    expect(s3Allows.map((s: any) => s.Sid)).toEqual(['WriteReplicas', 'FindUnrecordedReplicas', 'ListReplicas']);
    for (const statement of s3Allows) {
      expect(statement.Condition.StringEquals).toEqual({ 's3:ResourceAccount': { Ref: 'AWS::AccountId' } });
    }
  });

  test('writes with a customer-provided key (SSE-C) are explicitly denied, on every object the user may write', () => {
    const { template, stack, bucket } = synth(EVERYTHING);
    const statements = rightsPolicy(template).Properties.PolicyDocument.Statement;
    const bucketArn = bucketArnOf(stack, bucket);
    expect(statements.filter((s: any) => s.Effect === 'Deny'))
      .toEqual([denyCustomerKeyWrites([objectArn(bucketArn, 'reports/*'), objectArn(bucketArn, 'exports/2024/*')])]);
    expect(statements.find((s: any) => s.Sid === 'WriteReplicas').Resource).toEqual(statements.find((s: any) => s.Effect === 'Deny').Resource);
  });

  test('without allowListing nothing may list the bucket\'s current objects', () => {
    expect(JSON.stringify(synth(EVERYTHING).template.toJSON())).toContain('s3:ListBucket"');
    const actions = allStatements(synth(everything({ allowListing: false })).template).flatMap((s) => asArray(s.Action));
    expect(actions.filter((action: string) => action.startsWith('s3:List'))).toEqual(['s3:ListBucketVersions', 's3:ListBucketMultipartUploads']);
  });

  test('with prefixes, the rights cover only objects under them', () => {
    const { template, stack, bucket } = synth({ prefixes: ['reports/', 'exports/2024/'] });
    const bucketArn = bucketArnOf(stack, bucket);
    expect(rightsPolicy(template).Properties.PolicyDocument.Statement[0].Resource).toEqual([
      objectArn(bucketArn, 'reports/*'),
      objectArn(bucketArn, 'exports/2024/*'),
    ]);
  });

  test('an imported bucket is addressed by its partition-neutral object ARN', () => {
    const { template } = synth((stack) => ({ bucket: s3.Bucket.fromBucketName(stack, 'Imported', 'replica-bucket') }));
    expect(rightsPolicy(template).Properties.PolicyDocument.Statement[0].Resource).toEqual({
      'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':s3:::replica-bucket/*']],
    });
  });

  test.each<[string, Partial<DestinationReplicationUserProps> | PropsFor]>([
    ['the default', {}],
    ['every option but allowListing', everything({ allowListing: false })],
  ])('with %s, nothing reads an object, the bucket itself is only listed by key, no action is a wildcard and no resource is *', (_name, props) => {
    const { template, stack, bucket } = synth(props);
    const statements = allStatements(template);
    const actions = statements.flatMap((s) => asArray(s.Action ?? []));
    expect(actions.length).toBeGreaterThan(0);
    expect(actions.filter((action: string) => action.includes('*'))).toEqual([]);
    expect(actions.filter((action: string) => /^s3:Get/.test(action))).toEqual([]);
    const resources = statements.flatMap((s) => asArray(s.Resource ?? []));
    expect(resources).not.toContainEqual('*');
    expect(statements.filter((s) => s.NotAction || s.NotResource)).toEqual([]);
    // The bucket ARN is a resource only of the key listings that find an unrecorded replica.
    expect(statements.filter((s) => asArray(s.Resource ?? []).some((r) => JSON.stringify(r) === JSON.stringify(bucketArnOf(stack, bucket))))
      .map((s) => s.Sid)).toEqual(['FindUnrecordedReplicas']);
  });

  test('with a KMS key, it may generate data keys and decrypt for this bucket only', () => {
    const { template, stack, bucket } = synth(withKey({ prefixes: ['reports/'] }));
    const bucketArn = bucketArnOf(stack, bucket);
    const keyArn = { 'Fn::GetAtt': [logicalId(stack, stack.node.findChild('ReplicaKey') as kms.Key), 'Arn'] };
    expect(rightsPolicy(template).Properties.PolicyDocument.Statement).toEqual([
      expect.objectContaining({ Sid: 'WriteReplicas', Resource: objectArn(bucketArn, 'reports/*') }),
      expect.objectContaining({ Sid: 'FindUnrecordedReplicas' }),
      {
        Sid: 'EncryptReplicas',
        Effect: 'Allow',
        Action: ['kms:GenerateDataKey', 'kms:Decrypt'],
        Resource: keyArn,
        Condition: { StringLike: { 'kms:EncryptionContext:aws:s3:arn': [bucketArn, objectArn(bucketArn, 'reports/*')] } },
      },
      expect.objectContaining({ Sid: 'DenyCustomerKeyWrites' }),
    ]);
  });

  test('without a KMS key there are no KMS rights', () => {
    const { template } = synth();
    expect(allStatements(template).flatMap((s) => asArray(s.Action)).filter((a: string) => a.startsWith('kms:'))).toEqual([]);
  });

  test('policyDocument is the document of the attached policy', () => {
    const { template, stack, construct } = synth(EVERYTHING);
    expect(stack.resolve(construct.policyDocument.toJSON())).toEqual(rightsPolicy(template).Properties.PolicyDocument);
  });

  test('userName and path are passed to the user', () => {
    const { template } = synth({ userName: 'partition-replicator', path: '/replication/' });
    template.hasResourceProperties('AWS::IAM::User', { UserName: 'partition-replicator', Path: '/replication/' });
  });
});
