import { CreateAccessKeyCommand, CreateUserCommand, IAMClient, PutUserPolicyCommand } from '@aws-sdk/client-iam';
import { S3Client } from '@aws-sdk/client-s3';

/** Environment variables through which global setup hands the emulators to the test workers. */
export const EMULATOR_ENV = {
  source: 'EMULATED_SOURCE_ENDPOINT',
  sourceAdmin: 'EMULATED_SOURCE_ADMIN',
  destination: 'EMULATED_DESTINATION_ENDPOINT',
  destinationAdmin: 'EMULATED_DESTINATION_ADMIN',
  /** How many pairs of emulated partitions run (one per jest worker). */
  slots: 'EMULATED_PARTITION_SLOTS',
} as const;

/** The variable of pair `slot` (1-based): the first pair's has the plain name, the others a `_<slot>` suffix. */
export function emulatorEnvName(name: Exclude<keyof typeof EMULATOR_ENV, 'slots'>, slot: number): string {
  return slot === 1 ? EMULATOR_ENV[name] : `${EMULATOR_ENV[name]}_${slot}`;
}

/** The pair of emulated partitions this process uses: its jest worker's own (pair 1 outside jest). */
function emulatorSlot(): number {
  const slots = Number(process.env[EMULATOR_ENV.slots] ?? 1);
  const worker = Number(process.env.JEST_WORKER_ID ?? 1);
  return ((worker - 1) % slots) + 1;
}

export const SOURCE_REGION = 'us-east-1';
export const DESTINATION_REGION = 'us-gov-west-1';
export const DESTINATION_PARTITION = 'aws-us-gov';

export interface AccessKey {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
}

export interface Emulators {
  readonly sourceEndpoint: string;
  readonly destinationEndpoint: string;
  /** An administrator of the source partition (IAM is enforced there). */
  readonly sourceAdmin: AccessKey;
  /** An administrator of the destination partition (IAM is enforced there). */
  readonly destinationAdmin: AccessKey;
}

export function emulators(): Emulators {
  const slot = emulatorSlot();
  const sourceEndpoint = process.env[emulatorEnvName('source', slot)];
  const destinationEndpoint = process.env[emulatorEnvName('destination', slot)];
  const sourceAdmin = process.env[emulatorEnvName('sourceAdmin', slot)];
  const destinationAdmin = process.env[emulatorEnvName('destinationAdmin', slot)];
  if (!sourceEndpoint || !destinationEndpoint || !sourceAdmin || !destinationAdmin) {
    throw new Error('the emulated partitions are not running: run the tests through jest (its global setup starts them)');
  }
  return {
    sourceEndpoint,
    destinationEndpoint,
    sourceAdmin: JSON.parse(sourceAdmin) as AccessKey,
    destinationAdmin: JSON.parse(destinationAdmin) as AccessKey,
  };
}

/** Client configuration for the source partition with the given key. */
export function sourceClientConfig(endpoint: string, key: AccessKey) {
  return { region: SOURCE_REGION, endpoint, credentials: key };
}

/** Client configuration for the destination partition with the given key. */
export function destinationClientConfig(endpoint: string, key: AccessKey) {
  return { region: DESTINATION_REGION, endpoint, credentials: key };
}

export function sourceS3(endpoint: string, key: AccessKey): S3Client {
  return new S3Client({ ...sourceClientConfig(endpoint, key), forcePathStyle: true });
}

export function destinationS3(endpoint: string, key: AccessKey): S3Client {
  return new S3Client({ ...destinationClientConfig(endpoint, key), forcePathStyle: true });
}

/**
 * Creates an administrator in an emulated partition, then switches on moto's IAM authentication
 * there: from then on every request must be signed by a known key whose policies allow it, as in a
 * real partition. Returns the administrator's key.
 */
export async function preparePartition(endpoint: string, region: string): Promise<AccessKey> {
  const iam = new IAMClient({ region, endpoint, credentials: { accessKeyId: 'bootstrap', secretAccessKey: 'bootstrap' } });
  const key = await createUserWithKey(iam, 'partition-admin', {
    administrator: { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: '*', Resource: '*' }] },
  });
  iam.destroy();
  const response = await fetch(`${endpoint}/moto-api/reset-auth`, { method: 'POST', body: '0' });
  if (!response.ok) throw new Error(`could not enable IAM authentication on ${endpoint}: ${response.status}`);
  return key;
}

/** Creates an IAM user with the given inline policies (by name) and returns a new access key of it. */
export async function createUserWithKey(iam: IAMClient, userName: string, policies: Record<string, object>): Promise<AccessKey> {
  await iam.send(new CreateUserCommand({ UserName: userName }));
  for (const [policyName, document] of Object.entries(policies)) {
    await iam.send(new PutUserPolicyCommand({ UserName: userName, PolicyName: policyName, PolicyDocument: JSON.stringify(document) }));
  }
  const { AccessKey: key } = await iam.send(new CreateAccessKeyCommand({ UserName: userName }));
  return { accessKeyId: key!.AccessKeyId!, secretAccessKey: key!.SecretAccessKey! };
}
