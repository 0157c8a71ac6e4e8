import { Readable } from 'stream';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  CreateMultipartUploadCommandInput,
  S3Client,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { checksumField, checksumOf, compositeChecksum, multipartChecksumPlan, MultipartChecksumPlan, SourceChecksum } from '../checksums';
import { unsignedPayloadOverTls } from '../payload-signing';
import { ContentMismatchError, md5Hex, multipartETag, OrderedDigest, plainMd5Of, SourceCheck, sourceCheckFor } from '../verification';
import { canStartPart, partCount, partRange, PartRange, partSizeFor, partsInFlight } from './part-plan';
import { PART_ATTEMPTS, PART_RETRY_BACKOFF_MS, retryTransient, sentOnceUnlessRefused } from '../retries';
import { headPart, readFirstPart, readRange, SourceVersion, SourceVersionGoneError } from '../source-reads';
import { CompletedPart, UploadCheckpoint, UploadCheckpoints, UploadPlan } from './upload-checkpoints';

/** What the engine may spend: memory for part buffers, and time before it must hand over. */
export interface CopyLimits {
  /** Bytes of part buffers in flight (each part in flight holds one part-sized buffer). */
  readonly memoryBudget: number;
  /** When the invocation ends (milliseconds since the epoch); undefined: no limit. */
  readonly deadline?: number;
  /** Time kept back before the deadline for completing or recording and requeueing. */
  readonly reserveMs: number;
  readonly now: () => number;
  /** The message's last delivery: a failed upload is aborted rather than kept for a retry. */
  readonly finalAttempt: boolean;
  /**
   * Milliseconds a part's request waits before its next attempt, times the attempts made (set by
   * code only, never from the environment: tests shorten it).
   * @default PART_RETRY_BACKOFF_MS
   */
  readonly partRetryBackoffMs?: number;
}

export interface SourceObject {
  readonly size: number;
  readonly eTag: string;
  readonly serverSideEncryption?: string;
  /** The source's stored additional checksum, if any: the replica's upload takes its algorithm (and, where S3 allows, its value). */
  readonly checksum?: SourceChecksum;
}

export interface MultipartCopyRequest {
  readonly source: SourceVersion;
  readonly object: SourceObject;
  readonly destination: S3Client;
  /** Bucket, key, metadata, tags, storage class and encryption of the replica. */
  readonly upload: Omit<CreateMultipartUploadCommandInput, 'ChecksumAlgorithm'> & { Bucket: string; Key: string };
  readonly checkpoints: UploadCheckpoints;
  readonly limits: CopyLimits;
  /**
   * A destination version being replaced (a reconcile's repair): a completed upload that produced
   * it is not taken as this copy's result.
   */
  readonly replacing?: string;
  /**
   * The unread body of the full-object GET that returned the version's headers (same version, same
   * ETag): part 1 is read from it instead of a second GET. Closed once read, or when part 1 is not
   * copied by this call (already recorded, or the copy hands over first).
   */
  readonly firstBody?: Readable;
}

export type MultipartCopyResult =
  | {
    readonly status: 'completed';
    readonly destinationVersionId: string;
    readonly eTag?: string;
    readonly verifiedBy: SourceCheck['kind'] | 'checksum';
    /** Parts an earlier invocation had already copied. */
    readonly resumedParts: number;
  }
  | { readonly status: 'suspended'; readonly partsDone: number; readonly partCount: number };

/** The destination no longer knows the upload (aborted by a lifecycle rule, or by hand). */
class UploadVanishedError extends Error {}

/**
 * Copies one large source version with parallel ranged GETs feeding parallel UploadParts. Each part
 * is checked (CRC32 sent with it; the source's ETag where it is an MD5, before completing) and
 * recorded in the table as soon as the destination accepts it. When the time left would not cover
 * another part it stops and says `suspended`: the next call continues from the recorded parts.
 * A completed upload stays recorded until the caller `clear`s it after recording the replica.
 */
