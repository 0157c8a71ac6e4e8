import { DeleteAccessKeyCommand, ListAccessKeysCommand } from '@aws-sdk/client-iam';
import { ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { AssumeRoleCommandOutput, STSClient } from '@aws-sdk/client-sts';
import { listDestinationRange } from '../../../../src/runtime/backfill/destination-listing';
import { EVERY_KEY } from '../../../../src/runtime/contract/replication-scope';
import { destinationClientsFor } from '../../../../src/runtime/destination/destination-client';
import { captureOutput } from '../../../support/capture-output';
import { FaultProxy } from '../../emulators/fault-proxy';
import { DESTINATION_PARTITION, emulators, sourceClientConfig } from '../../emulators/partitions';
import { ReplicationFixture } from '../../emulators/replication-fixture';
import { retriesWithoutWaits } from '../../emulators/retry-pacing';

// Credentials against the destination partition, where moto enforces IAM authentication.

/** The error messages the replicator logged. */
function loggedErrors(lines: string[]): string[] {
  return lines
    .filter((line) => line.includes('"level":"ERROR"'))
    .map((line) => (JSON.parse(line) as { error: { message: string } }).error.message);
}

test('wrong credentials give a clear error that never contains the secret, and the message is dead-lettered', async () => {
  const fixture = await ReplicationFixture.create();
  const wrong = { accessKeyId: 'AKIAWRONGWRONGWRONG1', secretAccessKey: 'wrong-secret-value-must-never-be-logged' };
  await fixture.putSecret(fixture.secretFor(wrong));
  const created = await fixture.events.put('denied.txt', 'x');
  const { result, lines } = await captureOutput(() => fixture.replicate([created], { allowDeadLetters: true }));

  expect(result.deadLettered).toHaveLength(1);
  const [error] = loggedErrors(lines);
  expect(error).toContain(`rejected the credentials from secret ${fixture.secretArn} with InvalidAccessKeyId`);
  expect(error).toContain(`IAM user "${fixture.userName}"`);
  expect(lines.join('\n')).not.toContain(wrong.secretAccessKey);
});

test.each([
  ['not JSON', 'accesskey=abc', 'is not JSON'],
  ['missing the secret key', { accesskey: 'AKIAEXAMPLE' }, 'is missing "secretaccesskey"'],
  ['for another partition', { accesskey: 'AKIAEXAMPLE', secretaccesskey: 'hidden-value', partition: 'aws-cn' }, 'is for partition "aws-cn" but the destination bucket is in "aws-us-gov"'],
])('a secret %s is reported by what to fix', async (_, secret, expected) => {
  const fixture = await ReplicationFixture.create();
  await fixture.putSecret(secret);
  const created = await fixture.events.put('x.txt', 'x');
  const { result, lines } = await captureOutput(() => fixture.replicate([created], { allowDeadLetters: true }));

  expect(result.deadLettered).toHaveLength(1);
  expect(loggedErrors(lines)[0]).toContain(expected);
  expect(lines.join('\n')).not.toContain('hidden-value');
});

test('a rotated secret is picked up without a redeploy: the old key is deleted and replication continues', async () => {
  const fixture = await ReplicationFixture.create();
  await fixture.replicate([await fixture.events.put('before.txt', 'old key')]);
  const { AccessKeyMetadata: [oldKey] = [] } = await fixture.iam.send(new ListAccessKeysCommand({ UserName: fixture.userName }));

  // Rotation runbook: create the second key, store it in the secret, then retire the first.
  const newKey = await fixture.createDestinationKey();
  await fixture.putSecret(fixture.secretFor(newKey));
  await fixture.iam.send(new DeleteAccessKeyCommand({ UserName: fixture.userName, AccessKeyId: oldKey.AccessKeyId }));
  // The replicator still holds the old key in its cache; the destination now rejects it once.
  const result = await fixture.replicate([await fixture.events.put('after.txt', 'new key')]);

  expect(result).toEqual({ processed: 1, failures: 0 });
  expect((await fixture.destinationObject('after.txt'))?.body.toString()).toBe('new key');
});

/**
 * Installs a destination user that may only assume a role (external id `<name>-ext`) which may
 * write the destination bucket, and points the fixture's secret at it (assume-role mode).
 */
async function installAssumeRoleIdentity(fixture: ReplicationFixture, name: string) {
  const account = '123456789012';
  const userName = `${fixture.id}-${name}`;
  const roleArn = `arn:${DESTINATION_PARTITION}:iam::${account}:role/${userName}-role`;
  const bucketArn = `arn:${DESTINATION_PARTITION}:s3:::${fixture.destinationBucket}`;
  return fixture.installDestinationIdentity(name, {
    userPolicies: { assume: { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 'sts:AssumeRole', Resource: roleArn }] } },
    role: {
      trustPolicy: {
        Version: '2012-10-17',
        Statement: [{
          Effect: 'Allow',
          Principal: { AWS: `arn:${DESTINATION_PARTITION}:iam::${account}:user/${userName}` },
          Action: 'sts:AssumeRole',
          Condition: { StringEquals: { 'sts:ExternalId': `${name}-ext` } },
        }],
      },
      policies: { write: { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 's3:*', Resource: [bucketArn, `${bucketArn}/*`] }] } },
      externalId: `${name}-ext`,
    },
  });
}

