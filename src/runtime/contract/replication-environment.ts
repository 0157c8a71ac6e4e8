/**
 * The environment contract between the constructs (which set these variables) and the handlers
 * (which read them). Both sides import this file, so a renamed variable cannot drift. It must never
 * import aws-cdk-lib: it is bundled into the handlers.
 *
 * No secret ever travels here: the credentials are read at run time from the secret named by ARN.
 */

import { EVERY_KEY, parseScope, ReplicationScope, serializeScope } from './replication-scope';

/** Variable names. */
export const ENV = {
  sourceBucket: 'SOURCE_BUCKET_NAME',
  scope: 'REPLICATION_SCOPE',
  /** The scope's variable before 0.x releases named it: a JSON array of prefixes. */
  legacyPrefixes: 'REPLICATED_PREFIXES',
  queueUrl: 'REPLICATION_QUEUE_URL',
  deadLetterQueueUrl: 'DEAD_LETTER_QUEUE_URL',
  routerDeadLetterQueueUrl: 'ROUTER_DEAD_LETTER_QUEUE_URL',
  tableName: 'REPLICATION_TABLE_NAME',
  credentialsSecretId: 'DESTINATION_CREDENTIALS_SECRET_ARN',
  destinationBucket: 'DESTINATION_BUCKET_NAME',
  destinationRegion: 'DESTINATION_REGION',
  destinationPartition: 'DESTINATION_PARTITION',
  destinationEndpoint: 'DESTINATION_ENDPOINT',
  destinationStsEndpoint: 'DESTINATION_STS_ENDPOINT',
  destinationAccount: 'DESTINATION_ACCOUNT_ID',
  destinationKmsKeyArn: 'DESTINATION_KMS_KEY_ARN',
  destinationStorageClass: 'DESTINATION_STORAGE_CLASS',
  destinationBucketKeyEnabled: 'DESTINATION_BUCKET_KEY_ENABLED',
  replicateDeleteMarkers: 'REPLICATE_DELETE_MARKERS',
  replicateVersionDeletes: 'REPLICATE_VERSION_DELETES',
  replicateTags: 'REPLICATE_TAGS',
  replicateObjectLock: 'REPLICATE_OBJECT_LOCK',
  backfillQueueUrl: 'BACKFILL_QUEUE_URL',
  backfillMode: 'BACKFILL_DEFAULT_MODE',
  reportBucket: 'BACKFILL_REPORT_BUCKET',
  reportPrefix: 'BACKFILL_REPORT_PREFIX',
  maxReceiveCount: 'MAX_RECEIVE_COUNT',
} as const;

/**
 * The time every replicator invocation keeps back to record a large copy's parts and queue its
 * continuation. The construct requires a `replicatorTimeout` of at least twice this, so an
 * invocation always has as long again for copying and a large copy cannot hand over without progress.
 */
export const COPY_HANDOVER_RESERVE_SECONDS = 15;

/** Where the destination is and how to reach it: the replicator writes there, a reconcile lists it. */
export interface DestinationSettings {
  readonly credentialsSecretId: string;
  readonly destinationBucket: string;
  readonly destinationRegion: string;
  readonly destinationPartition: string;
  /** An S3-compatible endpoint URL; undefined means the SDK resolves it from the region. */
  readonly destinationEndpoint?: string;
  /** The destination partition's STS endpoint (assume-role mode); undefined means resolved from the region. */
  readonly destinationStsEndpoint?: string;
  /**
   * The account that owns the destination bucket (12 digits): every destination request carries it
   * as `ExpectedBucketOwner`. Undefined: the credentials secret's `accountid`, when it has one.
   */
  readonly destinationAccount?: string;
}

/** What the backfill needs (besides the replication queue and the table); the destination, for reconcile runs. */
export interface BackfillFunctionSettings extends DestinationSettings {
  readonly sourceBucket: string;
  /** The keys replicated. */
  readonly scope: ReplicationScope;
  readonly tableName: string;
  /** The replication FIFO queue the backfill feeds. */
  readonly queueUrl: string;
  /** The queue that drives the backfill's own continuations. */
  readonly backfillQueueUrl: string;
  /** The mode of a run started without one (the deployment trigger). */
  readonly backfillMode: string;
  readonly reportBucket: string;
  readonly reportPrefix: string;
  /**
   * The replicator's FIFO dead-letter queue, which the `redrive` mode empties. Optional when read:
   * while CloudFormation updates the function, new code can start with the old environment, and
   * only a redrive needs it (it then fails, saying so).
   */
  readonly deadLetterQueueUrl?: string;
  /** The router's dead-letter queue (failed events and backfill steps), which `redrive` empties; optional as above. */
  readonly routerDeadLetterQueueUrl?: string;
}

