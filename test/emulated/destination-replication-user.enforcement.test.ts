import { CreateAccessKeyCommand, CreateUserCommand, DeleteAccessKeyCommand, PutUserPolicyCommand, UpdateAccessKeyCommand } from '@aws-sdk/client-iam';
import {
  DeleteObjectCommand, GetObjectCommand, ListObjectsV2Command, PutObjectCommand, PutObjectLegalHoldCommand, PutObjectLockConfigurationCommand,
} from '@aws-sdk/client-s3';
import { CreateSecretCommand } from '@aws-sdk/client-secrets-manager';
import { STSClient } from '@aws-sdk/client-sts';
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { DestinationReplicationUser, DestinationReplicationUserProps } from '../../src';
import { BackfillDriver } from './emulators/backfill-driver';
import { captureOutput } from '../support/capture-output';
import { AccessKey, DESTINATION_PARTITION, DESTINATION_REGION, destinationS3 } from './emulators/partitions';
import { FixtureOptions, ReplicationFixture } from './emulators/replication-fixture';
import { requestsDuring } from './emulators/request-counter';
import { attachedPolicies, logicalIdOf, resolve, ResolutionContext } from './emulators/template-policies';

// The destination side's least privilege, proven: the policies of DestinationReplicationUser are
// taken from its synthesized template (never retyped), installed in the destination partition's
// IAM (moto, enforced) and used by the real replicator for the whole scenario; then the denials.

const ACCOUNT = '123456789012';
const PREFIX = 'data/';

/**
 * moto 5.2.5 passes no condition keys of an S3 request to its policy engine, so here:
 * - `s3:ResourceAccount` (StringEquals) on the Allow statements is skipped (no value to compare)
 *   and lets the request through: that the rights stop at the stack's account is proven on the
 *   template only (destination-replication-user.test.ts), not here;
 * - a Deny whose action and resource match denies whatever its condition (moto ignores `Null`),
 *   so the SSE-C Deny (`s3:x-amz-server-side-encryption-customer-algorithm` present) would deny
 *   every PutObject. It is taken out before the policies are installed, checked to be exactly that
 *   one statement, and proven on the template only.
 */
const CONDITIONAL_DENIES_MOTO_CANNOT_EVALUATE = ['DenyCustomerKeyWrites'];

function withoutConditionalDenies(policies: Record<string, object>): Record<string, object> {
  const removed: string[] = [];
  const kept = Object.fromEntries(Object.entries(policies).map(([name, document]) => {
    const { Statement: statements, ...rest } = document as { Statement: { Sid?: string; Effect: string; Condition?: object }[] };
    const [denies, others] = [statements.filter((s) => s.Effect === 'Deny' && s.Condition), statements.filter((s) => !(s.Effect === 'Deny' && s.Condition))];
    removed.push(...denies.map((s) => s.Sid ?? '(no sid)'));
    return [name, { ...rest, Statement: others }];
  }));
  expect(removed).toEqual(CONDITIONAL_DENIES_MOTO_CANNOT_EVALUATE);
  return kept;
}

/** Synthesizes the destination stack and installs its user (and role) in the emulated destination partition. */
async function installFromTemplate(fixture: ReplicationFixture, props: Omit<DestinationReplicationUserProps, 'bucket'>) {
  const userName = `${fixture.id}-least`;
  const stack = new Stack(new App(), 'Destination', { env: { account: ACCOUNT, region: DESTINATION_REGION } });
  new DestinationReplicationUser(stack, 'Replication', {
    bucket: s3.Bucket.fromBucketName(stack, 'Replica', fixture.destinationBucket),
    userName,
    ...props,
    assumeRole: props.assumeRole ? { ...props.assumeRole, roleName: `${userName}-role` } : undefined,
  });
  const template = Template.fromStack(stack).toJSON();
  const userId = logicalIdOf(template, 'AWS::IAM::User');
  const context: ResolutionContext = {
    partition: DESTINATION_PARTITION,
    region: DESTINATION_REGION,
    accountId: ACCOUNT,
    resources: {
      [userId]: { Ref: userName, Arn: `arn:${DESTINATION_PARTITION}:iam::${ACCOUNT}:user/${userName}` },
      ...(props.assumeRole ? {
        [logicalIdOf(template, 'AWS::IAM::Role')]: { Ref: `${userName}-role`, Arn: `arn:${DESTINATION_PARTITION}:iam::${ACCOUNT}:role/${userName}-role` },
      } : {}),
    },
  };
  const role = props.assumeRole ? (() => {
    const roleId = logicalIdOf(template, 'AWS::IAM::Role');
    return {
      trustPolicy: resolve(template.Resources[roleId].Properties.AssumeRolePolicyDocument, context) as object,
      policies: withoutConditionalDenies(attachedPolicies(template, { roles: roleId }, context)),
      externalId: props.assumeRole.externalId,
    };
  })() : undefined;
  const userPolicies = attachedPolicies(template, { users: userId }, context);
  return fixture.installDestinationIdentity('least', { userPolicies: role ? userPolicies : withoutConditionalDenies(userPolicies), role });
}

