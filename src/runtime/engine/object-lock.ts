import type { GetObjectCommandOutput, PutObjectCommandInput } from '@aws-sdk/client-s3';

/**
 * Object Lock of replicas (`replicateObjectLock`): the source version's retention and legal hold
 * travel in the same PUT (or CreateMultipartUpload) as its bytes, and the two ways the destination
 * can refuse because of Object Lock are turned into errors that say what to fix.
 */

/** The lock a version's GET returned (only when the caller may s3:GetObjectRetention and s3:GetObjectLegalHold). */
export type SourceLock = Pick<GetObjectCommandOutput, 'ObjectLockMode' | 'ObjectLockRetainUntilDate' | 'ObjectLockLegalHoldStatus'>;

/**
 * The lock headers of a replica of `object`, as of `now` (milliseconds): the retention mode and
 * retain-until date while the date is still ahead (S3 refuses a retain-until date in the past, and
 * a lapsed retention protects nothing), and the legal hold when it is ON (OFF is every version's
 * default, so it is not sent).
 */
export function objectLockParams(object: SourceLock, now: number = Date.now()): Partial<PutObjectCommandInput> {
  const params: Partial<PutObjectCommandInput> = {};
  const until = object.ObjectLockRetainUntilDate;
  if (object.ObjectLockMode && until && until.getTime() > now) {
    params.ObjectLockMode = object.ObjectLockMode;
    params.ObjectLockRetainUntilDate = until;
  }
  if (object.ObjectLockLegalHoldStatus === 'ON') params.ObjectLockLegalHoldStatus = 'ON';
  return params;
}

/**
 * S3 requires Content-MD5 or `x-amz-sdk-checksum-algorithm` on a write that carries a retention or a
 * legal hold. A checksum value sent as it is (`ChecksumSHA256`, say) brings neither, so its
 * algorithm is named too; with Content-MD5, an algorithm already named, or no lock, nothing is added.
 */
export function lockedWriteChecksumAlgorithm(
  replica: Partial<PutObjectCommandInput>, digest: Partial<PutObjectCommandInput>,
): Pick<PutObjectCommandInput, 'ChecksumAlgorithm'> {
  const locked = replica.ObjectLockMode !== undefined || replica.ObjectLockLegalHoldStatus === 'ON';
  if (!locked || digest.ContentMD5 || digest.ChecksumAlgorithm || replica.ChecksumAlgorithm) return {};
  const algorithms = { ChecksumCRC32: 'CRC32', ChecksumCRC32C: 'CRC32C', ChecksumCRC64NVME: 'CRC64NVME', ChecksumSHA1: 'SHA1', ChecksumSHA256: 'SHA256' } as const;
  const sent = (Object.keys(algorithms) as (keyof typeof algorithms)[]).find((name) => digest[name]);
  return sent ? { ChecksumAlgorithm: algorithms[sent] } : {};
}

/**
 * Whether S3 refused a write because it carried Object Lock headers and the bucket has no Object
 * Lock: `InvalidRequest` "Bucket is missing ObjectLockConfiguration" (AWS, for PutObject, CopyObject
 * and CreateMultipartUpload; moto says the same), or "... Object Lock Configuration" (other calls).
 */
export function isMissingObjectLockConfiguration(error: unknown): boolean {
  const { name, Code: code, message } = (error ?? {}) as { name?: string; Code?: string; message?: string };
  return (name === 'InvalidRequest' || code === 'InvalidRequest') && /missing\s*object\s*lock\s*configuration/i.test(message ?? '');
}

/**
 * The destination bucket has no Object Lock, so it refused a replica with the source version's
 * retention or legal hold. No retry can cure it: dead-lettered at once (`isPermanentError`).
 */
export class DestinationObjectLockMissingError extends Error {
  constructor(bucket: string, key: string, cause: unknown) {
    super(`destination bucket ${bucket} has no Object Lock configuration, so it refused the replica of "${key}" with its ` +
      `retention or legal hold (${(cause as Error).name}: ${(cause as Error).message}). Enable Object Lock on the destination ` +
      `bucket (aws s3api put-object-lock-configuration --bucket ${bucket} --object-lock-configuration ObjectLockEnabled=Enabled), ` +
      'or set replicateObjectLock: false on the source construct to replicate without locks; then redrive the dead letters');
    this.name = 'DestinationObjectLockMissingError';
  }
}

