import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';

/**
 * The destination partition's credentials, kept in a Secrets Manager secret of the source account
 * in the JSON shape users of the existing Terraform replication Lambda already keep:
 * `{"accesskey", "secretaccesskey", "user"?, "partition"?, "accountid"?}`.
 *
 * Read once and cached; re-read once when the destination rejects them, so rotating the key pair
 * needs no redeploy. Never logged, never in an error message.
 */
export interface DestinationCredentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly user?: string;
  readonly partition?: string;
  /**
   * The account that owns the destination bucket: destination requests carry it as
   * `ExpectedBucketOwner` (unless the construct's `destinationAccount` names one).
   */
  readonly accountId?: string;
  /** Assume-role mode: the role in the destination partition that holds the replication rights. */
  readonly roleArn?: string;
  /** Assume-role mode: the external id the role's trust policy requires. */
  readonly externalId?: string;
}

/** The secret cannot be used; the message says what to fix and never contains a secret value. */
export class CredentialsSecretError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CredentialsSecretError';
  }
}

const EXPECTED_SHAPE = '{"accesskey": "...", "secretaccesskey": "...", "user": "...", "partition": "...", "accountid": "...", ' +
  '"rolearn": "(assume-role mode)", "externalid": "(assume-role mode)"}';

/**
 * The secret is still `{}`, as the construct created it: nobody has filled it in yet. Not a
 * permanent error like a malformed secret: the replicator waits for it (see the replicator handler).
 */
export class CredentialsSecretNotFilledError extends CredentialsSecretError {
  constructor(readonly secretId: string) {
    super(`credentials secret ${secretId} is still {} (as the construct created it): put the destination IAM user's key pair in it as ${EXPECTED_SHAPE}`);
    this.name = 'CredentialsSecretNotFilledError';
  }
}

/** Validates the secret's JSON; errors name fields, never values. */
export function parseCredentialsSecret(secretString: string | undefined, secretId: string, destinationPartition: string): DestinationCredentials {
  const problem = (what: string) => new CredentialsSecretError(
    `credentials secret ${secretId} ${what}; fill it with the destination IAM user's key pair as ${EXPECTED_SHAPE}`,
  );
  if (!secretString) throw problem('has no SecretString');
  let value: unknown;
  try {
    value = JSON.parse(secretString);
  } catch {
    throw problem('is not JSON');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw problem('is not a JSON object');
  const fields = value as Record<string, unknown>;
  // No field at all: not filled in yet. Some fields, but not the right ones: malformed (permanent).
  if (Object.keys(fields).length === 0) throw new CredentialsSecretNotFilledError(secretId);
  const missing = ['accesskey', 'secretaccesskey'].filter((name) => typeof fields[name] !== 'string' || fields[name] === '');
  if (missing.length > 0) throw problem(`is missing ${missing.map((name) => `"${name}"`).join(' and ')}`);
  const optional = (name: string) => (typeof fields[name] === 'string' && fields[name] !== '' ? fields[name] as string : undefined);
  const partition = optional('partition');
  if (partition && partition !== destinationPartition) {
    throw new CredentialsSecretError(
      `credentials secret ${secretId} is for partition "${partition}" but the destination bucket is in "${destinationPartition}": ` +
      'store a key pair of the destination partition (or correct the "partition" field)',
    );
  }
  const accountId = optional('accountid');
  if (accountId !== undefined && !/^\d{12}$/.test(accountId)) {
    // An account id is not secret, but this field is checked on every destination request: say what it must be.
    throw problem('has an "accountid" that is not a 12-digit AWS account id (the destination bucket owner\'s, digits only)');
  }
  const roleArn = optional('rolearn');
  const rolePartition = roleArn ? /^arn:([a-z-]+):iam::\d{12}:role\/.+$/.exec(roleArn)?.[1] : undefined;
  if (roleArn && !rolePartition) throw problem('has a "rolearn" that is not an IAM role ARN');
  if (rolePartition && rolePartition !== destinationPartition) {
    throw new CredentialsSecretError(
      `credentials secret ${secretId} names a role in partition "${rolePartition}" but the destination bucket is in ` +
      `"${destinationPartition}": "rolearn" must be a role of the destination partition`,
    );
  }
  return {
    accessKeyId: fields.accesskey as string,
    secretAccessKey: fields.secretaccesskey as string,
    user: optional('user'),
    partition,
    accountId,
    roleArn,
    externalId: optional('externalid'),
  };
}

/** Error codes with which S3 rejects credentials that are wrong, rotated away or expired. */
const AUTHENTICATION_ERRORS = new Set([
  'InvalidAccessKeyId', 'SignatureDoesNotMatch', 'ExpiredToken', 'InvalidToken', 'TokenRefreshRequired', 'InvalidClientTokenId',
]);

export function isAuthenticationError(error: unknown): boolean {
  const name = (error as { name?: string; Code?: string } | undefined);
  return AUTHENTICATION_ERRORS.has(name?.name ?? '') || AUTHENTICATION_ERRORS.has(name?.Code ?? '');
}

/** Reads and caches the secret; `refresh` forgets the cache so the next read sees a rotated key. */
export class CredentialsSecret {
  private cached?: Promise<DestinationCredentials>;

  constructor(
    private readonly client: SecretsManagerClient,
    readonly secretId: string,
    private readonly destinationPartition: string,
  ) {}

  get(): Promise<DestinationCredentials> {
    if (!this.cached) {
      this.cached = this.read();
      // A failed read is not cached: the next message tries again.
      this.cached.catch(() => { this.cached = undefined; });
    }
    return this.cached;
  }

  refresh(): void {
    this.cached = undefined;
  }

  private async read(): Promise<DestinationCredentials> {
    const result = await this.client.send(new GetSecretValueCommand({ SecretId: this.secretId }));
    return parseCredentialsSecret(result.SecretString, this.secretId, this.destinationPartition);
  }
}