test('at DEBUG, a successful copy in assume-role mode logs neither the secret access key nor the session token', async () => {
  const fixture = await ReplicationFixture.create({ logLevel: 'DEBUG' });
  const { key } = await installAssumeRoleIdentity(fixture, 'debug');
  const created = await fixture.events.put('debug.txt', 'payload');

  // Observed, not mocked: every AssumeRole still goes to the server; the spy keeps the session it returned.
  const stsSend = jest.spyOn(STSClient.prototype, 'send');
  let captured: Awaited<ReturnType<typeof captureOutput<unknown>>>;
  let sessions: AssumeRoleCommandOutput[];
  try {
    captured = await captureOutput(() => fixture.replicate([created]));
    sessions = await Promise.all(stsSend.mock.results.map((call) => call.value as Promise<AssumeRoleCommandOutput>));
  } finally {
    stsSend.mockRestore();
  }

  expect(captured.result).toEqual({ processed: 1, failures: 0 });
  expect((await fixture.destinationObject('debug.txt'))?.body.toString()).toBe('payload');
  expect(sessions).toHaveLength(1);
  const { SecretAccessKey: sessionSecret, SessionToken: sessionToken } = sessions[0].Credentials!;
  expect(sessionSecret).toBeTruthy();
  expect(sessionToken).toBeTruthy();
  // The capture saw the handler's logs.
  expect(captured.lines.some((line) => line.includes('"service":"replicator"') && line.includes('debug.txt'))).toBe(true);
  const output = captured.lines.join('\n');
  expect(output).not.toContain(key.secretAccessKey);
  expect(output).not.toContain(sessionSecret);
  expect(output).not.toContain(sessionToken);
});