export async function multipartCopy(request: MultipartCopyRequest): Promise<MultipartCopyResult> {
  // Read once at most: a second attempt (below) reads part 1 with a ranged GET.
  let firstBody = request.firstBody;
  const takeFirstBody = () => {
    const body = firstBody;
    firstBody = undefined;
    return body;
  };
  try {
    return await copyOnce(request, takeFirstBody);
  } catch (error) {
    if (!(error instanceof UploadVanishedError)) throw error;
    return await copyOnce(request, takeFirstBody);
  } finally {
    takeFirstBody()?.destroy();
  }
}

async function copyOnce(request: MultipartCopyRequest, takeFirstBody: () => Readable | undefined): Promise<MultipartCopyResult> {
  const { source, object, checkpoints } = request;
  let saved = await checkpoints.load(source.key, source.versionId);
  if (saved && (saved.sourceETag !== object.eTag || saved.size !== object.size)) {
    await abort(request, saved);
    saved = undefined;
  }
  if (saved?.completed) {
    // An earlier delivery completed the upload but failed before the replica was recorded.
    if (saved.completed.destinationVersionId !== request.replacing) {
      return { status: 'completed', ...saved.completed, resumedParts: partCount(saved.size, saved.partSize) };
    }
    await checkpoints.clear(source.key, source.versionId);
    saved = undefined;
  }
  // Late in an invocation (after other messages of the batch), hand over before creating anything.
  if (!saved && !hasTimeForPart(request.limits)) {
    return { status: 'suspended', partsDone: 0, partCount: partCount(object.size, partSizeFor(object.size)) };
  }
  const { plan, check } = saved ? { plan: saved, check: resumedCheck(object, saved) } : await start(request);
  const parts = new Map((saved?.parts ?? []).map((part) => [part.partNumber, part]));
  try {
    const digest = check.kind === 'md5' ? new OrderedDigest() : undefined;
    const total = partCount(plan.size, plan.partSize);
    await copyParts(request, plan, check, parts, takeFirstBody, digest);
    if (parts.size < total) return { status: 'suspended', partsDone: parts.size, partCount: total };
    const verifiedBy = await verify(request, plan, check, parts, digest);
    const completed = await complete(request, plan, parts);
    await checkpoints.markCompleted(source.key, source.versionId, { ...completed, verifiedBy });
    return { status: 'completed', ...completed, verifiedBy, resumedParts: saved?.parts.length ?? 0 };
  } catch (error) {
    if (isNoSuchUpload(error)) {
      await checkpoints.clear(source.key, source.versionId);
      throw new UploadVanishedError();
    }
    // A retry can succeed after a network error, and keeps the parts; these cannot, or it is the last.
    if (error instanceof ContentMismatchError || error instanceof SourceVersionGoneError || request.limits.finalAttempt) {
      await abort(request, plan);
    }
    throw error;
  }
}

/** Chooses the part size and the check, creates the upload and records it before any part moves. */
async function start(request: MultipartCopyRequest): Promise<{ plan: UploadPlan; check: SourceCheck }> {
  const { source, object, destination, upload, checkpoints } = request;
  let check = sourceCheckFor(object.eTag, object.serverSideEncryption);
  let partSize = partSizeFor(object.size);
  const sums = multipartChecksumPlan(object.checksum);
  // A composite checksum, like a multipart MD5 ETag, is reproduced only by the source's own parts.
  const sourcePartCount = check.kind === 'multipart-md5' ? check.partCount : sums.expectedComposite?.parts;
  if (sourcePartCount !== undefined) {
    const sourcePartSize = await uniformSourcePartSize(request, sourcePartCount);
    if (sourcePartSize === undefined) {
      if (check.kind === 'multipart-md5') check = { kind: 'transit' };
    } else {
      partSize = sourcePartSize;
    }
  }
  // Sent again after a lost response, it would start a second upload nobody records: the claim's
  // recovery on the next delivery aborts the first instead.
  const created = await destination.send(sentOnceUnlessRefused(new CreateMultipartUploadCommand({
    ...upload, ChecksumAlgorithm: sums.algorithm, ...(sums.type === 'FULL_OBJECT' ? { ChecksumType: 'FULL_OBJECT' } : {}),
  }), 'CreateMultipartUpload'));
  const partETagsAreMd5 = created.ServerSideEncryption === undefined || created.ServerSideEncryption === 'AES256';
  const checksums = { checksumAlgorithm: sums.algorithm, checksumType: sums.type };
  const plan = { uploadId: created.UploadId!, sourceETag: object.eTag, size: object.size, partSize, partETagsAreMd5, ...checksums };
  try {
    await checkpoints.start(source.key, source.versionId, plan);
  } catch (error) {
    // Not recorded, the upload could never be resumed or found again.
    await abortUpload(destination, upload.Bucket, upload.Key, plan.uploadId);
    throw error;
  }
  return { plan, check };
}

