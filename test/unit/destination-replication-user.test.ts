import { Duration, Environment } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { DestinationReplicationUserProps } from '../../src';
import { build, EVERYTHING, everything, PropsFor, rightsPolicy, synth, userPolicies, withKey } from '../support/destination-user-stack';
import { nagFindings } from '../support/nag-findings';
import { asArray, logicalId } from '../support/template-queries';

// The identity, its access key and the whole template; the rights are tested in
// private/destination-user-rights.test.ts, the validation in private/destination-user-validation.test.ts.

/** A CloudFormation string with references written as `<Id>` and `<Id.Attr>`. */
function flatten(value: any): string {
  if (typeof value === 'string') return value;
  if (value.Ref) return `<${value.Ref}>`;
  if (value['Fn::GetAtt']) return `<${value['Fn::GetAtt'].join('.')}>`;
  const [delimiter, parts] = value['Fn::Join'];
  return parts.map(flatten).join(delimiter);
}

/** The SecretString of the access key secret as JSON, with references flattened. */
function secretJson(template: Template): Record<string, string> {
  const secrets = Object.values(template.findResources('AWS::SecretsManager::Secret')) as any[];
  expect(secrets).toHaveLength(1);
  return JSON.parse(flatten(secrets[0].Properties.SecretString));
}


describe('assume-role mode', () => {
  const ROLE = { assumeRole: { externalId: 'replication-from-aws' } };

  test('the user may only assume the one role', () => {
    const { template, stack, construct } = synth(withKey(ROLE));
    const policies = userPolicies(template, stack, construct);
    expect(policies).toHaveLength(1);
    expect(policies[0].Properties.PolicyDocument.Statement).toEqual([{
      Sid: 'AssumeReplicationRole',
      Effect: 'Allow',
      Action: 'sts:AssumeRole',
      Resource: { 'Fn::GetAtt': [logicalId(stack, construct.role!), 'Arn'] },
    }]);
    template.hasResource('AWS::IAM::User', { Properties: Match.absent() });
  });

  test('the role trusts only the user, with the external id, for one hour by default', () => {
    const { template, stack, construct } = synth(ROLE);
    const role = template.toJSON().Resources[logicalId(stack, construct.role!)];
    expect(role.Properties.AssumeRolePolicyDocument.Statement).toEqual([{
      Effect: 'Allow',
      Action: 'sts:AssumeRole',
      Principal: { AWS: { 'Fn::GetAtt': [logicalId(stack, construct.user), 'Arn'] } },
      Condition: { StringEquals: { 'sts:ExternalId': 'replication-from-aws' } },
    }]);
    expect(role.Properties.MaxSessionDuration).toBe(3600);
    expect(role.Properties.RoleName).toBeUndefined();
    expect(role.Properties.ManagedPolicyArns).toBeUndefined();
  });

  test('roleName and maxSessionDuration are passed to the role', () => {
    const { template } = synth({ assumeRole: { externalId: 'x1', roleName: 'partition-replication', maxSessionDuration: Duration.hours(12) } });
    template.hasResourceProperties('AWS::IAM::Role', { RoleName: 'partition-replication', MaxSessionDuration: 43200 });
  });

  test('the rights are on the role, not on the user', () => {
    const { template, stack, construct } = synth(withKey({ ...ROLE, allowVersionDeletes: true }));
    const policy = rightsPolicy(template);
    expect(policy.Properties.Roles).toEqual([{ Ref: logicalId(stack, construct.role!) }]);
    expect(policy.Properties.Users).toBeUndefined();
    expect(policy.Properties.PolicyDocument.Statement.map((s: any) => s.Sid)).toEqual(['WriteReplicas', 'FindUnrecordedReplicas', 'EncryptReplicas', 'DenyCustomerKeyWrites']);
    const userActions = userPolicies(template, stack, construct).flatMap((p) => p.Properties.PolicyDocument.Statement)
      .flatMap((s: any) => asArray(s.Action));
    expect(userActions).toEqual(['sts:AssumeRole']);
  });
});