/** Create, overwrite, tags, multipart, tag change, delete marker and (when allowed) a version delete. */
async function runScenario(fixture: ReplicationFixture, withVersionDelete: boolean) {
  const { events } = fixture;
  const v1 = await events.put(`${PREFIX}report.csv`, 'v1', { Tagging: 'team=a' });
  const v2 = await events.put(`${PREFIX}report.csv`, 'v2', { ContentType: 'text/csv' });
  const result = await fixture.replicate([
    v1, v2,
    await events.put(`${PREFIX}large.bin`, Buffer.alloc(17 * 1024 * 1024, 3)),
    await events.tag(`${PREFIX}report.csv`, v2.detail.object['version-id'] as string, [{ Key: 'state', Value: 'final' }]),
    await events.put(`${PREFIX}deleted.txt`, 'x'),
    await events.deleteMarker(`${PREFIX}deleted.txt`),
    ...(withVersionDelete ? [await events.deleteVersion(`${PREFIX}report.csv`, v1.detail.object['version-id'] as string)] : []),
  ]);
  expect(result).toEqual({ processed: withVersionDelete ? 7 : 6, failures: 0 });
  expect(await fixture.destinationObject(`${PREFIX}report.csv`)).toMatchObject({ body: Buffer.from('v2'), tags: { state: 'final' } });
  expect((await fixture.destinationObject(`${PREFIX}large.bin`))?.body.length).toBe(17 * 1024 * 1024);
  expect(await fixture.destinationObject(`${PREFIX}deleted.txt`)).toBeUndefined();
  expect((await fixture.destinationVersions(`${PREFIX}report.csv`)).versions).toHaveLength(withVersionDelete ? 1 : 2);
}

const fixtureFor = (options: FixtureOptions = {}) => ReplicationFixture.create({ prefixes: [PREFIX], ...options });
const denied = { name: 'AccessDenied' };

describe.each([false, true])('allowVersionDeletes=%s', (allowVersionDeletes) => {
  test('the synthesized policy is enough for the whole scenario', async () => {
    const fixture = await fixtureFor({ replicateVersionDeletes: allowVersionDeletes });
    await installFromTemplate(fixture, { prefixes: [PREFIX], allowVersionDeletes });
    await runScenario(fixture, allowVersionDeletes);
  });
});

test('denials: outside the prefixes, another bucket, version deletes when not allowed, any read', async () => {
  const fixture = await fixtureFor();
  const other = await fixtureFor();
  const { key } = await installFromTemplate(fixture, { prefixes: [PREFIX] });
  const client = destinationS3(fixture.emulators.destinationEndpoint, key);
  const replicated = await fixture.events.put(`${PREFIX}kept.txt`, 'kept');
  await fixture.replicate([replicated]);
  const replica = await fixture.destinationObject(`${PREFIX}kept.txt`);

  await expect(client.send(new PutObjectCommand({ Bucket: fixture.destinationBucket, Key: 'elsewhere/x.txt', Body: 'x' }))).rejects.toMatchObject(denied);
  await expect(client.send(new PutObjectCommand({ Bucket: other.destinationBucket, Key: `${PREFIX}x.txt`, Body: 'x' }))).rejects.toMatchObject(denied);
  await expect(client.send(new DeleteObjectCommand({
    Bucket: fixture.destinationBucket, Key: `${PREFIX}kept.txt`, VersionId: replica!.versionId,
  }))).rejects.toMatchObject(denied);
  await expect(client.send(new GetObjectCommand({ Bucket: other.destinationBucket, Key: `${PREFIX}x.txt` }))).rejects.toMatchObject(denied);
  await expect(client.send(new GetObjectCommand({ Bucket: fixture.destinationBucket, Key: `${PREFIX}kept.txt` }))).rejects.toMatchObject(denied);
  // The replica survived the attempted version delete.
  expect((await fixture.destinationObject(`${PREFIX}kept.txt`))?.body.toString()).toBe('kept');
});

