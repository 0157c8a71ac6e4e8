import { S3Client, S3ClientConfig } from '@aws-sdk/client-s3';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import { CredentialsSecret, CredentialsSecretNotFilledError, DestinationCredentials, isAuthenticationError } from './destination-credentials';
import { standardDestinationRetries } from './destination-retry';
import type { DestinationSettings } from '../contract/replication-environment';

/** The destination rejected the credentials even after re-reading the secret. */
export class DestinationAuthenticationError extends Error {
  constructor(secretId: string, credentials: DestinationCredentials, region: string, cause: unknown) {
    const code = (cause as { name?: string }).name ?? 'an authentication error';
    const who = credentials.user ? `IAM user "${credentials.user}"` : 'the IAM user';
    super(
      `the destination (${region}) rejected the credentials from secret ${secretId} with ${code}: ` +
      `make sure "accesskey" and "secretaccesskey" are an active key pair of ${who} in the destination partition, ` +
      'and that the construct\'s destinationRegion is a region of that partition',
    );
    this.name = 'DestinationAuthenticationError';
  }
}

/** The destination refused the role the secret names (trust policy, external id, or the user's rights). */
export class AssumeRoleError extends Error {
  constructor(roleArn: string, cause: unknown) {
    const code = (cause as { name?: string }).name ?? 'an error';
    super(
      `could not assume role ${roleArn} in the destination partition (${code}): check "rolearn" and "externalid" in the ` +
      'secret, that the role trusts the IAM user with that external id, and that the user may call sts:AssumeRole on it',
    );
    this.name = 'AssumeRoleError';
  }
}

export interface DestinationClientOptions {
  readonly region: string;
  /** An S3-compatible endpoint; path-style addressing is used with it. */
  readonly endpoint?: string;
  /** The destination partition's STS endpoint, for assume-role mode; default resolved from the region. */
  readonly stsEndpoint?: string;
  /**
   * The account that owns the destination bucket, sent as `ExpectedBucketOwner` with every request;
   * default the secret's `accountid`, and without either no owner is expected.
   */
  readonly expectedBucketOwner?: string;
  /** The clock, in milliseconds; tests move it to expire sessions. */
  readonly now?: () => number;
  /**
   * Makes each new client's SDK retry strategy (one per client, as the SDK's default is). Set by
   * code only, never from the environment: tests keep the decisions and drop the waits.
   * @default a `DestinationRetryStrategy`: the SDK's standard retries, with more attempts and
   * longer backoff for throttling (503 SlowDown)
   */
  readonly retryStrategy?: DestinationRetryStrategy;
}

/** Makes a new SDK retry strategy for one destination client. */
export type DestinationRetryStrategy = () => NonNullable<S3ClientConfig['retryStrategy']>;

/** Seconds a role session lasts; it is renewed this long before it ends. */
const SESSION_SECONDS = 3600;
const RENEW_BEFORE_MS = 5 * 60 * 1000;

interface Identity {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken?: string;
}

/**
 * S3 clients for the destination partition, built from the credentials secret: the IAM user's key
 * itself or, when the secret names a role, a short-lived session of that role (cached until shortly
 * before it expires). An operation that fails authentication is retried once with the secret
 * re-read and a new session, so a rotated key is picked up without a redeploy; a second failure is
 * reported as a DestinationAuthenticationError. Safe for concurrent operations (the replicator runs
 * a batch's keys side by side): one AssumeRole at a time serves them all, and a replaced client is
 * destroyed only once no operation uses it any more.
 */
export class DestinationClients {
  private client?: ClientInUse;
  private session?: { user: DestinationCredentials; identity: Identity; expiresAt: number };
  /** The AssumeRole in progress, which concurrent operations wait for instead of each sending their own. */
  private assuming?: { user: DestinationCredentials; identity: Promise<Identity> };
  private readonly now: () => number;

  constructor(private readonly secret: CredentialsSecret, private readonly options: DestinationClientOptions) {
    this.now = options.now ?? Date.now;
  }

  /**
   * The error saying the credentials secret is still `{}`, or undefined when it is filled in (or
   * cannot be read for another reason, which each operation then reports itself). Reads the secret
   * unless a filled one is cached: a filled secret is read once per container, an unfilled one on
   * each call, so filling it in takes effect without a redeploy.
   */
  async secretNotFilled(): Promise<CredentialsSecretNotFilledError | undefined> {
    try {
      await this.secret.get();
      return undefined;
    } catch (error) {
      return error instanceof CredentialsSecretNotFilledError ? error : undefined;
    }
  }

  async run<T>(operation: (s3: S3Client) => Promise<T>): Promise<T> {
    try {
      return await using(await this.s3(), operation);
    } catch (error) {
      if (!isAuthenticationError(error)) throw error;
    }
    this.secret.refresh();
    this.session = undefined;
    const s3 = await this.s3();
    try {
      return await using(s3, operation);
    } catch (error) {
      if (isAuthenticationError(error)) {
        throw new DestinationAuthenticationError(this.secret.secretId, await this.secret.get(), this.options.region, error);
      }
      throw error;
    }
  }

  private async s3(): Promise<ClientInUse> {
    const user = await this.secret.get();
    const owner = this.options.expectedBucketOwner ?? user.accountId;
    return this.clientFor(user.roleArn ? await this.roleSession(user) : user, owner);
  }

