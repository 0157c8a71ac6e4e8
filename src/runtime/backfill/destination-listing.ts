import { ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { DestinationEntry, destinationWalks, inReplicatedRange, isPastRange } from './reconcile';
import { listingPrefixes, ReplicationScope } from '../contract/replication-scope';

/** The destination refused the listing that reconcile needs. */
export class DestinationListingDeniedError extends Error {
  constructor(bucket: string, cause: unknown) {
    super(
      `reconcile could not list destination bucket ${bucket} (${(cause as { name?: string }).name ?? 'denied'}): ` +
      'deploy the DestinationReplicationUser with allowListing: true (s3:ListBucket on the bucket, under the prefixes)',
    );
    this.name = 'DestinationListingDeniedError';
  }
}

/** The destination's current objects in (`after`, `upTo`] under the prefixes, in key order, and the requests it took. */
export async function listDestinationRange(
  s3: S3Client,
  bucket: string,
  range: { readonly after?: string; readonly upTo?: string; readonly scope: ReplicationScope },
): Promise<{ objects: DestinationEntry[]; requests: number }> {
  const found = new Map<string, DestinationEntry>();
  let requests = 0;
  for (const walk of destinationWalks(range.after, range.upTo, range.scope)) {
    let token: string | undefined;
    let more = true;
    while (more) {
      requests += 1;
      const page = await listPage(s3, bucket, walk.prefix, walk.startAfter, token);
      for (const object of page.Contents ?? []) {
        const key = object.Key ?? '';
        if (isPastRange(key, range.upTo)) {
          more = false;
          break;
        }
        // A store that starts at `StartAfter` instead of after it returns the marker itself: skip it.
        if (inReplicatedRange(key, range.after, range.upTo, range.scope)) {
          found.set(key, { key, size: object.Size ?? 0, eTag: object.ETag ?? '' });
        }
      }
      token = page.NextContinuationToken;
      more = more && page.IsTruncated === true && token !== undefined;
    }
  }
  return { objects: [...found.values()], requests };
}

/** One small listing per prefix: fails with DestinationListingDeniedError when reconcile could not list. */
export async function probeDestinationListing(s3: S3Client, bucket: string, scope: ReplicationScope): Promise<void> {
  for (const prefix of listingPrefixes(scope)) await listPage(s3, bucket, prefix, undefined, undefined, 1);
}

async function listPage(s3: S3Client, bucket: string, prefix: string, startAfter: string | undefined, token: string | undefined, maxKeys?: number) {
  try {
    return await s3.send(new ListObjectsV2Command({
      Bucket: bucket,
      Prefix: prefix || undefined,
      StartAfter: token ? undefined : startAfter,
      ContinuationToken: token,
      MaxKeys: maxKeys,
    }));
  } catch (error) {
    // Only a refusal of the action: a rejected key (also a 403) goes back to be retried with the secret re-read.
    if ((error as { name?: string }).name === 'AccessDenied') throw new DestinationListingDeniedError(bucket, error);
    throw error;
  }
}