describe('ExpectedBucketOwner on every destination request', () => {
  // moto 5.2.5 accepts the header but does not enforce it (a wrong owner is accepted too; its S3
  // code never compares the header with the bucket's owner), so S3's refusal of a wrong owner
  // cannot be shown here. What is shown is that every request on the wire carries the header.
  let proxy: FaultProxy;
  beforeEach(async () => {
    proxy = await FaultProxy.start(emulators().destinationEndpoint);
  });
  afterEach(() => proxy.stop());

  /** A fixture whose destination S3 requests (not STS) go through the proxy. */
  async function proxiedFixture(account?: string): Promise<ReplicationFixture> {
    const fixture = await ReplicationFixture.create();
    fixture.settings = { ...fixture.settings, destinationEndpoint: proxy.endpoint, destinationAccount: account };
    fixture.useSourceIdentity(fixture.emulators.sourceAdmin);
    return fixture;
  }

  /** Every kind of destination write: small and multipart PUTs, tags, a tag change, a delete marker. */
  async function replicateEveryKindOfWrite(fixture: ReplicationFixture): Promise<void> {
    const small = await fixture.events.put('small.txt', 'x', { Tagging: 'team=a' });
    const large = await fixture.events.put('large.bin', Buffer.alloc(9 * 1024 * 1024, 1));
    await fixture.replicate([small, large]);
    await fixture.replicate([await fixture.events.tag('small.txt', small.detail.object['version-id'] as string, [{ Key: 'team', Value: 'b' }])]);
    await fixture.replicate([await fixture.events.deleteMarker('large.bin')]);
  }

  /** The requests by kind (method and query parameter names), with the owner each expected. */
  function ownersByRequestKind(): Record<string, string[]> {
    const kinds: Record<string, string[]> = {};
    for (const { method, url, headers } of proxy.requests) {
      const query = [...new URL(url, 'http://x').searchParams.keys()].filter((name) => name !== 'x-id').sort().join('&');
      const kind = `${method}${query ? ` ?${query}` : ''}`;
      (kinds[kind] ??= []).push(String(headers['x-amz-expected-bucket-owner']));
    }
    return kinds;
  }

  test('the secret\'s accountid is sent with every write: single PUT, multipart, tags and delete marker', async () => {
    const fixture = await proxiedFixture();
    await replicateEveryKindOfWrite(fixture);

    const kinds = ownersByRequestKind();
    // The test saw each kind of write, so "every request" below covers them all.
    expect(Object.keys(kinds)).toEqual(expect.arrayContaining([
      'PUT', 'POST ?uploads', 'PUT ?partNumber&uploadId', 'POST ?uploadId', 'PUT ?tagging&versionId', 'DELETE',
    ]));
    expect(new Set(Object.values(kinds).flat())).toEqual(new Set([fixture.secretFor({ accessKeyId: '', secretAccessKey: '' }).accountid]));
  });

  test('the construct\'s destinationAccount takes precedence over the secret\'s accountid', async () => {
    const fixture = await proxiedFixture('210987654321');
    await fixture.replicate([await fixture.events.put('owned.txt', 'x')]);

    expect(proxy.requests.length).toBeGreaterThan(0);
    expect(new Set(proxy.requests.map(({ headers }) => headers['x-amz-expected-bucket-owner']))).toEqual(new Set(['210987654321']));
  });

  test('a reconcile listing of the destination carries it too', async () => {
    const fixture = await proxiedFixture('210987654321');
    const clients = destinationClientsFor(
      fixture.settings,
      new SecretsManagerClient(sourceClientConfig(fixture.emulators.sourceEndpoint, fixture.emulators.sourceAdmin)),
    );
    await clients.run((s3) => listDestinationRange(s3, fixture.destinationBucket, { after: undefined, upTo: undefined, scope: EVERY_KEY }));

    expect(proxy.requests.map(({ method, headers }) => [method, headers['x-amz-expected-bucket-owner']])).toEqual([['GET', '210987654321']]);
  });

  test('without an account in the secret or the settings, no owner is expected', async () => {
    const fixture = await proxiedFixture();
    const { accountid: _omitted, ...secret } = fixture.secretFor(await fixture.createDestinationKey());
    await fixture.putSecret(secret);
    await fixture.replicate([await fixture.events.put('unowned.txt', 'x')]);

    expect(proxy.requests.length).toBeGreaterThan(0);
    expect(proxy.requests.filter(({ headers }) => 'x-amz-expected-bucket-owner' in headers)).toEqual([]);
  });
});