  private async roleSession(user: DestinationCredentials): Promise<Identity> {
    if (this.session && this.session.user === user && this.session.expiresAt - RENEW_BEFORE_MS > this.now()) {
      return this.session.identity;
    }
    if (this.assuming?.user !== user) {
      const assuming = { user, identity: this.assumeRole(user) };
      this.assuming = assuming;
      const forget = () => {
        if (this.assuming === assuming) this.assuming = undefined;
      };
      assuming.identity.then(forget, forget);
    }
    return this.assuming.identity;
  }

  private async assumeRole(user: DestinationCredentials): Promise<Identity> {
    const sts = new STSClient({
      region: this.options.region,
      endpoint: this.options.stsEndpoint,
      credentials: { accessKeyId: user.accessKeyId, secretAccessKey: user.secretAccessKey },
      ...this.retryConfig(),
    });
    try {
      const { Credentials: credentials } = await sts.send(new AssumeRoleCommand({
        RoleArn: user.roleArn,
        RoleSessionName: 'cross-partition-replication',
        ExternalId: user.externalId,
        DurationSeconds: SESSION_SECONDS,
      }));
      if (!credentials?.AccessKeyId || !credentials.SecretAccessKey || !credentials.SessionToken) {
        throw new Error('AssumeRole returned no credentials');
      }
      const identity = {
        accessKeyId: credentials.AccessKeyId,
        secretAccessKey: credentials.SecretAccessKey,
        sessionToken: credentials.SessionToken,
      };
      const expiresAt = credentials.Expiration?.getTime() ?? this.now() + SESSION_SECONDS * 1000;
      this.session = { user, identity, expiresAt };
      return identity;
    } catch (error) {
      // A rejected user key is an authentication error (retried once with the secret re-read).
      if (isAuthenticationError(error)) throw error;
      throw new AssumeRoleError(user.roleArn!, error);
    } finally {
      sts.destroy();
    }
  }

  /** A new retry strategy for each client: the given factory's, or one that rides out throttling. */
  private retryConfig(): Pick<S3ClientConfig, 'retryStrategy'> {
    return { retryStrategy: (this.options.retryStrategy ?? standardDestinationRetries)() };
  }

  private clientFor(identity: Identity, owner: string | undefined): ClientInUse {
    const current = this.client;
    if (current && current.identity.accessKeyId === identity.accessKeyId
      && current.identity.secretAccessKey === identity.secretAccessKey
      && current.identity.sessionToken === identity.sessionToken
      && current.owner === owner) {
      return current;
    }
    if (current) {
      // Operations still running on it (other keys of the batch) finish first; the last destroys it.
      current.replaced = true;
      if (current.users === 0) current.s3.destroy();
    }
    const s3 = new S3Client({
      region: this.options.region,
      endpoint: this.options.endpoint,
      forcePathStyle: this.options.endpoint !== undefined,
      credentials: identity,
      ...this.retryConfig(),
    });
    if (owner !== undefined) expectBucketOwner(s3, owner);
    this.client = { identity, owner, s3, users: 0, replaced: false };
    return this.client;
  }
}

/** A destination client and the operations running on it. */
interface ClientInUse {
  readonly identity: Identity;
  readonly owner?: string;
  readonly s3: S3Client;
  users: number;
  replaced: boolean;
}

/** Runs `operation` on the client, destroying the client afterwards if it was replaced meanwhile and nothing else uses it. */
async function using<T>(client: ClientInUse, operation: (s3: S3Client) => Promise<T>): Promise<T> {
  client.users++;
  try {
    return await operation(client.s3);
  } finally {
    client.users--;
    if (client.replaced && client.users === 0) client.s3.destroy();
  }
}

/** The name of the middleware that adds `ExpectedBucketOwner`; tests find it by this name. */
export const EXPECTED_BUCKET_OWNER_MIDDLEWARE = 'expectedBucketOwner';

/**
 * Every request of `s3` that names a bucket expects `owner` to own it (`ExpectedBucketOwner`, the
 * `x-amz-expected-bucket-owner` header): S3 refuses it with 403 AccessDenied if another account
 * owns the bucket, so a deleted and re-created (or mistyped) bucket name never receives replicas.
 * One middleware, so every destination command (from the replicator, the copy engines and
 * reconcile listings, and lib-storage's multipart calls) carries it without each call site
 * remembering to. A value a command sets itself is kept.
 */
export function expectBucketOwner(s3: S3Client, owner: string): void {
  s3.middlewareStack.add((next) => async (args) => {
    const input = args.input as { Bucket?: unknown; ExpectedBucketOwner?: unknown };
    if (input.Bucket === undefined || input.ExpectedBucketOwner !== undefined) return next(args);
    return next({ ...args, input: { ...args.input, ExpectedBucketOwner: owner } });
  }, { step: 'initialize', name: EXPECTED_BUCKET_OWNER_MIDDLEWARE, override: true });
}

/**
 * The destination clients a handler's settings describe, with credentials from the secret. The
 * retry strategy is not a setting: only code (a test) can pass one.
 */
export function destinationClientsFor(
  settings: DestinationSettings, secretsManager: SecretsManagerClient, now?: () => number, retryStrategy?: DestinationRetryStrategy,
): DestinationClients {
  return new DestinationClients(
    new CredentialsSecret(secretsManager, settings.credentialsSecretId, settings.destinationPartition),
    {
      region: settings.destinationRegion,
      endpoint: settings.destinationEndpoint,
      stsEndpoint: settings.destinationStsEndpoint,
      expectedBucketOwner: settings.destinationAccount,
      now,
      retryStrategy,
    },
  );
}
