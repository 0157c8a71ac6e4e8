import { Duration, Token } from 'aws-cdk-lib';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import type { PartitionReplicatedBucketProps } from '../partition-replicated-bucket-props';
import { runtimeProblem } from './function-runtime';
import { isRegionName, KNOWN_PARTITIONS, partitionOfRegion } from '../runtime/contract/partitions';
import { COPY_HANDOVER_RESERVE_SECONDS } from '../runtime/contract/replication-environment';
import { ReplicationScope } from '../runtime/contract/replication-scope';
import { storageClassProblem } from '../runtime/contract/storage-classes';

/** The most key prefixes one construct replicates (see `PartitionReplicatedBucketProps.prefixes`). */
const MAX_PREFIXES = 10;
/** S3 object keys are at most 1,024 bytes, so a longer prefix can never match. */
const MAX_PREFIX_LENGTH = 1024;
/** S3's object tag limits: a version has at most 10 tags, keys of 1 to 128 and values of 0 to 256 characters. */
const MAX_TAG_PAIRS = 10;
const MAX_TAG_KEY_LENGTH = 128;
const MAX_TAG_VALUE_LENGTH = 256;

/** The props after validation and defaults. */
export interface Settings {
  readonly destinationPartition: string;
  readonly scope: ReplicationScope;
  readonly replicateDeleteMarkers: boolean;
  readonly replicateVersionDeletes: boolean;
  readonly replicateTags: boolean;
  readonly replicatorTimeout: Duration;
  readonly replicatorMemorySize: number;
  readonly maxReceiveCount: number;
  readonly replicationSlo: Duration;
  readonly maxConcurrency: number;
  /** The runtime that replaces the pinned one, if any. */
  readonly runtime?: lambda.Runtime;
}