describe('retry strategy', () => {
  test('each destination client gets a new strategy from the given factory; without one, the throttling-tolerant default', async () => {
    const fixture = await ReplicationFixture.create();
    const secretsManager = new SecretsManagerClient(sourceClientConfig(fixture.emulators.sourceEndpoint, fixture.emulators.sourceAdmin));
    const made: object[] = [];
    const paced = destinationClientsFor(fixture.settings, secretsManager, undefined, () => {
      const strategy = retriesWithoutWaits();
      made.push(strategy);
      return strategy;
    });
    const pacedStrategy = await paced.run(async (s3) => s3.config.retryStrategy());
    const defaultStrategy = await destinationClientsFor(fixture.settings, secretsManager).run(async (s3) => s3.config.retryStrategy());

    expect(made).toHaveLength(1);
    expect(pacedStrategy).toBe(made[0]);
    expect(defaultStrategy).not.toBe(made[0]);
    expect(defaultStrategy.constructor.name).toBe('DestinationRetryStrategy');
  });
});

describe('concurrent operations (a batch\'s keys replicated side by side)', () => {
  test('in assume-role mode they share one AssumeRole and one client', async () => {
    const fixture = await ReplicationFixture.create();
    await installAssumeRoleIdentity(fixture, 'shared');
    const secretsManager = new SecretsManagerClient(sourceClientConfig(fixture.emulators.sourceEndpoint, fixture.emulators.sourceAdmin));
    const clients = destinationClientsFor(fixture.settings, secretsManager);

    // Observed, not mocked: every AssumeRole and listing still goes to the servers.
    const stsSend = jest.spyOn(STSClient.prototype, 'send');
    let used: S3Client[];
    let assumed: number;
    try {
      used = await Promise.all(Array.from({ length: 10 }, () => clients.run(async (s3) => {
        await s3.send(new ListObjectsV2Command({ Bucket: fixture.destinationBucket, MaxKeys: 1 }));
        return s3;
      })));
      assumed = stsSend.mock.calls.length;
    } finally {
      stsSend.mockRestore();
    }

    expect(assumed).toBe(1);
    expect(new Set(used).size).toBe(1);
  });

  test('a client replaced by a rotated key is destroyed only once the operations still using it have finished', async () => {
    const fixture = await ReplicationFixture.create();
    const secretsManager = new SecretsManagerClient(sourceClientConfig(fixture.emulators.sourceEndpoint, fixture.emulators.sourceAdmin));
    const clients = destinationClientsFor(fixture.settings, secretsManager);
    const destroy = jest.spyOn(S3Client.prototype, 'destroy');
    try {
      // A long operation (a large copy of one key) holds the first client.
      let release!: () => void;
      const held = new Promise<void>((resolve) => (release = resolve));
      let first: S3Client | undefined;
      let started!: () => void;
      const running = new Promise<void>((resolve) => (started = resolve));
      const long = clients.run(async (s3) => {
        first = s3;
        await s3.send(new ListObjectsV2Command({ Bucket: fixture.destinationBucket, MaxKeys: 1 }));
        started();
        await held;
      });
      await running;

      // Meanwhile the key is rotated, and another key's operation is rejected and moves to a new client.
      const { AccessKeyMetadata: [oldKey] = [] } = await fixture.iam.send(new ListAccessKeysCommand({ UserName: fixture.userName }));
      const newKey = await fixture.createDestinationKey();
      await fixture.putSecret(fixture.secretFor(newKey));
      await fixture.iam.send(new DeleteAccessKeyCommand({ UserName: fixture.userName, AccessKeyId: oldKey.AccessKeyId }));
      const second = await clients.run(async (s3) => {
        await s3.send(new ListObjectsV2Command({ Bucket: fixture.destinationBucket, MaxKeys: 1 }));
        return s3;
      });
      expect(second).not.toBe(first);
      // Not while the long operation still runs on it...
      expect(destroy.mock.contexts.includes(first)).toBe(false);

      release();
      await long;
      // ...and at once when it is done.
      expect(destroy.mock.contexts.includes(first)).toBe(true);
      expect(destroy.mock.contexts.includes(second)).toBe(false);
    } finally {
      destroy.mockRestore();
    }
  });
});
