import { CredentialsSecretError, CredentialsSecretNotFilledError, isAuthenticationError, parseCredentialsSecret } from '../../../../src/runtime/destination/destination-credentials';
import { thrownBy } from '../../../support/thrown-by';

const SECRET_ID = 'arn:aws:secretsmanager:us-east-1:111122223333:secret:destination-credentials-AbCdEf';
const ACCESS_KEY = 'AKIAEXAMPLEACCESSKEY7';
const SECRET_KEY = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKEY';

describe('parseCredentialsSecret', () => {
  test('a full secret', () => {
    const secret = JSON.stringify({
      accesskey: ACCESS_KEY,
      secretaccesskey: SECRET_KEY,
      user: 'replication-user',
      partition: 'aws-us-gov',
      accountid: '444455556666',
    });
    expect(parseCredentialsSecret(secret, SECRET_ID, 'aws-us-gov')).toStrictEqual({
      accessKeyId: ACCESS_KEY,
      secretAccessKey: SECRET_KEY,
      user: 'replication-user',
      partition: 'aws-us-gov',
      accountId: '444455556666',
      roleArn: undefined,
      externalId: undefined,
    });
  });

  test('a minimal secret (key pair only)', () => {
    expect(parseCredentialsSecret(JSON.stringify({ accesskey: ACCESS_KEY, secretaccesskey: SECRET_KEY }), SECRET_ID, 'aws-cn')).toStrictEqual({
      accessKeyId: ACCESS_KEY,
      secretAccessKey: SECRET_KEY,
      user: undefined,
      partition: undefined,
      accountId: undefined,
      roleArn: undefined,
      externalId: undefined,
    });
  });

  test('empty optional fields read as unset (an empty partition is not a mismatch)', () => {
    const secret = JSON.stringify({ accesskey: ACCESS_KEY, secretaccesskey: SECRET_KEY, user: '', partition: '', accountid: '' });
    expect(parseCredentialsSecret(secret, SECRET_ID, 'aws-cn')).toMatchObject({ user: undefined, partition: undefined, accountId: undefined });
  });

  test('extra fields are ignored', () => {
    const secret = JSON.stringify({ accesskey: ACCESS_KEY, secretaccesskey: SECRET_KEY, note: 'rotated monthly' });
    expect(parseCredentialsSecret(secret, SECRET_ID, 'aws')).not.toHaveProperty('note');
  });

  test.each<[string, string | undefined, RegExp]>([
    ['undefined', undefined, /has no SecretString/],
    ['an empty string', '', /has no SecretString/],
    ['non-JSON', `accesskey=${ACCESS_KEY}&secretaccesskey=${SECRET_KEY}`, /is not JSON/],
    ['truncated JSON', `{"accesskey":"${ACCESS_KEY}","secretaccesskey":"${SECRET_KEY}`, /is not JSON/],
    ['an array', JSON.stringify([ACCESS_KEY, SECRET_KEY]), /is not a JSON object/],
    ['a JSON string', JSON.stringify(SECRET_KEY), /is not a JSON object/],
    ['null', 'null', /is not a JSON object/],
    ['missing accesskey', JSON.stringify({ secretaccesskey: SECRET_KEY }), /is missing "accesskey";/],
    ['missing secretaccesskey', JSON.stringify({ accesskey: ACCESS_KEY }), /is missing "secretaccesskey";/],
    ['missing both', JSON.stringify({ user: 'replication-user' }), /is missing "accesskey" and "secretaccesskey"/],
    ['wrongly cased keys', JSON.stringify({ AccessKey: ACCESS_KEY, SecretAccessKey: SECRET_KEY }), /is missing "accesskey" and "secretaccesskey"/],
    ['empty accesskey', JSON.stringify({ accesskey: '', secretaccesskey: SECRET_KEY }), /is missing "accesskey";/],
    ['non-string accesskey', JSON.stringify({ accesskey: 12345, secretaccesskey: SECRET_KEY }), /is missing "accesskey";/],
    ['an accountid with dashes', JSON.stringify({ accesskey: ACCESS_KEY, secretaccesskey: SECRET_KEY, accountid: '4444-5555-6666' }),
      /has an "accountid" that is not a 12-digit AWS account id/],
    ['an accountid of 11 digits', JSON.stringify({ accesskey: ACCESS_KEY, secretaccesskey: SECRET_KEY, accountid: '44445555666' }),
      /has an "accountid" that is not a 12-digit AWS account id/],
  ])('rejects %s', (_label, secret, message) => {
    const error = thrownBy(() => parseCredentialsSecret(secret, SECRET_ID, 'aws-us-gov'));
    expect(error).toBeInstanceOf(CredentialsSecretError);
    expect(error.name).toBe('CredentialsSecretError');
    expect(error.message).toMatch(message);
    expect(error.message).toContain(SECRET_ID);
    // Says what to fill in.
    expect(error.message).toContain('"secretaccesskey": "..."');
  });

  test('rejects a partition mismatch naming both partitions', () => {
    const secret = JSON.stringify({ accesskey: ACCESS_KEY, secretaccesskey: SECRET_KEY, partition: 'aws' });
    const error = thrownBy(() => parseCredentialsSecret(secret, SECRET_ID, 'aws-us-gov'));
    expect(error).toBeInstanceOf(CredentialsSecretError);
    expect(error.message).toContain('"aws"');
    expect(error.message).toContain('"aws-us-gov"');
    expect(error.message).toContain(SECRET_ID);
  });

  describe('no error message ever contains a secret value', () => {
    const otherSecret = 'Zx9/otherSECRETvalue+with/slashes==';
    const otherAccess = 'AKIAOTHEREXAMPLEKEY9';
    const failing: Array<[string, string | undefined, string]> = [
      ['undefined', undefined, 'aws'],
      ['non-JSON containing both', `${otherAccess}:${otherSecret}`, 'aws'],
      ['truncated JSON', `{"accesskey":"${otherAccess}","secretaccesskey":"${otherSecret}"`, 'aws'],
      ['an array of both', JSON.stringify([otherAccess, otherSecret]), 'aws'],
      ['a bare JSON string', JSON.stringify(otherSecret), 'aws'],
      ['missing accesskey', JSON.stringify({ secretaccesskey: otherSecret, user: 'u' }), 'aws'],
      ['missing secretaccesskey', JSON.stringify({ accesskey: otherAccess }), 'aws'],
      ['non-string secretaccesskey', JSON.stringify({ accesskey: otherAccess, secretaccesskey: { value: otherSecret } }), 'aws'],
      ['wrong field names', JSON.stringify({ access_key: otherAccess, secret_access_key: otherSecret }), 'aws'],
      ['partition mismatch', JSON.stringify({ accesskey: otherAccess, secretaccesskey: otherSecret, partition: 'aws-cn' }), 'aws-us-gov'],
      ['partition mismatch (other way)', JSON.stringify({ accesskey: otherAccess, secretaccesskey: otherSecret, partition: 'aws-us-gov' }), 'aws'],
    ];

    test.each(failing)('%s', (_label, secret, partition) => {
      const error = thrownBy(() => parseCredentialsSecret(secret, SECRET_ID, partition));
      expect(error).toBeInstanceOf(CredentialsSecretError);
      for (const text of [error.message, String(error), error.stack ?? '']) {
        expect(text).not.toContain(otherSecret);
        expect(text).not.toContain(otherAccess);
        // Not even a recognisable part of the secret key.
        expect(text).not.toContain(otherSecret.slice(0, 12));
      }
    });
  });
});