/**
 * The source's part size, when copying with it gives the source's own parts: part 1's size, if the
 * source's part count follows from it and a part fits the memory budget. Undefined otherwise.
 */
async function uniformSourcePartSize(request: MultipartCopyRequest, sourcePartCount: number): Promise<number | undefined> {
  const { source, object, limits } = request;
  const first = await headPart(source, 1);
  const size = first.ContentLength ?? 0;
  const fits = size >= 5 * 1024 * 1024 && size <= limits.memoryBudget && (first.PartsCount ?? sourcePartCount) === sourcePartCount;
  return fits && partCount(object.size, size) === sourcePartCount ? size : undefined;
}

/** A resumed upload keeps the part-by-part check only if every recorded part has its MD5. */
function resumedCheck(object: SourceObject, saved: UploadCheckpoint): SourceCheck {
  const check = sourceCheckFor(object.eTag, object.serverSideEncryption);
  // A whole-object MD5 cannot be continued across invocations: the parts' CRC32s still hold.
  if (check.kind === 'md5' && saved.parts.length > 0) return { kind: 'transit' };
  if (check.kind === 'multipart-md5' && (saved.parts.some((part) => !part.md5) || partCount(saved.size, saved.partSize) !== check.partCount)) {
    return { kind: 'transit' };
  }
  return check;
}

/** Runs the parts not yet copied, at most `partsInFlight` at once, until done, failed or out of time. */
async function copyParts(
  request: MultipartCopyRequest, plan: UploadPlan, check: SourceCheck, parts: Map<number, CompletedPart>,
  takeFirstBody: () => Readable | undefined, digest?: OrderedDigest,
): Promise<void> {
  const { source, object, destination, upload, checkpoints, limits } = request;
  const pending = Array.from({ length: partCount(plan.size, plan.partSize) }, (_, index) => index + 1).filter((n) => !parts.has(n));
  let next = 0;
  let slowestPartMs: number | undefined;
  let failure: unknown;
  const retryPart = <T>(operation: () => Promise<T>) => retryTransient(operation, PART_ATTEMPTS, limits.partRetryBackoffMs ?? PART_RETRY_BACKOFF_MS);
  // Part 1 from the first GET's body when this call copies it; a failed read of that body is not
  // an answer about the source (a stalled or reset connection): part 1 is then read as any other.
  const read = (range: PartRange, buffer: Buffer) => {
    const first = range.partNumber === 1 ? takeFirstBody() : undefined;
    const ranged = () => readRange(source, object.eTag, range, buffer);
    return first ? readFirstPart(first, source.key, range, buffer).catch(ranged) : ranged();
  };
  if (!pending.includes(1)) takeFirstBody()?.destroy();

  const worker = async () => {
    let buffer: Buffer | undefined;
    while (failure === undefined && next < pending.length) {
      if (!hasTimeForPart(limits, slowestPartMs)) return;
      const range = partRange(plan.size, plan.partSize, pending[next++]);
      const started = limits.now();
      try {
        buffer ??= Buffer.allocUnsafe(plan.partSize);
        const bytes = await retryPart(() => read(range, buffer!));
        const algorithm = plan.checksumAlgorithm ?? 'CRC32';
        // Computed here from the bytes read; CRC64NVME by the SDK, and the destination returns it.
        const computed = checksumOf(algorithm, bytes);
        // Hashing is the engine's costliest CPU work: skipped where the destination's part ETag is the MD5.
        const computedMd5 = check.kind === 'multipart-md5' && !plan.partETagsAreMd5 ? md5Hex(bytes) : undefined;
        // Both settle before the worker moves on: a part the destination accepted is always recorded,
        // and no request outlives the copy, even when another part's failure stops the digest.
        const [uploading, hashing] = await Promise.allSettled([
          // Over https the part's payload goes unsigned: its checksum header, which S3 verifies, holds.
          retryPart(() => destination.send(unsignedPayloadOverTls(new UploadPartCommand({
            Bucket: upload.Bucket,
            Key: upload.Key,
            UploadId: plan.uploadId,
            PartNumber: range.partNumber,
            Body: bytes,
            ContentLength: bytes.length,
            ChecksumAlgorithm: algorithm,
            ...(computed ? { [checksumField(algorithm)]: computed } : {}),
          })))),
          digest?.feed(range.partNumber, bytes),
        ]);
        if (uploading.status === 'rejected') throw uploading.reason;
        const uploaded = uploading.value;
        const md5 = check.kind === 'multipart-md5' ? computedMd5 ?? plainMd5Of(uploaded.ETag) : undefined;
        const checksum = computed ?? uploaded[checksumField(algorithm)];
        if (!checksum) throw new Error(`the destination returned no ${algorithm} checksum for part ${range.partNumber} of "${upload.Key}"`);
        const part = { partNumber: range.partNumber, eTag: uploaded.ETag!, checksum, md5 };
        await checkpoints.recordPart(source.key, source.versionId, part);
        parts.set(part.partNumber, part);
        if (hashing.status === 'rejected') throw hashing.reason;
        slowestPartMs = Math.max(slowestPartMs ?? 0, limits.now() - started);
      } catch (error) {
        failure ??= error;
        digest?.fail(error as Error);
      }
    }
  };

  const workers = Math.min(partsInFlight(plan.partSize, limits.memoryBudget), pending.length);
  await Promise.all(Array.from({ length: workers }, worker));
  if (failure !== undefined) throw failure;
}

