import { App, CfnParameter, Duration, Environment, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { DestinationReplicationUser, DestinationReplicationUserProps } from '../../src';
import { nagFindings } from '../support/nag-findings';

const FIXED_ENV: Environment = { account: '222222222222', region: 'us-gov-west-1' };
const ID = 'Destination';

/** What the replicator does at the destination, in the order the construct lists it. */
const WRITE_ACTIONS = [
  's3:PutObject',
  's3:AbortMultipartUpload',
  's3:PutObjectTagging',
  's3:PutObjectVersionTagging',
  's3:DeleteObjectVersionTagging',
  's3:DeleteObject',
];

type PropsFor = (stack: Stack) => Partial<DestinationReplicationUserProps>;

/** A stack in its own app with a versioned bucket and the construct; `props` may create resources in the stack. */
function build(props: Partial<DestinationReplicationUserProps> | PropsFor = {}, env: Environment | undefined = FIXED_ENV) {
  const app = new App();
  const stack = new Stack(app, 'Stack', { env });
  const bucket = new s3.Bucket(stack, 'Replicas', {
    versioned: true,
    enforceSSL: true,
    serverAccessLogsPrefix: 'logs/',
    blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
  });
  const extra = typeof props === 'function' ? props(stack) : props;
  const construct = new DestinationReplicationUser(stack, ID, { bucket, ...extra });
  return { app, stack, bucket, construct };
}

function synth(props: Partial<DestinationReplicationUserProps> | PropsFor = {}, env?: Environment) {
  const built = build(props, env);
  return { ...built, template: Template.fromStack(built.stack) };
}

/** A KMS key with rotation (so cdk-nag has nothing to say about the key itself). */
const withKey = (extra: Partial<DestinationReplicationUserProps> = {}): PropsFor =>
  (stack) => ({ kmsKey: new kms.Key(stack, 'ReplicaKey', { enableKeyRotation: true }), ...extra });

/** Every option at once, with `extra` on top. */
const everything = (extra: Partial<DestinationReplicationUserProps> = {}): PropsFor => withKey({
  prefixes: ['reports/', 'exports/2024/'],
  allowVersionDeletes: true,
  allowListing: true,
  userName: 'partition-replicator',
  path: '/replication/',
  createAccessKey: true,
  assumeRole: { externalId: 'replication-from-aws', roleName: 'partition-replication', maxSessionDuration: Duration.hours(2) },
  ...extra,
});
const EVERYTHING = everything();

/** The logical id of a construct's default CloudFormation resource. */
function logicalId(stack: Stack, scope: { node: { defaultChild?: unknown } }): string {
  return stack.getLogicalId(scope.node.defaultChild as never);
}

/** The one policy holding the replication rights, found by its logical id prefix. */
function rightsPolicy(template: Template): any {
  const policies = Object.entries(template.findResources('AWS::IAM::Policy'))
    .filter(([id]) => id.startsWith(`${ID}ReplicationRights`))
    .map(([, policy]) => policy);
  expect(policies).toHaveLength(1);
  return policies[0];
}

/** Every policy attached to the user (by the Users property of AWS::IAM::Policy). */
function userPolicies(template: Template, stack: Stack, construct: DestinationReplicationUser): any[] {
  return Object.values(template.findResources('AWS::IAM::Policy', {
    Properties: { Users: Match.arrayWith([{ Ref: logicalId(stack, construct.user) }]) },
  }));
}

/** Every statement of every IAM identity and trust policy in the template (not the bucket's own policy). */
function allStatements(template: Template): any[] {
  const resources = (Object.values(template.toJSON().Resources) as any[]).filter((resource) => resource.Type.startsWith('AWS::IAM::'));
  return resources.flatMap((resource) => [
    ...(resource.Properties?.PolicyDocument?.Statement ?? []),
    ...(resource.Properties?.AssumeRolePolicyDocument?.Statement ?? []),
    ...(resource.Properties?.Policies ?? []).flatMap((policy: any) => policy.PolicyDocument.Statement),
  ]);
}

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

const asArray = <T>(value: T | T[]): T[] => (Array.isArray(value) ? value : [value]);
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

describe('validation', () => {
  const manyPrefixes = Array.from({ length: 11 }, (_, i) => `p${i}/`);
  const role = (extra: object) => ({ assumeRole: { externalId: 'replication-from-aws', ...extra } });
  test.each<[string, Partial<DestinationReplicationUserProps> | PropsFor, string]>([
    ['empty prefix', { prefixes: [''] }, 'prefixes must not contain an empty string'],
    ['duplicate prefix', { prefixes: ['a/', 'a/'] }, 'prefixes contains "a/" more than once'],
    ['too many prefixes', { prefixes: manyPrefixes }, 'prefixes has 11 entries; at most 10 are supported'],
    ['wildcard in a prefix', { prefixes: ['logs/?/'] },
      'prefixes entry "logs/?/" contains * or ?, which IAM would read as a wildcard and so widen the replication user\'s write access'],
    ['prefix longer than a key', { prefixes: ['k'.repeat(1025)] },
      `prefixes entry "${'k'.repeat(40)}..." is longer than 1024 characters, the longest S3 key`],
    ['empty user name', { userName: '' }, 'userName "" must be 1 to 64 characters long'],
    ['user name too long', { userName: 'u'.repeat(65) }, `userName "${'u'.repeat(65)}" must be 1 to 64 characters long`],
    ['user name with a space', { userName: 'partition replicator' },
      'userName "partition replicator" may contain only letters, digits and the characters + = , . @ _ -'],
    ['path without a leading slash', { path: 'replication/' }, 'path "replication/" must start and end with a slash (/)'],
    ['path without a trailing slash', { path: '/replication' }, 'path "/replication" must start and end with a slash (/)'],
    ['path with a space', { path: '/my path/' }, 'path "/my path/" may contain only printable ASCII characters other than spaces'],
    ['path with nothing between the slashes', { path: '//' }, 'path "//" may contain only printable ASCII characters'],
    ['path too long', { path: `/${'p'.repeat(511)}/` }, 'path is 513 characters long; at most 512 are allowed'],
    ['key given by alias', (stack) => ({ kmsKey: new kms.Alias(stack, 'Alias', { aliasName: 'alias/replicas', targetKey: new kms.Key(stack, 'Key') }) }),
      'kmsKey is an alias; pass the key it points to'],
    ['key imported by alias name', (stack) => ({ kmsKey: kms.Alias.fromAliasName(stack, 'Alias', 'alias/replicas') }), 'kmsKey is an alias'],
    ['key imported by alias ARN', (stack) => ({ kmsKey: kms.Key.fromKeyArn(stack, 'Key', 'arn:aws-us-gov:kms:us-gov-west-1:222222222222:alias/replicas') }),
      'kmsKey has the ARN "arn:aws-us-gov:kms:us-gov-west-1:222222222222:alias/replicas"; it must be a key ARN'],
    ['external id too short', role({ externalId: 'x' }), 'assumeRole.externalId is 1 characters long; it must be 2 to 1224'],
    ['external id too long', role({ externalId: 'x'.repeat(1225) }), 'assumeRole.externalId is 1225 characters long; it must be 2 to 1224'],
    ['external id with a space', role({ externalId: 'from aws' }),
      'assumeRole.externalId may contain only letters, digits and the characters + = , . @ : / _ -'],
    ['role name with a slash', role({ roleName: 'team/replication' }), 'assumeRole.roleName "team/replication" may contain only letters'],
    ['role name too long', role({ roleName: 'r'.repeat(65) }), `assumeRole.roleName "${'r'.repeat(65)}" must be 1 to 64 characters long`],
    ['session shorter than an hour', role({ maxSessionDuration: Duration.minutes(30) }),
      'assumeRole.maxSessionDuration is 30 minutes; it must be a whole number of seconds between 1 hour and 12 hours'],
    ['session longer than 12 hours', role({ maxSessionDuration: Duration.hours(13) }), 'assumeRole.maxSessionDuration is 13 hours'],
    ['session not whole seconds', role({ maxSessionDuration: Duration.millis(3_600_500) }), 'assumeRole.maxSessionDuration is 1 hour 500 millis'],
  ])('%s', (_name, props, message) => {
    expect(() => build(props)).toThrow(`DestinationReplicationUser: ${message}`);
  });

  test('tokens are accepted where validation cannot see the value', () => {
    const { template } = synth((stack) => {
      const parameter = (id: string) => new CfnParameter(stack, id).valueAsString;
      return {
        prefixes: [parameter('Prefix')],
        userName: parameter('UserName'),
        path: parameter('Path'),
        assumeRole: { externalId: parameter('ExternalId'), roleName: parameter('RoleName') },
        createAccessKey: true,
      };
    });
    template.hasResourceProperties('AWS::IAM::User', { UserName: { Ref: 'UserName' }, Path: { Ref: 'Path' } });
    template.hasResourceProperties('AWS::IAM::Role', {
      RoleName: { Ref: 'RoleName' },
      AssumeRolePolicyDocument: { Statement: [Match.objectLike({ Condition: { StringEquals: { 'sts:ExternalId': { Ref: 'ExternalId' } } } })] },
    });
  });
});