test('allowListing: a reconcile lists the destination and heals a lost replica; no listing of another bucket, no reads', async () => {
  const fixture = await fixtureFor();
  const other = await fixtureFor();
  const { key } = await installFromTemplate(fixture, { prefixes: [PREFIX], allowListing: true });
  await fixture.replicate([await fixture.events.put(`${PREFIX}kept.txt`, 'kept'), await fixture.events.put(`${PREFIX}lost.txt`, 'lost')]);
  await fixture.adminS3.send(new DeleteObjectCommand({ Bucket: fixture.destinationBucket, Key: `${PREFIX}lost.txt` }));

  const driver = await BackfillDriver.create(fixture);
  const runId = await driver.start('reconcile');
  await driver.drive();
  expect((await driver.report(runId)).summary).toMatchObject({ enqueued: 1, outcomes: { 'replicated': 1, 'already-present': 1, 'failed': 0 } });
  expect((await fixture.destinationObject(`${PREFIX}lost.txt`))?.body.toString()).toBe('lost');

  const client = destinationS3(fixture.emulators.destinationEndpoint, key);
  // moto does not evaluate the s3:prefix condition (it allows a listing under any prefix), so the
  // restriction to the prefixes is asserted on the template (destination-replication-user.test.ts).
  await expect(client.send(new ListObjectsV2Command({ Bucket: other.destinationBucket, Prefix: PREFIX }))).rejects.toMatchObject(denied);
  await expect(client.send(new GetObjectCommand({ Bucket: fixture.destinationBucket, Key: `${PREFIX}kept.txt` }))).rejects.toMatchObject(denied);
});

test('allowObjectLock: a locked version replicates with its retention and legal hold; lock calls outside the prefixes are refused', async () => {
  // Object Lock on both buckets (moto lets an empty versioned bucket turn it on), and the replicator
  // with replicateObjectLock, as the construct sets it for a source bucket with Object Lock.
  const fixture = await fixtureFor();
  for (const [client, bucket] of [[fixture.sourceS3, fixture.sourceBucket], [fixture.adminS3, fixture.destinationBucket]] as const) {
    await client.send(new PutObjectLockConfigurationCommand({ Bucket: bucket, ObjectLockConfiguration: { ObjectLockEnabled: 'Enabled' } }));
  }
  fixture.settings = { ...fixture.settings, replicateObjectLock: true };
  fixture.useSourceIdentity(fixture.emulators.sourceAdmin);
  const { key } = await installFromTemplate(fixture, { prefixes: [PREFIX], allowObjectLock: true });
  const until = new Date(Math.floor(Date.now() / 1000) * 1000 + 24 * 3600 * 1000);
  const created = await fixture.events.put(`${PREFIX}locked.txt`, 'locked', {
    ObjectLockMode: 'GOVERNANCE', ObjectLockRetainUntilDate: until, ObjectLockLegalHoldStatus: 'ON',
  });
  expect(await fixture.replicate([created])).toEqual({ processed: 1, failures: 0 });
  const replica = await fixture.destinationObject(`${PREFIX}locked.txt`);
  const head = await fixture.headDestination(`${PREFIX}locked.txt`, replica!.versionId!);
  expect([head.ObjectLockMode, head.ObjectLockRetainUntilDate, head.ObjectLockLegalHoldStatus]).toEqual(['GOVERNANCE', until, 'ON']);

  // Outside the prefixes the lock rights do not reach. (moto 5.2.5 authorizes a PUT with lock
  // headers, and PutObjectRetention itself, as s3:PutObject: that S3 refuses them without
  // allowObjectLock, which grants s3:PutObjectRetention and s3:PutObjectLegalHold, is asserted on
  // the template only, in test/unit/object-lock.test.ts.)
  const client = destinationS3(fixture.emulators.destinationEndpoint, key);
  await expect(client.send(new PutObjectLegalHoldCommand({
    Bucket: fixture.destinationBucket, Key: 'elsewhere/x.txt', LegalHold: { Status: 'ON' },
  }))).rejects.toMatchObject(denied);
});