describe('access key', () => {
  test('is not created by default', () => {
    const { template, construct } = synth();
    template.resourceCountIs('AWS::IAM::AccessKey', 0);
    template.resourceCountIs('AWS::SecretsManager::Secret', 0);
    expect(construct.accessKeySecret).toBeUndefined();
  });

  test('is created for the user and stored in the JSON shape of the source secret', () => {
    const { template, stack, construct } = synth({ createAccessKey: true });
    const userId = logicalId(stack, construct.user);
    const keyId = Object.keys(template.findResources('AWS::IAM::AccessKey', { Properties: { UserName: { Ref: userId } } }));
    expect(keyId).toHaveLength(1);
    expect(secretJson(template)).toEqual({
      user: `<${userId}>`,
      accesskey: `<${keyId[0]}>`,
      secretaccesskey: `<${keyId[0]}.SecretAccessKey>`,
      partition: '<AWS::Partition>',
      accountid: '<AWS::AccountId>',
    });
    expect(construct.accessKeySecret).toBeDefined();
    expect(logicalId(stack, construct.accessKeySecret!)).toEqual(Object.keys(template.findResources('AWS::SecretsManager::Secret'))[0]);
  });

  test('in assume-role mode the secret also names the role and the external id', () => {
    const { template, stack, construct } = synth({ createAccessKey: true, assumeRole: { externalId: 'replication-from-aws' } });
    expect(secretJson(template)).toEqual(expect.objectContaining({
      rolearn: `<${logicalId(stack, construct.role!)}.Arn>`,
      externalid: 'replication-from-aws',
    }));
    expect(Object.keys(secretJson(template)).sort()).toEqual(['accesskey', 'accountid', 'externalid', 'partition', 'rolearn', 'secretaccesskey', 'user']);
  });

  test('the template holds references to the key, never key material', () => {
    const { template } = synth(EVERYTHING);
    const secret = Object.values(template.findResources('AWS::SecretsManager::Secret'))[0] as any;
    const [, parts] = secret.Properties.SecretString['Fn::Join'];
    const keyId = Object.keys(template.findResources('AWS::IAM::AccessKey'))[0];
    expect(parts).toContainEqual({ 'Fn::GetAtt': [keyId, 'SecretAccessKey'] });
    expect(parts).toContainEqual({ Ref: keyId });
    expect(secret.Properties.GenerateSecretString).toBeUndefined();
    const text = JSON.stringify(template.toJSON());
    expect(text).not.toMatch(/\b(AKIA|ASIA)[A-Z0-9]{16}\b/);
    expect(text).not.toMatch(/\b[A-Za-z0-9/+]{40}\b/);
  });
});

test('snapshot with every option', () => {
  const { template } = synth(EVERYTHING);
  expect(template.toJSON()).toMatchSnapshot();
});

describe('partitions', () => {
  test.each<[string, Environment | undefined]>([
    ['aws-us-gov', { account: '222222222222', region: 'us-gov-west-1' }],
    ['aws-cn', { account: '222222222222', region: 'cn-north-1' }],
    ['environment-agnostic', undefined],
  ])('a stack in %s contains no commercial-partition ARN', (_name, env) => {
    const { template } = synth(EVERYTHING, env);
    expect(JSON.stringify(template.toJSON())).not.toContain('arn:aws:');
  });

  test('with an imported bucket and key, no commercial-partition ARN either', () => {
    const { template } = synth((stack) => ({
      bucket: s3.Bucket.fromBucketName(stack, 'Imported', 'replica-bucket'),
      kmsKey: kms.Key.fromKeyArn(stack, 'ImportedKey', stack.formatArn({ service: 'kms', resource: 'key', resourceName: '1234abcd-12ab-34cd-56ef-1234567890ab' })),
      createAccessKey: true,
    }), { account: '222222222222', region: 'cn-north-1' });
    expect(JSON.stringify(template.toJSON())).not.toContain('arn:aws:');
  });
});

describe('cdk-nag', () => {
  test.each<[string, Partial<DestinationReplicationUserProps> | PropsFor]>([
    ['the default construct', {}],
    ['every option but allowListing', everything({ allowListing: false })],
    ['an access key without a role', withKey({ createAccessKey: true })],
    ['an imported bucket with prefixes', (stack) => ({ bucket: s3.Bucket.fromBucketName(stack, 'Imported', 'replica-bucket'), prefixes: ['in/'] })],
  ])('AwsSolutions has no findings with %s', (_name, props) => {
    expect(nagFindings(build(props).stack)).toEqual([]);
  });

  test('the suppressions name only the object wildcards and the access key secret, never IAM4', () => {
    const { template, stack, bucket } = synth(EVERYTHING);
    const suppressions = Object.values(template.toJSON().Resources)
      .flatMap((resource: any) => resource.Metadata?.cdk_nag?.rules_to_suppress ?? []);
    expect(suppressions.map((s: any) => s.id).sort()).toEqual(['AwsSolutions-IAM5', 'AwsSolutions-SMG4']);
    const bucketId = logicalId(stack, bucket);
    expect(suppressions.find((s: any) => s.id === 'AwsSolutions-IAM5').applies_to)
      .toEqual([`Resource::<${bucketId}.Arn>/reports/*`, `Resource::<${bucketId}.Arn>/exports/2024/*`]);
  });
});
