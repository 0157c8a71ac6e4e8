import { DeleteMarkerEntry, ListMultipartUploadsCommand, ListObjectVersionsCommand, ObjectVersion, S3Client } from '@aws-sdk/client-s3';

/** The destination's newest entry for a key (a version or a delete marker), as its listing gives it. */
export interface LatestEntry {
  readonly versionId: string;
  readonly isDeleteMarker: boolean;
  readonly size?: number;
  readonly eTag?: string;
  readonly lastModified?: Date;
}

/** One page of a key's version listing, that key's entries only. */
export interface KeyVersionsPage {
  readonly versions: ObjectVersion[];
  readonly deleteMarkers: DeleteMarkerEntry[];
}

/**
 * The pages of exactly `key`'s versions and delete markers, newest first (ListObjectVersions with
 * the key as prefix). A key sorts before every longer key it prefixes, so the listing ends as soon
 * as it has passed the key. Needs `s3:ListBucketVersions`.
 */
export async function* keyVersionPages(s3: S3Client, bucket: string, key: string, pageSize?: number): AsyncGenerator<KeyVersionsPage> {
  let keyMarker: string | undefined;
  let versionIdMarker: string | undefined;
  for (;;) {
    const page = await s3.send(new ListObjectVersionsCommand({
      Bucket: bucket, Prefix: key, KeyMarker: keyMarker, VersionIdMarker: versionIdMarker, MaxKeys: pageSize,
    }));
    const entries = [...page.Versions ?? [], ...page.DeleteMarkers ?? []];
    yield {
      versions: (page.Versions ?? []).filter((entry) => entry.Key === key),
      deleteMarkers: (page.DeleteMarkers ?? []).filter((entry) => entry.Key === key),
    };
    const passedKey = entries.some((entry) => entry.Key !== key) || (page.NextKeyMarker !== undefined && page.NextKeyMarker !== key);
    if (!page.IsTruncated || passedKey) return;
    keyMarker = page.NextKeyMarker;
    versionIdMarker = page.NextVersionIdMarker;
  }
}

/**
 * A bucket's newest entry (version or delete marker) for exactly `key`, the one it marks latest: on
 * the listing's first page, which starts with the key's newest entries. Read to recover a stale
 * claim (destination) and to find what a deleted newest version leaves current (source).
 */
export async function latestEntry(s3: S3Client, bucket: string, key: string): Promise<LatestEntry | undefined> {
  for await (const { versions, deleteMarkers } of keyVersionPages(s3, bucket, key, 10)) {
    const version = versions.find((entry) => entry.IsLatest);
    if (version?.VersionId) {
      return { versionId: version.VersionId, isDeleteMarker: false, size: version.Size, eTag: version.ETag, lastModified: version.LastModified };
    }
    const marker = deleteMarkers.find((entry) => entry.IsLatest);
    if (marker?.VersionId) return { versionId: marker.VersionId, isDeleteMarker: true, lastModified: marker.LastModified };
    return undefined;
  }
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