/** Validates the props at synth time; throws naming the prop and what to fix. */
export function validate(props: PartitionReplicatedBucketProps): Settings {
  const fail = (message: string): never => {
    throw new Error(`PartitionReplicatedBucket: ${message}`);
  };

  if (props.inventoryBucket && props.bucket && props.inventoryBucket === props.bucket) {
    fail('inventoryBucket is the replicated bucket: deliver its S3 Inventory reports to another bucket (the backfill may read ' +
      'every object of the inventory bucket, and reports written into the replicated bucket would be replicated too)');
  }

  const bucketProblem = bucketNameProblem(props.destinationBucketName);
  if (bucketProblem) fail(`destinationBucketName "${props.destinationBucketName}" ${bucketProblem}`);

  const region = props.destinationRegion;
  const regionIsToken = Token.isUnresolved(region);
  if (!regionIsToken && !isRegionName(region)) {
    fail(`destinationRegion "${region}" is not a region name (for example "us-gov-west-1")`);
  }

  let destinationPartition: string;
  if (props.destinationPartition !== undefined) {
    destinationPartition = props.destinationPartition;
    if (!Token.isUnresolved(destinationPartition)) {
      if (!KNOWN_PARTITIONS.includes(destinationPartition)) {
        fail(`destinationPartition "${destinationPartition}" is not a known partition (one of ${KNOWN_PARTITIONS.join(', ')})`);
      }
      if (!regionIsToken && partitionOfRegion(region) !== destinationPartition) {
        fail(`destinationPartition "${destinationPartition}" does not match destinationRegion "${region}", which is in partition ` +
          `"${partitionOfRegion(region)}"; leave destinationPartition out to derive it from the region`);
      }
    }
  } else if (regionIsToken) {
    return fail('destinationRegion is a token, so the partition cannot be derived from it: set destinationPartition');
  } else {
    destinationPartition = partitionOfRegion(region);
  }

  if (props.destinationKmsKeyArn !== undefined && !Token.isUnresolved(props.destinationKmsKeyArn)) {
    const match = /^arn:([a-z][a-z-]*):kms:([a-z0-9-]+):(\d{12}):(key\/[A-Za-z0-9-]+|alias\/[A-Za-z0-9/_-]+)$/.exec(props.destinationKmsKeyArn);
    if (!match) {
      fail(`destinationKmsKeyArn "${props.destinationKmsKeyArn}" is not a KMS key or alias ARN ` +
        '(arn:<partition>:kms:<region>:<account>:key/<key id> or ...:alias/<alias name>)');
    } else {
      const [, keyPartition, keyRegion] = match;
      if (!Token.isUnresolved(destinationPartition) && keyPartition !== destinationPartition) {
        fail(`destinationKmsKeyArn is in partition "${keyPartition}" but the destination bucket is in partition ` +
          `"${destinationPartition}": use a key of the destination partition`);
      }
      if (!regionIsToken && keyRegion !== region) {
        fail(`destinationKmsKeyArn is in region "${keyRegion}" but the destination bucket is in region "${region}": ` +
          'S3 can only use a KMS key of the bucket\'s own region');
      }
    }
  }

  if (props.destinationBucketKeyEnabled && props.destinationKmsKeyArn === undefined) {
    fail('destinationBucketKeyEnabled needs destinationKmsKeyArn: an S3 Bucket Key applies to SSE-KMS only; set destinationKmsKeyArn ' +
      'or leave destinationBucketKeyEnabled out (the destination bucket\'s default encryption can enable a Bucket Key itself)');
  }
  const storageClass = props.destinationStorageClass?.value;
  if (storageClass !== undefined && !Token.isUnresolved(storageClass) && !Token.isUnresolved(destinationPartition)) {
    const problem = storageClassProblem(storageClass, destinationPartition);
    if (problem) fail(`destinationStorageClass ${storageClass} cannot be the replicas' class: ${problem}`);
  }

  const allowHttp = props.allowInsecureEndpoints ?? false;
  validateEndpoint('destinationEndpoint', props.destinationEndpoint, allowHttp, fail);
  validateEndpoint('destinationStsEndpoint', props.destinationStsEndpoint, allowHttp, fail);

  if (props.destinationAccount !== undefined && !Token.isUnresolved(props.destinationAccount) && !/^\d{12}$/.test(props.destinationAccount)) {
    fail(`destinationAccount "${props.destinationAccount}" is not an AWS account id: give the 12 digits of the account that owns the destination bucket`);
  }

  const scope = validateScope(props.prefixes, 'the replicator\'s read access', fail);
  const tagFilter = validateTagFilter(props.tagFilter, fail);
  if (tagFilter && props.replicateDeleteMarkers === true) {
    fail('replicateDeleteMarkers cannot be true with tagFilter: a delete marker has no tags, so it never matches the filter ' +
      '(S3 Replication refuses delete marker replication in a tag-based rule too); leave replicateDeleteMarkers out or set it to false');
  }

  const replicatorTimeout = props.replicatorTimeout ?? Duration.minutes(15);
  if (replicatorTimeout.isUnresolved()) {
    fail('replicatorTimeout must be a concrete duration (the queue\'s visibility timeout is computed from it)');
  }
  const timeoutMillis = replicatorTimeout.toMilliseconds();
  const shortestTimeoutSeconds = 2 * COPY_HANDOVER_RESERVE_SECONDS;
  if (timeoutMillis < shortestTimeoutSeconds * 1000 || timeoutMillis > 15 * 60 * 1000 || timeoutMillis % 1000 !== 0) {
    // Shorter, an invocation would keep (nearly) all its time back for handing a large copy over.
    fail(`replicatorTimeout is ${replicatorTimeout.toHumanString()}; it must be a whole number of seconds between ` +
      `${shortestTimeoutSeconds} seconds and 15 minutes (every invocation keeps ${COPY_HANDOVER_RESERVE_SECONDS} s back ` +
      'to hand a large copy over to the next one, and needs at least as long again to copy)');
  }

  const replicatorMemorySize = props.replicatorMemorySize ?? 1024;
  checkInteger(replicatorMemorySize, 128, 10240, 'replicatorMemorySize', 'MiB', fail);
  const maxReceiveCount = props.maxReceiveCount ?? 5;
  checkInteger(maxReceiveCount, 1, 1000, 'maxReceiveCount', 'receives', fail);

  const replicationSlo = props.replicationSlo ?? Duration.minutes(15);
  if (replicationSlo.isUnresolved()) fail('replicationSlo must be a concrete duration (the alarms\' thresholds are computed from it)');
  const sloMillis = replicationSlo.toMilliseconds();
  if (sloMillis < 60_000 || sloMillis > 14 * 24 * 3600_000 || sloMillis % 1000 !== 0) {
    fail(`replicationSlo is ${sloMillis / 1000} seconds; it must be a whole number of seconds between 1 minute and 14 days ` +
      '(the queues keep messages 14 days)');
  }
  const maxConcurrency = props.maxConcurrency ?? 20;
  checkInteger(maxConcurrency, 2, 1000, 'maxConcurrency', 'concurrent replicator invocations, SQS event source\'s MaximumConcurrency', fail);
  if (props.routerReservedConcurrency !== undefined) {
    checkInteger(props.routerReservedConcurrency, 1, 1000, 'routerReservedConcurrency', 'concurrent router invocations', fail);
  }

  const runtimeIssue = props.runtime && runtimeProblem(props.runtime);
  if (runtimeIssue) fail(`runtime ${runtimeIssue}`);

  return {
    destinationPartition,
    scope: tagFilter ? { ...scope, tagFilter } : scope,
    replicateDeleteMarkers: props.replicateDeleteMarkers ?? !tagFilter,
    replicateVersionDeletes: props.replicateVersionDeletes ?? false,
    replicateTags: props.replicateTags ?? true,
    replicatorTimeout,
    replicatorMemorySize,
    maxReceiveCount,
    replicationSlo,
    maxConcurrency,
    runtime: props.runtime,
  };
}

