/**
 * The S3 storage classes a replica can be written with, per destination partition, and what a
 * source class the destination cannot take becomes. Used at synth time (an explicit
 * `destinationStorageClass`) and at run time (a source object's own class). Never imports
 * aws-cdk-lib: it is bundled into the handlers.
 *
 * Sources of the facts, as checked in November 2026:
 * - The classes a PutObject or CreateMultipartUpload into a general purpose bucket takes: the S3 API
 *   reference (PutObject, `x-amz-storage-class`) and "Understanding and managing Amazon S3 storage
 *   classes" (docs.aws.amazon.com/AmazonS3/latest/userguide/storage-class-intro.html), which also says
 *   AWS recommends against REDUCED_REDUNDANCY (S3 Standard costs less) but S3 still accepts it.
 * - The other values of the SDK's `StorageClass` enum (@aws-sdk/client-s3) belong to other kinds of
 *   storage, never to a versioned general purpose bucket (replication's destination must be
 *   versioned): EXPRESS_ONEZONE to directory buckets, which have no versioning
 *   (docs.aws.amazon.com/AmazonS3/latest/userguide/s3-express-differences.html); OUTPOSTS to S3 on
 *   Outposts; SNOW to S3 on Snowball Edge; FSX_ONTAP and FSX_OPENZFS to S3 access points of FSx
 *   volumes; AWS_BACKUP_WARM and AWS_BACKUP_LOW_COST_WARM to AWS Backup's own storage.
 * - aws-us-gov: "Amazon S3 in AWS GovCloud (US)" (docs.aws.amazon.com/govcloud-us/latest/UserGuide/govcloud-s3.html)
 *   lists how S3 differs there (no MFA delete, no Transfer Acceleration, ...); no storage class is
 *   among the differences. S3 Express One Zone's region list (s3-express-Endpoints.html) has no
 *   GovCloud region.
 * - aws-cn: the China edition of the same region list (docs.amazonaws.cn/.../s3-express-Endpoints.html)
 *   has no China region. No China page found that names a general purpose class missing there:
 *   assumed to be the commercial set (not verified class by class).
 * - aws-iso, aws-iso-b, aws-iso-e, aws-iso-f, aws-eusc: their S3 documentation is not public; the
 *   general purpose set is assumed, so an explicit class is not refused for them, and a class the
 *   region lacks fails its PUT (retried, then dead-lettered) rather than being changed silently.
 */

/** The classes S3 writes into a (versioned) general purpose bucket. */
export const GENERAL_PURPOSE_STORAGE_CLASSES: readonly string[] = [
  'STANDARD',
  'STANDARD_IA',
  'ONEZONE_IA',
  'INTELLIGENT_TIERING',
  'GLACIER_IR',
  'GLACIER',
  'DEEP_ARCHIVE',
  // Deprecated in all but name (AWS recommends S3 Standard, which costs less); still accepted.
  'REDUCED_REDUNDANCY',
];

/** The classes each partition offers for a replica, where known (see the sources above). */
const PARTITION_STORAGE_CLASSES: Readonly<Record<string, readonly string[]>> = {
  'aws': GENERAL_PURPOSE_STORAGE_CLASSES,
  'aws-us-gov': GENERAL_PURPOSE_STORAGE_CLASSES,
  'aws-cn': GENERAL_PURPOSE_STORAGE_CLASSES,
};

/** What a source class the destination does not offer becomes (S3's own default class). */
export const FALLBACK_STORAGE_CLASS = 'STANDARD';

/** The storage classes a replica in `partition` can have; the general purpose set where not documented. */
export function storageClassesOf(partition: string | undefined): readonly string[] {
  return (partition !== undefined ? PARTITION_STORAGE_CLASSES[partition] : undefined) ?? GENERAL_PURPOSE_STORAGE_CLASSES;
}

/** Why `storageClass` cannot be the replicas' class in `partition`, or undefined when it can. */
export function storageClassProblem(storageClass: string, partition: string): string | undefined {
  const offered = storageClassesOf(partition);
  if (offered.includes(storageClass)) return undefined;
  const why = storageClass === 'EXPRESS_ONEZONE'
    ? 'S3 Express One Zone stores objects only in directory buckets, which have no versioning, and the destination must be a versioned general purpose bucket'
    : `a versioned general purpose bucket in partition ${partition} does not take it`;
  return `${why}; use one of ${offered.join(', ')}`;
}

/** The class a replica is written with, and the source class it replaces when it had to. */
export interface ReplicaStorageClass {
  /** Undefined: the source has none (S3 Standard); the PUT then names no class. */
  readonly storageClass?: string;
  /** Set when the source's class is not offered at the destination and was replaced by `storageClass`. */
  readonly replacedSourceClass?: string;
}

/**
 * The storage class of a replica: the configured `destinationStorageClass` (validated at synth
 * time), else the source version's own class when the destination partition offers it, else
 * `FALLBACK_STORAGE_CLASS` (an Express One Zone, Outposts, Snow or FSx class, or a class newer than
 * this library), so that the PUT succeeds instead of failing until the message is dead-lettered.
 */
export function replicaStorageClass(sourceClass: string | undefined, partition: string | undefined, configured?: string): ReplicaStorageClass {
  if (configured) return { storageClass: configured };
  if (sourceClass === undefined || storageClassesOf(partition).includes(sourceClass)) return { storageClass: sourceClass };
  return { storageClass: FALLBACK_STORAGE_CLASS, replacedSourceClass: sourceClass };
}