function hasTimeForPart(limits: CopyLimits, slowestPartMs?: number): boolean {
  const { deadline, reserveMs } = limits;
  return deadline === undefined || canStartPart({ now: limits.now(), deadline, slowestPartMs, reserveMs });
}

/** Checks the copied bytes against the source's ETag, where it is an MD5 the engine can compute. */
async function verify(
  request: MultipartCopyRequest, plan: UploadPlan, check: SourceCheck, parts: Map<number, CompletedPart>, digest?: OrderedDigest,
): Promise<SourceCheck['kind'] | 'checksum'> {
  const { key, versionId } = request.source;
  const checked = await verifyChecksum(request, plan, parts);
  if (check.kind === 'md5') {
    const actual = digest!.hex();
    if (actual !== check.md5Hex) throw new ContentMismatchError(key, versionId, `MD5 ${actual}, ETag ${check.md5Hex}`);
  } else if (check.kind === 'multipart-md5') {
    // A destination that answered a part with something other than an MD5 leaves only the CRC32s.
    if (sorted(parts).some((part) => !part.md5)) return 'transit';
    const actual = multipartETag(sorted(parts).map((part) => part.md5!));
    if (actual !== check.eTag) {
      // Part 1's size predicted the layout; parts of unequal size make the ETag incomparable, not wrong.
      if (!await sourcePartsMatchPlan(request, plan, check.partCount)) return 'transit';
      throw new ContentMismatchError(key, versionId, `parts' ETag ${actual}, source ETag ${check.eTag}`);
    }
  }
  // The engine's own MD5 comes first; the source's checksum names the check only where there is none.
  return check.kind === 'transit' && checked ? 'checksum' : check.kind;
}

/** The source's checksum where the upload can reproduce it (see `multipartChecksumPlan`), else nothing to check. */
function sourceChecksumFor(request: MultipartCopyRequest, plan: UploadPlan): MultipartChecksumPlan | undefined {
  const sums = multipartChecksumPlan(request.object.checksum);
  const same = sums.algorithm === (plan.checksumAlgorithm ?? 'CRC32') && sums.type === (plan.checksumType ?? 'COMPOSITE');
  return same && (sums.expectedComposite || sums.expectedFullObject) ? sums : undefined;
}

