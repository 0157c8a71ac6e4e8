// The copy engine under test (src/runtime/engine/object-copy.ts) driven the way the replicator drives it,
// timed; shared by the in-process measurements and the peak-memory worker.
import { performance } from 'node:perf_hooks';
import { DeleteObjectCommand, ListObjectVersionsCommand, S3Client } from '@aws-sdk/client-s3';
import { UploadCheckpoints } from '../src/runtime/engine/multipart/upload-checkpoints';
import { CopyResult, copyVersion } from '../src/runtime/engine/object-copy';

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
  /** Never `filtered`: the bench copies without a tag filter. */
  readonly result: Exclude<CopyResult, { status: 'filtered' }>;
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
  if (result.status === 'filtered') throw new Error('the bench copies without a tag filter, yet the copy was filtered');
  // What the replicator does once it has recorded the replica: forget the completed upload.
  if (result.status === 'completed' && result.uploadRecorded) await request.checkpoints.clear(request.source.key, request.source.versionId);
  return { seconds: (performance.now() - start) / 1000, result };
}

/**
 * Adds to an S3 error which request failed, on which part, after how long and how many attempts:
 * an intermittent failure is only worth reporting with those.
 */
export function annotateErrors(client: S3Client, label: string): S3Client {
  client.middlewareStack.add((next, context) => async (args) => {
    const start = performance.now();
    try {
      return await next(args);
    } catch (error) {
      const input = args.input as { PartNumber?: number; Range?: string; Key?: string };
      const metadata = (error as { $metadata?: { attempts?: number; httpStatusCode?: number } }).$metadata;
      const where = input.PartNumber !== undefined ? ` part ${input.PartNumber}` : input.Range ? ` ${input.Range}` : '';
      (error as Error).message += ` [${label} ${context.commandName}${where} of ${input.Key}: HTTP ${metadata?.httpStatusCode ?? '-'}, `
        + `${metadata?.attempts ?? '?'} attempt(s), ${(performance.now() - start).toFixed(0)} ms, at ${new Date().toISOString()}]`;
      throw error;
    }
  }, { step: 'initialize', name: 'benchAnnotateErrors' });
  return client;
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