test('reconcileCredentialsSecret: a reconcile heals a lost replica with a key that may only list', async () => {
  const fixture = await fixtureFor();
  await installFromTemplate(fixture, { prefixes: [PREFIX] });
  await fixture.replicate([await fixture.events.put(`${PREFIX}kept.txt`, 'kept'), await fixture.events.put(`${PREFIX}lost.txt`, 'lost')]);
  await fixture.adminS3.send(new DeleteObjectCommand({ Bucket: fixture.destinationBucket, Key: `${PREFIX}lost.txt` }));

  // A second destination user that may only list the bucket, and its key in a second source secret.
  const listerName = `${fixture.id}-lister`;
  await fixture.iam.send(new CreateUserCommand({ UserName: listerName }));
  await fixture.iam.send(new PutUserPolicyCommand({
    UserName: listerName,
    PolicyName: 'list-only',
    PolicyDocument: JSON.stringify({
      Version: '2012-10-17',
      Statement: [{ Effect: 'Allow', Action: 's3:ListBucket', Resource: `arn:${DESTINATION_PARTITION}:s3:::${fixture.destinationBucket}` }],
    }),
  }));
  const { AccessKey: created } = await fixture.iam.send(new CreateAccessKeyCommand({ UserName: listerName }));
  const listKey = { accessKeyId: created!.AccessKeyId!, secretAccessKey: created!.SecretAccessKey! };
  const listSecret = await fixture.secretsManager.send(new CreateSecretCommand({
    Name: `${fixture.id}/reconcile-credentials`,
    SecretString: JSON.stringify({ ...fixture.secretFor(listKey), user: listerName }),
  }));
  // What the construct sets with reconcileCredentialsSecret: the backfill's secret is the list-only
  // one; the replicator (built before this) keeps the write key.
  fixture.settings = { ...fixture.settings, credentialsSecretId: listSecret.ARN! };

  const driver = await BackfillDriver.create(fixture);
  const runId = await driver.start('reconcile');
  await driver.drive();
  expect((await driver.report(runId)).summary).toMatchObject({ enqueued: 1, outcomes: { 'replicated': 1, 'already-present': 1, 'failed': 0 } });
  expect((await fixture.destinationObject(`${PREFIX}lost.txt`))?.body.toString()).toBe('lost');

  const lister = destinationS3(fixture.emulators.destinationEndpoint, listKey);
  await expect(lister.send(new PutObjectCommand({ Bucket: fixture.destinationBucket, Key: `${PREFIX}x.txt`, Body: 'x' }))).rejects.toMatchObject(denied);
});

test('rotation: a new key mid-stream, the old one disabled and deleted; nothing is lost and nothing is redeployed', async () => {
  const fixture = await fixtureFor();
  const { userName, key: oldKey } = await installFromTemplate(fixture, { prefixes: [PREFIX] });
  const before = [];
  for (let i = 0; i < 3; i++) before.push(await fixture.events.put(`${PREFIX}before-${i}.txt`, `b${i}`));
  await fixture.replicate(before);

  // The runbook: second key, secret updated, old key deactivated, then deleted.
  const newKey: AccessKey = await fixture.createDestinationKey(userName);
  await fixture.putSecret({ ...fixture.secretFor(newKey), user: userName });
  await fixture.iam.send(new UpdateAccessKeyCommand({ UserName: userName, AccessKeyId: oldKey.accessKeyId, Status: 'Inactive' }));
  await fixture.iam.send(new DeleteAccessKeyCommand({ UserName: userName, AccessKeyId: oldKey.accessKeyId }));
  const after = [];
  for (let i = 0; i < 3; i++) after.push(await fixture.events.put(`${PREFIX}after-${i}.txt`, `a${i}`));
  const result = await fixture.replicate(after);

  expect(result).toEqual({ processed: 3, failures: 0 });
  for (let i = 0; i < 3; i++) {
    expect((await fixture.destinationObject(`${PREFIX}before-${i}.txt`))?.body.toString()).toBe(`b${i}`);
    expect((await fixture.destinationObject(`${PREFIX}after-${i}.txt`))?.body.toString()).toBe(`a${i}`);
  }
});