/** The lock a replica version was written with, as the version map records it. */
export interface ReplicaLock {
  readonly mode?: string;
  readonly retainUntil?: Date;
  readonly legalHold?: boolean;
}

/** Whether `lock` protects its version at `now` (milliseconds): a legal hold, or a retention not yet ended. */
export function isLocked(lock: ReplicaLock, now: number = Date.now()): boolean {
  return lock.legalHold === true || (lock.mode !== undefined && lock.retainUntil !== undefined && lock.retainUntil.getTime() > now);
}

/**
 * S3 refused to delete a replica version because Object Lock protects it. A retention lasts until
 * its date (years, often) and a legal hold until someone lifts it: dead-lettered at once
 * (`isPermanentError`), with this message as the reason.
 */
export class ReplicaObjectLockedError extends Error {
  constructor(bucket: string, key: string, versionId: string, lock: ReplicaLock, now: number = Date.now()) {
    const retained = lock.mode !== undefined && lock.retainUntil !== undefined && lock.retainUntil.getTime() > now;
    const protections = [
      ...retained ? [`retention ${lock.mode} until ${lock.retainUntil!.toISOString()}`] : [],
      ...lock.legalHold ? ['a legal hold'] : [],
    ];
    super(`the permanent delete of "${key}" was not replicated: Object Lock protects its replica version ${versionId} in ` +
      `${bucket} (${protections.join(' and ')}), so S3 refused to delete it (AccessDenied). The replica stays; redrive this ` +
      'message once the retention has ended or the legal hold is lifted, or leave it');
    this.name = 'ReplicaObjectLockedError';
  }
}

/**
 * S3 refused to delete a replica version (AccessDenied) and the version map records no lock that
 * still protects it (a replica written before `replicateObjectLock`, or its lock changed at the
 * destination since): either Object Lock protects it, or the destination identity may not delete
 * versions. Retried as usual, then dead-lettered with this message.
 */
export class ReplicaDeleteRefusedError extends Error {
  readonly $metadata?: { readonly httpStatusCode?: number };
  constructor(bucket: string, key: string, versionId: string, cause: unknown) {
    super(`S3 refused to delete replica version ${versionId} of "${key}" in ${bucket} (${(cause as Error).name}: ${(cause as Error).message}): ` +
      'either Object Lock protects it (a retention or a legal hold set at the destination, not recorded by this replication), ' +
      'or the destination identity may not delete versions (DestinationReplicationUser\'s allowVersionDeletes)');
    this.name = 'ReplicaDeleteRefusedError';
    this.$metadata = (cause as { $metadata?: { httpStatusCode?: number } }).$metadata;
  }
}

/**
 * What a refused delete of a replica version means, given the lock the version map recorded when
 * the replica was written: a `ReplicaObjectLockedError` while that lock still protects it, else a
 * `ReplicaDeleteRefusedError` naming both possible causes. Other errors are returned as they are.
 */
export function explainRefusedReplicaDelete(
  error: unknown, bucket: string, key: string, versionId: string, recorded: ReplicaLock | undefined, now: number = Date.now(),
): unknown {
  if ((error as { name?: string } | undefined)?.name !== 'AccessDenied') return error;
  if (recorded && isLocked(recorded, now)) return new ReplicaObjectLockedError(bucket, key, versionId, recorded, now);
  return new ReplicaDeleteRefusedError(bucket, key, versionId, error);
}

/** The lock a replica is written with, from its PUT's (or CreateMultipartUpload's) parameters. */
export function lockOfReplica(params: Partial<PutObjectCommandInput>): ReplicaLock | undefined {
  const lock: ReplicaLock = {
    ...params.ObjectLockMode && params.ObjectLockRetainUntilDate
      ? { mode: params.ObjectLockMode, retainUntil: new Date(params.ObjectLockRetainUntilDate) } : {},
    ...params.ObjectLockLegalHoldStatus === 'ON' ? { legalHold: true } : {},
  };
  return Object.keys(lock).length > 0 ? lock : undefined;
}
