import { DeleteAccessKeyCommand, ListAccessKeysCommand } from '@aws-sdk/client-iam';
import { AssumeRoleCommandOutput, STSClient } from '@aws-sdk/client-sts';
import { captureOutput } from '../emulators/capture-output';
import { DESTINATION_PARTITION } from '../emulators/partitions';
import { ReplicationFixture } from '../emulators/replication-fixture';

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

test('at DEBUG, a successful copy in assume-role mode logs neither the secret access key nor the session token', async () => {
  const fixture = await ReplicationFixture.create({ logLevel: 'DEBUG' });
  const account = '123456789012';
  const userName = `${fixture.id}-debug`;
  const roleArn = `arn:${DESTINATION_PARTITION}:iam::${account}:role/${userName}-role`;
  const bucketArn = `arn:${DESTINATION_PARTITION}:s3:::${fixture.destinationBucket}`;
  const { key } = await fixture.installDestinationIdentity('debug', {
    userPolicies: { assume: { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 'sts:AssumeRole', Resource: roleArn }] } },
    role: {
      trustPolicy: {
        Version: '2012-10-17',
        Statement: [{
          Effect: 'Allow',
          Principal: { AWS: `arn:${DESTINATION_PARTITION}:iam::${account}:user/${userName}` },
          Action: 'sts:AssumeRole',
          Condition: { StringEquals: { 'sts:ExternalId': 'debug-ext' } },
        }],
      },
      policies: { write: { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 's3:*', Resource: [bucketArn, `${bucketArn}/*`] }] } },
      externalId: 'debug-ext',
    },
  });
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