describe('a secret not filled in yet', () => {
  test('{} (as the construct creates it) is not filled in: the error names the secret and the JSON to put there', () => {
    const error = thrownBy(() => parseCredentialsSecret('{}', SECRET_ID, 'aws-us-gov'));
    expect(error).toBeInstanceOf(CredentialsSecretNotFilledError);
    expect(error).toBeInstanceOf(CredentialsSecretError);
    expect(error.message).toContain(`credentials secret ${SECRET_ID} is still {}`);
    expect(error.message).toContain('"accesskey": "...", "secretaccesskey": "..."');
  });

  test.each([
    ['one field', JSON.stringify({ user: 'replication-user' })],
    ['an empty key', JSON.stringify({ accesskey: '' })],
  ])('a secret with %s is malformed, not unfilled', (_, secret) => {
    const error = thrownBy(() => parseCredentialsSecret(secret, SECRET_ID, 'aws-us-gov'));
    expect(error).toBeInstanceOf(CredentialsSecretError);
    expect(error).not.toBeInstanceOf(CredentialsSecretNotFilledError);
  });
});

describe('isAuthenticationError', () => {
  const named = (name: string) => Object.assign(new Error(`S3 said ${name}`), { name });

  test.each(['InvalidAccessKeyId', 'SignatureDoesNotMatch', 'ExpiredToken', 'InvalidToken', 'TokenRefreshRequired'])('true for %s', (name) => {
    expect(isAuthenticationError(named(name))).toBe(true);
  });

  test('true for an error carrying the code in Code', () => {
    expect(isAuthenticationError({ name: 'S3ServiceException', Code: 'SignatureDoesNotMatch' })).toBe(true);
  });

  test.each(['AccessDenied', 'NoSuchKey', 'NoSuchBucket', 'SlowDown', 'Error'])('false for %s', (name) => {
    expect(isAuthenticationError(named(name))).toBe(false);
  });

  test('false for a plain Error, undefined, null and a string', () => {
    expect(isAuthenticationError(new Error('InvalidAccessKeyId'))).toBe(false);
    expect(isAuthenticationError(undefined)).toBe(false);
    expect(isAuthenticationError(null)).toBe(false);
    expect(isAuthenticationError('InvalidAccessKeyId')).toBe(false);
  });
});

describe('assume-role mode', () => {
  const ROLE_ARN = 'arn:aws-us-gov:iam::444455556666:role/replication';
  const secret = (fields: Record<string, string>) => JSON.stringify({ accesskey: ACCESS_KEY, secretaccesskey: SECRET_KEY, ...fields });

  test('the role and external id are read', () => {
    expect(parseCredentialsSecret(secret({ rolearn: ROLE_ARN, externalid: 'ext-1' }), SECRET_ID, 'aws-us-gov'))
      .toMatchObject({ roleArn: ROLE_ARN, externalId: 'ext-1' });
  });

  test.each([
    ['not a role ARN', 'arn:aws-us-gov:iam::444455556666:user/replication', 'not an IAM role ARN'],
    ['a role of another partition', 'arn:aws:iam::444455556666:role/replication', 'names a role in partition "aws" but the destination bucket is in "aws-us-gov"'],
  ])('a rolearn that is %s is rejected', (_, rolearn, expected) => {
    const error = thrownBy(() => parseCredentialsSecret(secret({ rolearn }), SECRET_ID, 'aws-us-gov'));
    expect(error.message).toContain(expected);
    expect(error.message).not.toContain(SECRET_KEY);
  });
});
