// A large copy spread over several invocations: copyVersion called with a deadline too short for the
// whole object, again and again (as the replicator's continuations do), until it completes; then
// the replica's bytes are checked against the source's.
import { createHash } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { Readable } from 'node:stream';
import { GetObjectCommand, HeadObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { engineCopy } from './engine-copy';
import { abandonUpload } from '../src/runtime/engine/multipart/multipart-copy';
import { UploadCheckpoints } from '../src/runtime/engine/multipart/upload-checkpoints';

export interface InterruptedCopyRequest {
  readonly source: { client: S3Client; bucket: string; key: string; versionId: string };
  readonly destination: S3Client;
  readonly destinationBucket: string;
  readonly checkpoints: UploadCheckpoints;
  readonly memoryBudget: number;
  /** Each call's time, on the engine's clock (`limits.now`). */
  readonly budgetMs: number;
  /** How much faster than real time the engine's clock runs (1: real time). */
  readonly clockSpeedup: number;
  /** The object's part count, for the report. */
  readonly partCount: number;
  readonly maxInvocations?: number;
}

export interface InterruptedCopyResult {
  readonly invocations: number;
  /** Parts done after each call. */
  readonly partsDoneAfter: number[];
  readonly partCount: number;
  readonly seconds: number;
  readonly resumedParts: number;
  readonly verifiedBy: string;
  readonly bytesEqual: boolean;
  readonly md5: string;
  readonly eTagsEqual: boolean;
}

export async function interruptedCopy(request: InterruptedCopyRequest): Promise<InterruptedCopyResult> {
  const { clockSpeedup, budgetMs, maxInvocations = 200 } = request;
  const origin = Date.now();
  const now = () => origin + (Date.now() - origin) * clockSpeedup;
  const partsDoneAfter: number[] = [];
  const start = performance.now();
  for (let invocation = 1; ; invocation++) {
    if (invocation > maxInvocations) throw new Error(`not completed after ${maxInvocations} calls (parts done: ${partsDoneAfter.join(', ')})`);
    const run = await engineCopy({ ...request, deadline: now() + budgetMs, reserveMs: 0, now });
    if (run.result.status === 'completed') {
      const seconds = (performance.now() - start) / 1000;
      partsDoneAfter.push(request.partCount);
      const check = await compareBytes(request, run.result.written.destinationVersionId);
      return {
        invocations: invocation,
        partsDoneAfter,
        partCount: request.partCount,
        seconds,
        resumedParts: run.result.resumedParts,
        verifiedBy: run.result.verifiedBy,
        ...check,
      };
    }
    partsDoneAfter.push(run.result.partsDone);
    const previous = partsDoneAfter.at(-2) ?? 0;
    if (partsDoneAfter.length >= 3 && run.result.partsDone === previous && partsDoneAfter.at(-3) === previous) {
      throw new Error(`three calls in a row made no progress (parts done: ${partsDoneAfter.join(', ')})`);
    }
  }
}

/**
 * One call with a real-time deadline `budgetMs` ahead: what a continuation gets when little of
 * its invocation is left. Returns the parts it copied; the upload is abandoned afterwards.
 */
export async function shortDeadlineProbe(request: Omit<InterruptedCopyRequest, 'clockSpeedup' | 'partCount'>): Promise<{ status: string; partsDone: number; partCount: number; seconds: number }> {
  const run = await engineCopy({ ...request, deadline: Date.now() + request.budgetMs, reserveMs: 0 });
  const { source, destination, destinationBucket, checkpoints } = request;
  await abandonUpload(checkpoints, destination, destinationBucket, { key: source.key, versionId: source.versionId });
  if (run.result.status === 'completed') return { status: 'completed', partsDone: 1, partCount: 1, seconds: run.seconds };
  return { status: run.result.status, partsDone: run.result.partsDone, partCount: run.result.partCount, seconds: run.seconds };
}

/** MD5 of both versions' bytes, streamed side by side (neither is held in memory), and their ETags. */
async function compareBytes(
  request: InterruptedCopyRequest, destinationVersionId: string,
): Promise<{ bytesEqual: boolean; md5: string; eTagsEqual: boolean }> {
  const { source, destination, destinationBucket } = request;
  const replica = { client: destination, bucket: destinationBucket, key: source.key, versionId: destinationVersionId };
  const [sourceMd5, replicaMd5, sourceHead, replicaHead] = await Promise.all([
    streamedMd5(source), streamedMd5(replica), head(source), head(replica),
  ]);
  return { bytesEqual: sourceMd5 === replicaMd5, md5: sourceMd5, eTagsEqual: sourceHead === replicaHead };
}

async function streamedMd5(version: { client: S3Client; bucket: string; key: string; versionId: string }): Promise<string> {
  const got = await version.client.send(new GetObjectCommand({ Bucket: version.bucket, Key: version.key, VersionId: version.versionId }));
  const hash = createHash('md5');
  for await (const chunk of got.Body as Readable) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

async function head(version: { client: S3Client; bucket: string; key: string; versionId: string }): Promise<string | undefined> {
  const result = await version.client.send(new HeadObjectCommand({ Bucket: version.bucket, Key: version.key, VersionId: version.versionId }));
  return result.ETag;
}
