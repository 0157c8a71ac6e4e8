import { S3Client } from '@aws-sdk/client-s3';
import { CredentialsSecret, DestinationCredentials, isAuthenticationError } from './destination-credentials';

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

export interface DestinationClientOptions {
  readonly region: string;
  /** An S3-compatible endpoint; path-style addressing is used with it. */
  readonly endpoint?: string;
}

/**
 * S3 clients for the destination partition, built from the credentials secret. An operation that
 * fails authentication is retried once with the secret re-read, so a rotated key is picked up
 * without a redeploy; a second failure is reported as a DestinationAuthenticationError.
 */
export class DestinationClients {
  private client?: { credentials: DestinationCredentials; s3: S3Client };

  constructor(private readonly secret: CredentialsSecret, private readonly options: DestinationClientOptions) {}

  async run<T>(operation: (s3: S3Client) => Promise<T>): Promise<T> {
    const credentials = await this.secret.get();
    try {
      return await operation(this.clientFor(credentials));
    } catch (error) {
      if (!isAuthenticationError(error)) throw error;
    }
    this.secret.refresh();
    const fresh = await this.secret.get();
    try {
      return await operation(this.clientFor(fresh));
    } catch (error) {
      if (isAuthenticationError(error)) throw new DestinationAuthenticationError(this.secret.secretId, fresh, this.options.region, error);
      throw error;
    }
  }

  private clientFor(credentials: DestinationCredentials): S3Client {
    const current = this.client;
    if (current && current.credentials.accessKeyId === credentials.accessKeyId
      && current.credentials.secretAccessKey === credentials.secretAccessKey) {
      return current.s3;
    }
    current?.s3.destroy();
    const s3 = new S3Client({
      region: this.options.region,
      endpoint: this.options.endpoint,
      forcePathStyle: this.options.endpoint !== undefined,
      credentials: { accessKeyId: credentials.accessKeyId, secretAccessKey: credentials.secretAccessKey },
    });
    this.client = { credentials, s3 };
    return s3;
  }
}