/** The backfill's variables, as the construct sets them. */
export function backfillEnvironment(settings: BackfillFunctionSettings): Record<string, string> {
  return {
    [ENV.sourceBucket]: settings.sourceBucket,
    [ENV.scope]: serializeScope(settings.scope),
    [ENV.tableName]: settings.tableName,
    [ENV.queueUrl]: settings.queueUrl,
    [ENV.backfillQueueUrl]: settings.backfillQueueUrl,
    [ENV.backfillMode]: settings.backfillMode,
    [ENV.reportBucket]: settings.reportBucket,
    [ENV.reportPrefix]: settings.reportPrefix,
    ...settings.deadLetterQueueUrl ? { [ENV.deadLetterQueueUrl]: settings.deadLetterQueueUrl } : {},
    ...settings.routerDeadLetterQueueUrl ? { [ENV.routerDeadLetterQueueUrl]: settings.routerDeadLetterQueueUrl } : {},
    ...destinationEnvironment(settings),
  };
}

function destinationEnvironment(settings: DestinationSettings): Record<string, string> {
  const env: Record<string, string> = {
    [ENV.credentialsSecretId]: settings.credentialsSecretId,
    [ENV.destinationBucket]: settings.destinationBucket,
    [ENV.destinationRegion]: settings.destinationRegion,
    [ENV.destinationPartition]: settings.destinationPartition,
  };
  if (settings.destinationEndpoint) env[ENV.destinationEndpoint] = settings.destinationEndpoint;
  if (settings.destinationStsEndpoint) env[ENV.destinationStsEndpoint] = settings.destinationStsEndpoint;
  if (settings.destinationAccount) env[ENV.destinationAccount] = settings.destinationAccount;
  return env;
}

/** Reads the backfill's settings; throws naming every missing variable. */
export function readBackfillSettings(env: Env): BackfillFunctionSettings {
  const read = reader(env);
  const settings = {
    sourceBucket: read.required(ENV.sourceBucket),
    scope: read.scope(),
    tableName: read.required(ENV.tableName),
    queueUrl: read.required(ENV.queueUrl),
    backfillQueueUrl: read.required(ENV.backfillQueueUrl),
    backfillMode: read.required(ENV.backfillMode),
    reportBucket: read.required(ENV.reportBucket),
    reportPrefix: read.optional(ENV.reportPrefix) ?? '',
    deadLetterQueueUrl: read.optional(ENV.deadLetterQueueUrl),
    routerDeadLetterQueueUrl: read.optional(ENV.routerDeadLetterQueueUrl),
    ...read.destination(),
  };
  read.done();
  return settings;
}

/** What the router needs. */
export interface RouterSettings {
  readonly sourceBucket: string;
  /** The keys replicated. */
  readonly scope: ReplicationScope;
  readonly queueUrl: string;
}

/** What the replicator needs. */
export interface ReplicatorSettings extends DestinationSettings {
  readonly sourceBucket: string;
  /** The keys replicated. */
  readonly scope: ReplicationScope;
  readonly tableName: string;
  /** The replication FIFO queue: a large copy that needs another invocation continues through it. */
  readonly queueUrl: string;
  /** The FIFO dead-letter queue: the replicator itself sends a message there when it gives up on it. */
  readonly deadLetterQueueUrl: string;
  /**
   * Attempts before the replicator dead-letters a message (receives on which it was skipped behind an
   * earlier failure of its key do not count): the last one aborts a failed upload.
   */
  readonly maxReceiveCount: number;
  readonly destinationKmsKeyArn?: string;
  /** Replicas written with an S3 Bucket Key (`BucketKeyEnabled`); only with `destinationKmsKeyArn`. Undefined: false. */
  readonly destinationBucketKeyEnabled?: boolean;
  /** Undefined means: keep the source object's storage class. */
  readonly destinationStorageClass?: string;
  readonly replicateDeleteMarkers: boolean;
  readonly replicateVersionDeletes: boolean;
  readonly replicateTags: boolean;
  /**
   * Each version's retention and legal hold travel with its replica. Set only when true, and
   * optional when read (unset: off), so environments from before it stay valid.
   */
  readonly replicateObjectLock?: boolean;
}

type Env = Record<string, string | undefined>;

/** The router's variables, as the construct sets them. */
export function routerEnvironment(settings: RouterSettings): Record<string, string> {
  return {
    [ENV.sourceBucket]: settings.sourceBucket,
    [ENV.scope]: serializeScope(settings.scope),
    [ENV.queueUrl]: settings.queueUrl,
  };
}

