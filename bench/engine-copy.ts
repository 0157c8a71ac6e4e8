// The copy engine under test (src/runtime/object-copy.ts) driven the way the replicator drives it,
// timed; shared by the in-process measurements and the peak-memory worker.
import { performance } from 'node:perf_hooks';
import { DeleteObjectCommand, ListObjectVersionsCommand, S3Client } from '@aws-sdk/client-s3';
import { CopyResult, copyVersion } from '../src/runtime/object-copy';
import { UploadCheckpoints } from '../src/runtime/upload-checkpoints';

export interface EngineCopyRequest {
  readonly source: { client: S3Client; bucket: string; key: string; versionId: string };
  readonly destination: S3Client;
  readonly destinationBucket: string;
  readonly checkpoints: UploadCheckpoints;
  /** Bytes of part buffers: C × P. */
  readonly memoryBudget: number;
  /** Epoch ms on `now`'s clock; undefined: no limit. */
  readonly deadline?: number;
  readonly reserveMs?: number;
  readonly now?: () => number;
}

export interface EngineCopyRun {
  readonly seconds: number;
  readonly result: CopyResult;
}

export async function engineCopy(request: EngineCopyRequest): Promise<EngineCopyRun> {
  const start = performance.now();
  const result = await copyVersion(
    request.source,
    request.destination,
    { bucket: request.destinationBucket, replicateTags: true },
    {
      checkpoints: request.checkpoints,
      limits: {
        memoryBudget: request.memoryBudget,
        deadline: request.deadline,
        reserveMs: request.reserveMs ?? 0,
        now: request.now ?? Date.now,
        finalAttempt: false,
      },
    },
  );
  return { seconds: (performance.now() - start) / 1000, result };
}

/** Deletes every version and delete marker under a prefix: the servers keep all versions, and RAM is finite. */
export async function deleteAllVersions(client: S3Client, bucket: string, prefix = ''): Promise<number> {
  let deleted = 0;
  let keyMarker: string | undefined;
  let versionIdMarker: string | undefined;
  do {
    const page = await client.send(new ListObjectVersionsCommand({
      Bucket: bucket, Prefix: prefix, KeyMarker: keyMarker, VersionIdMarker: versionIdMarker,
    }));
    const entries = [...page.Versions ?? [], ...page.DeleteMarkers ?? []];
    await Promise.all(entries.map((entry) => client.send(new DeleteObjectCommand({ Bucket: bucket, Key: entry.Key!, VersionId: entry.VersionId }))));
    deleted += entries.length;
    keyMarker = page.IsTruncated ? page.NextKeyMarker : undefined;
    versionIdMarker = page.IsTruncated ? page.NextVersionIdMarker : undefined;
  } while (keyMarker !== undefined);
  return deleted;
}
