import { ListMultipartUploadsCommand, ListObjectVersionsCommand, S3Client } from '@aws-sdk/client-s3';
import type { LatestEntry } from './replica-claim';

/**
 * A bucket's newest entry (version or delete marker) for exactly `key`: the first the listing gives
 * for it, since a key's entries come first among keys it prefixes, newest first. Needs
 * `s3:ListBucketVersions`; read to recover a stale claim (destination) and to find what a deleted
 * head leaves current (source).
 */
export async function latestEntry(s3: S3Client, bucket: string, key: string): Promise<LatestEntry | undefined> {
  const page = await s3.send(new ListObjectVersionsCommand({ Bucket: bucket, Prefix: key, MaxKeys: 10 }));
  const version = (page.Versions ?? []).find((entry) => entry.Key === key && entry.IsLatest);
  if (version?.VersionId) {
    return { versionId: version.VersionId, isDeleteMarker: false, size: version.Size, eTag: version.ETag, lastModified: version.LastModified };
  }
  const marker = (page.DeleteMarkers ?? []).find((entry) => entry.Key === key && entry.IsLatest);
  if (marker?.VersionId) return { versionId: marker.VersionId, isDeleteMarker: true, lastModified: marker.LastModified };
  return undefined;
}

/** The ids of the multipart uploads in progress for exactly `key` (`s3:ListBucketMultipartUploads`). */
export async function uploadsOf(s3: S3Client, bucket: string, key: string): Promise<string[]> {
  const uploads: string[] = [];
  let keyMarker: string | undefined;
  let uploadIdMarker: string | undefined;
  for (;;) {
    const page = await s3.send(new ListMultipartUploadsCommand({
      Bucket: bucket, Prefix: key, KeyMarker: keyMarker, UploadIdMarker: uploadIdMarker,
    }));
    for (const upload of page.Uploads ?? []) {
      if (upload.Key === key && upload.UploadId) uploads.push(upload.UploadId);
    }
    // Keys sort after their own prefix: once the listing passed the key there is nothing more of it.
    if (!page.IsTruncated || (page.NextKeyMarker !== undefined && page.NextKeyMarker !== key)) return uploads;
    keyMarker = page.NextKeyMarker;
    uploadIdMarker = page.NextUploadIdMarker;
  }
}