/**
 * The replication scope of the `prefixes` prop (shared by the constructs that scope rights to
 * `<prefix>*`): at most 10 prefixes, each non-empty, at most 1,024 characters, free of the IAM
 * wildcards `*` and `?`, and unique. Tokens are skipped. `access` names the rights a wildcard would
 * widen, for the message.
 */
export function validateScope(prefixes: string[] | undefined, access: string, fail: (message: string) => never): ReplicationScope {
  const checked = prefixes ?? [];
  if (checked.length > MAX_PREFIXES) {
    fail(`prefixes has ${checked.length} entries; at most ${MAX_PREFIXES} are supported (use a shorter, common prefix)`);
  }
  const seen = new Set<string>();
  for (const prefix of checked) {
    if (Token.isUnresolved(prefix)) continue;
    if (prefix.length === 0) fail('prefixes must not contain an empty string (leave prefixes out to replicate every key)');
    if (prefix.length > MAX_PREFIX_LENGTH) fail(`prefixes entry "${prefix.slice(0, 40)}..." is longer than ${MAX_PREFIX_LENGTH} characters, the longest S3 key`);
    if (/[*?]/.test(prefix)) fail(`prefixes entry "${prefix}" contains * or ?, which IAM would read as a wildcard and so widen ${access}`);
    if (seen.has(prefix)) fail(`prefixes contains "${prefix}" more than once`);
    seen.add(prefix);
  }
  return { prefixes: checked };
}

/**
 * The `tagFilter` prop, or undefined for none (absent or empty): at most 10 pairs, each key 1 to
 * 128 characters and not starting with `aws:`, each value at most 256 characters, as S3 limits
 * object tags (a filter beyond them could never match). Keys are unique, being a map's. Tokens are
 * skipped.
 */