/**
 * Checks the parts against the source's checksum before completing, where the engine can: a
 * composite source checksum, when the replica has the source's part count, is recomputed from the
 * parts' checksums (a mismatch with parts of the source's sizes is a content mismatch; with other
 * sizes, incomparable). A full-object CRC is sent with CompleteMultipartUpload, and the destination
 * refuses to complete an object whose CRC differs. True when the source's checksum is checked.
 */
async function verifyChecksum(request: MultipartCopyRequest, plan: UploadPlan, parts: Map<number, CompletedPart>): Promise<boolean> {
  const sums = sourceChecksumFor(request, plan);
  if (sums?.expectedFullObject) return true;
  const expected = sums?.expectedComposite;
  if (!expected || expected.parts !== parts.size) return false;
  const actual = compositeChecksum(sums.algorithm, sorted(parts).map((part) => part.checksum));
  if (actual === expected.value) return true;
  if (!await sourcePartsMatchPlan(request, plan, expected.parts)) return false;
  const { key, versionId } = request.source;
  const detail = `parts' composite ${sums.algorithm} ${actual}-${parts.size}, source's ${expected.value}-${expected.parts}`;
  throw new ContentMismatchError(key, versionId, detail);
}

async function sourcePartsMatchPlan(request: MultipartCopyRequest, plan: UploadPlan, count: number): Promise<boolean> {
  for (let partNumber = 1; partNumber <= count; partNumber++) {
    const part = await headPart(request.source, partNumber);
    if (part.ContentLength !== partRange(plan.size, plan.partSize, partNumber).length) return false;
  }
  return true;
}

async function complete(
  request: MultipartCopyRequest, plan: UploadPlan, parts: Map<number, CompletedPart>,
): Promise<{ destinationVersionId: string; eTag?: string }> {
  const { Bucket, Key } = request.upload;
  const algorithm = plan.checksumAlgorithm ?? 'CRC32';
  const fullObject = sourceChecksumFor(request, plan)?.expectedFullObject;
  // A retried Complete whose first response was lost finds no upload: the claim's recovery finds the replica.
  const result = await request.destination.send(sentOnceUnlessRefused(new CompleteMultipartUploadCommand({
    Bucket,
    Key,
    UploadId: plan.uploadId,
    MultipartUpload: {
      Parts: sorted(parts).map((part) => ({ PartNumber: part.partNumber, ETag: part.eTag, [checksumField(algorithm)]: part.checksum })),
    },
    ...(plan.checksumType === 'FULL_OBJECT' ? { ChecksumType: 'FULL_OBJECT' as const } : {}),
    ...(fullObject ? { [checksumField(algorithm)]: fullObject } : {}),
  }), 'CompleteMultipartUpload'));
  if (!result.VersionId) throw new Error(`destination bucket ${Bucket} returned no version id: enable versioning on it`);
  return { destinationVersionId: result.VersionId, eTag: result.ETag };
}

/** Aborts the upload on the destination and forgets it. */
async function abort(request: MultipartCopyRequest, plan: UploadPlan): Promise<void> {
  await abortUpload(request.destination, request.upload.Bucket, request.upload.Key, plan.uploadId);
  await request.checkpoints.clear(request.source.key, request.source.versionId);
}

/** Aborts the upload in progress for a version, if any: its message will not be copied after all. */
export async function abandonUpload(
  checkpoints: UploadCheckpoints, destination: S3Client, bucket: string, source: { key: string; versionId: string },
): Promise<boolean> {
  const saved = await checkpoints.load(source.key, source.versionId);
  if (!saved) return false;
  await abortUpload(destination, bucket, source.key, saved.uploadId);
  await checkpoints.clear(source.key, source.versionId);
  return true;
}

/** Aborts one upload; one already gone (aborted by a lifecycle rule, say) is as good as aborted. */
export async function abortUpload(destination: S3Client, bucket: string, key: string, uploadId: string): Promise<void> {
  try {
    await destination.send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: key, UploadId: uploadId }));
  } catch (error) {
    if (!isNoSuchUpload(error)) throw error;
  }
}

function sorted(parts: Map<number, CompletedPart>): CompletedPart[] {
  return [...parts.values()].sort((a, b) => a.partNumber - b.partNumber);
}

function isNoSuchUpload(error: unknown): boolean {
  return (error as { name?: string }).name === 'NoSuchUpload';
}