/** The replicator's variables, as the construct sets them. Optional settings are left out when unset. */
export function replicatorEnvironment(settings: ReplicatorSettings): Record<string, string> {
  const env: Record<string, string> = {
    [ENV.sourceBucket]: settings.sourceBucket,
    [ENV.scope]: serializeScope(settings.scope),
    [ENV.tableName]: settings.tableName,
    [ENV.queueUrl]: settings.queueUrl,
    [ENV.deadLetterQueueUrl]: settings.deadLetterQueueUrl,
    [ENV.maxReceiveCount]: String(settings.maxReceiveCount),
    ...destinationEnvironment(settings),
    [ENV.replicateDeleteMarkers]: String(settings.replicateDeleteMarkers),
    [ENV.replicateVersionDeletes]: String(settings.replicateVersionDeletes),
    [ENV.replicateTags]: String(settings.replicateTags),
  };
  if (settings.destinationKmsKeyArn) env[ENV.destinationKmsKeyArn] = settings.destinationKmsKeyArn;
  if (settings.destinationStorageClass) env[ENV.destinationStorageClass] = settings.destinationStorageClass;
  if (settings.destinationBucketKeyEnabled) env[ENV.destinationBucketKeyEnabled] = 'true';
  if (settings.replicateObjectLock) env[ENV.replicateObjectLock] = 'true';
  return env;
}

/** Reads the router's settings; throws naming every missing variable. */
export function readRouterSettings(env: Env): RouterSettings {
  const read = reader(env);
  const settings = {
    sourceBucket: read.required(ENV.sourceBucket),
    scope: read.scope(),
    queueUrl: read.required(ENV.queueUrl),
  };
  read.done();
  return settings;
}

/** Reads the replicator's settings; throws naming every missing or malformed variable. */
export function readReplicatorSettings(env: Env): ReplicatorSettings {
  const read = reader(env);
  const settings: ReplicatorSettings = {
    sourceBucket: read.required(ENV.sourceBucket),
    scope: read.scope(),
    tableName: read.required(ENV.tableName),
    queueUrl: read.required(ENV.queueUrl),
    deadLetterQueueUrl: read.required(ENV.deadLetterQueueUrl),
    maxReceiveCount: read.positiveInteger(ENV.maxReceiveCount),
    ...read.destination(),
    destinationKmsKeyArn: read.optional(ENV.destinationKmsKeyArn),
    destinationStorageClass: read.optional(ENV.destinationStorageClass),
    // Unset means false (also in an environment from before the variable existed).
    destinationBucketKeyEnabled: read.optional(ENV.destinationBucketKeyEnabled) === 'true',
    replicateDeleteMarkers: read.flag(ENV.replicateDeleteMarkers),
    replicateVersionDeletes: read.flag(ENV.replicateVersionDeletes),
    replicateTags: read.flag(ENV.replicateTags),
    // Only when on, as the construct sets it.
    ...(read.optionalFlag(ENV.replicateObjectLock) ? { replicateObjectLock: true } : {}),
  };
  read.done();
  return settings;
}

function reader(env: Env) {
  const problems: string[] = [];
  const required = (name: string): string => {
    const value = env[name];
    if (!value) problems.push(`${name} is not set`);
    return value ?? '';
  };
  const optional = (name: string): string | undefined => env[name] || undefined;
  const accountId = (name: string): string | undefined => {
    const value = optional(name);
    if (value !== undefined && !/^\d{12}$/.test(value)) problems.push(`${name} must be a 12-digit AWS account id, got "${value}"`);
    return value;
  };
  return {
    required,
    optional,
    destination: (): DestinationSettings => ({
      credentialsSecretId: required(ENV.credentialsSecretId),
      destinationBucket: required(ENV.destinationBucket),
      destinationRegion: required(ENV.destinationRegion),
      destinationPartition: required(ENV.destinationPartition),
      destinationEndpoint: optional(ENV.destinationEndpoint),
      destinationStsEndpoint: optional(ENV.destinationStsEndpoint),
      destinationAccount: accountId(ENV.destinationAccount),
    }),
    flag: (name: string): boolean => {
      const value = required(name);
      if (value && value !== 'true' && value !== 'false') problems.push(`${name} must be "true" or "false", got "${value}"`);
      return value === 'true';
    },
    /** A flag that may be unset: true, or undefined (off). */
    optionalFlag: (name: string): true | undefined => {
      const value = optional(name);
      if (value !== undefined && value !== 'true' && value !== 'false') problems.push(`${name} must be "true" or "false", got "${value}"`);
      return value === 'true' ? true : undefined;
    },
    positiveInteger: (name: string): number => {
      const value = required(name);
      const parsed = Number(value);
      if (value && !(Number.isInteger(parsed) && parsed > 0)) problems.push(`${name} must be a positive integer, got "${value}"`);
      return parsed;
    },
    scope: (): ReplicationScope => {
      // While CloudFormation updates a function, new code can start with the old environment, which
      // named the scope's prefixes REPLICATED_PREFIXES: read it rather than fail those invocations.
      const legacy = env[ENV.legacyPrefixes];
      const text = env[ENV.scope] || (legacy ? `{"prefixes":${legacy}}` : required(ENV.scope));
      try {
        return parseScope(text);
      } catch (error) {
        if (text) problems.push(`${env[ENV.scope] ? ENV.scope : ENV.legacyPrefixes} ${(error as Error).message}`);
        return EVERY_KEY;
      }
    },
    done: () => {
      if (problems.length > 0) {
        throw new Error(`Invalid handler environment (the construct sets these variables): ${problems.join('; ')}`);
      }
    },
  };
}