describe('assume-role mode', () => {
  test('the scenario runs with short-lived role sessions; the user alone can do nothing but assume the role', async () => {
    const fixture = await fixtureFor({ replicateVersionDeletes: true });
    const { key } = await installFromTemplate(fixture, { prefixes: [PREFIX], allowVersionDeletes: true, assumeRole: { externalId: 'replication-ext-id' } });
    await runScenario(fixture, true);

    const userOnly = destinationS3(fixture.emulators.destinationEndpoint, key);
    await expect(userOnly.send(new PutObjectCommand({ Bucket: fixture.destinationBucket, Key: `${PREFIX}direct.txt`, Body: 'x' })))
      .rejects.toMatchObject(denied);
  });

  test('a wrong external id is refused by the role\'s trust policy, with an error naming the role', async () => {
    const fixture = await fixtureFor({ logLevel: 'ERROR' });
    const { userName, key, roleArn } = await installFromTemplate(fixture, { prefixes: [PREFIX], assumeRole: { externalId: 'the-right-one' } });
    await fixture.putSecret({ ...fixture.secretFor(key), user: userName, rolearn: roleArn!, externalid: 'a-wrong-one' });
    const created = await fixture.events.put(`${PREFIX}refused.txt`, 'x');
    const { result, lines } = await captureOutput(() => fixture.replicate([created], { allowDeadLetters: true }));

    expect(result.deadLettered).toHaveLength(1);
    expect(lines.join('\n')).toContain(`could not assume role ${roleArn} in the destination partition (AccessDenied)`);
    expect(await fixture.destinationObject(`${PREFIX}refused.txt`)).toBeUndefined();
  });

  /**
   * A replicator in assume-role mode on `clock`, with a role session cached by one replication and
   * its user's key deleted since: from then on only the cached session can replicate.
   */
  async function cachedSessionWithoutUserKey(clock: { now: number }) {
    const fixture = await fixtureFor({ clock: () => clock.now });
    const { userName, key } = await installFromTemplate(fixture, { prefixes: [PREFIX], assumeRole: { externalId: 'ext' } });
    await fixture.replicate([await fixture.events.put(`${PREFIX}1.txt`, '1')]);
    await fixture.iam.send(new DeleteAccessKeyCommand({ UserName: userName, AccessKeyId: key.accessKeyId }));
    return { fixture, userName };
  }

  test('a session is reused until shortly before it expires, then renewed', async () => {
    const clock = { now: Date.now() };
    const { fixture, userName } = await cachedSessionWithoutUserKey(clock);
    expect(await fixture.replicate([await fixture.events.put(`${PREFIX}2.txt`, '2')])).toEqual({ processed: 1, failures: 0 });

    // 56 minutes later the one-hour session is within its renewal margin: renewing needs the key.
    clock.now += 56 * 60 * 1000;
    const third = await fixture.events.put(`${PREFIX}3.txt`, '3');
    const failed = await fixture.replicate([third], { allowDeadLetters: true });
    expect(failed.deadLettered).toHaveLength(1);

    // With a valid key in the secret, the renewed session replicates again.
    const newKey = await fixture.createDestinationKey(userName);
    const secret = { ...fixture.secretFor(newKey), user: userName };
    await fixture.putSecret({ ...secret, rolearn: `arn:${DESTINATION_PARTITION}:iam::${ACCOUNT}:role/${userName}-role`, externalid: 'ext' });
    expect(await fixture.replicate([third])).toEqual({ processed: 1, failures: 0 });
    expect((await fixture.destinationObject(`${PREFIX}3.txt`))?.body.toString()).toBe('3');
  });

  test('a session is still reused 54 minutes in, outside the five-minute renewal margin', async () => {
    const clock = { now: Date.now() };
    const { fixture } = await cachedSessionWithoutUserKey(clock);

    clock.now += 54 * 60 * 1000;
    const second = await fixture.events.put(`${PREFIX}2.txt`, '2');
    let result: unknown;
    const requests = await requestsDuring({ sts: STSClient }, [], async () => {
      result = await fixture.replicate([second]);
    });

    expect(result).toEqual({ processed: 1, failures: 0 });
    expect(requests).toEqual({});
    expect((await fixture.destinationObject(`${PREFIX}2.txt`))?.body.toString()).toBe('2');
  });
});