export function validateTagFilter(
  tagFilter: { [key: string]: string } | undefined, fail: (message: string) => never,
): Record<string, string> | undefined {
  if (tagFilter === undefined) return undefined;
  if (typeof tagFilter !== 'object' || tagFilter === null || Array.isArray(tagFilter)) {
    return fail('tagFilter must be a map of tag keys to values, such as { replicate: "yes" }');
  }
  const pairs = Object.entries(tagFilter);
  if (pairs.length > MAX_TAG_PAIRS) {
    fail(`tagFilter has ${pairs.length} pairs; at most ${MAX_TAG_PAIRS} are supported (S3 allows 10 tags on an object, so more could never match)`);
  }
  // Characters as S3 counts them (code points, not UTF-16 units).
  const length = (text: string) => [...text].length;
  for (const [key, value] of pairs) {
    if (typeof value !== 'string') fail(`tagFilter value of "${key}" must be a string`);
    if (!Token.isUnresolved(key)) {
      if (key.length === 0) fail('tagFilter must not have an empty key (S3 tag keys are 1 to 128 characters)');
      if (length(key) > MAX_TAG_KEY_LENGTH) fail(`tagFilter key "${key.slice(0, 40)}..." is longer than ${MAX_TAG_KEY_LENGTH} characters, the longest S3 tag key`);
      if (key.toLowerCase().startsWith('aws:')) {
        fail(`tagFilter key "${key}" starts with "aws:", which S3 reserves: no object can carry it, so nothing would be replicated`);
      }
    }
    if (!Token.isUnresolved(value) && length(value) > MAX_TAG_VALUE_LENGTH) {
      fail(`tagFilter value of "${key}" is longer than ${MAX_TAG_VALUE_LENGTH} characters, the longest S3 tag value`);
    }
  }
  return pairs.length > 0 ? { ...tagFilter } : undefined;
}

function checkInteger(value: number, min: number, max: number, name: string, unit: string, fail: (message: string) => never) {
  if (Token.isUnresolved(value)) return;
  if (!Number.isInteger(value) || value < min || value > max) {
    fail(`${name} is ${value}; it must be a whole number between ${min} and ${max} (${unit})`);
  }
}

/** Why `name` is not a valid S3 bucket name, or undefined when it is (or is a token). */
function bucketNameProblem(name: string): string | undefined {
  if (Token.isUnresolved(name)) return undefined;
  if (name.length < 3 || name.length > 63) return 'must be 3 to 63 characters long';
  if (!/^[a-z0-9.-]+$/.test(name)) return 'may contain only lowercase letters, digits, dots (.) and hyphens (-)';
  if (!/^[a-z0-9].*[a-z0-9]$/.test(name)) return 'must start and end with a lowercase letter or a digit';
  if (name.includes('..')) return 'must not contain two adjacent dots';
  if (/^\d{1,3}(\.\d{1,3}){3}$/.test(name)) return 'must not be formatted as an IP address';
  if (name.startsWith('xn--') || name.startsWith('sthree-')) return 'must not start with the reserved prefix "xn--" or "sthree-"';
  if (name.endsWith('-s3alias') || name.endsWith('--ol-s3')) return 'must not end with the reserved suffix "-s3alias" or "--ol-s3"';
  return undefined;
}

/**
 * An endpoint prop must be an https URL (http only when `allowHttp`) without credentials in it.
 * A token is not checked (its scheme is unknown at synth time).
 */
function validateEndpoint(name: string, endpoint: string | undefined, allowHttp: boolean, fail: (message: string) => never): void {
  if (endpoint === undefined || Token.isUnresolved(endpoint)) return;
  let url: URL | undefined;
  try {
    url = new URL(endpoint);
  } catch {
    url = undefined;
  }
  if (!url || (url.protocol !== 'https:' && url.protocol !== 'http:')) {
    fail(`${name} "${endpoint}" is not an http:// or https:// URL`);
  } else if (url.username || url.password) {
    fail(`${name} must not contain credentials: put them in credentialsSecret`);
  } else if (url.protocol === 'http:' && !allowHttp) {
    fail(`${name} "${endpoint}" uses http://, which sends the replicas (and, for STS, session credentials) unencrypted: ` +
      'use an https:// URL, or set allowInsecureEndpoints: true for a local emulator or a test');
  }
}
