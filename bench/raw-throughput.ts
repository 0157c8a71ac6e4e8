// The "physical limit" a copy engine is measured against: how fast the servers alone move bytes
// at concurrency C and part size P, with no copying logic in between.
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { Readable } from 'node:stream';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  GetObjectCommand,
  HeadObjectCommand,
  PutObjectCommand,
  S3Client,
  UploadPartCommand,
} from '@aws-sdk/client-s3';

export interface Throughput {
  readonly bytes: number;
  readonly seconds: number;
  readonly bytesPerSecond: number;
}

export interface RawLimitOptions {
  /** Requests in flight. */
  readonly concurrency: number;
  /** Bytes per ranged GET or per UploadPart. */
  readonly partSize: number;
}

/** (a) Ranged GETs covering the whole object, C in flight; bodies are read and discarded. */
export async function measureRangedGetThroughput(
  client: S3Client, bucket: string, key: string, { concurrency, partSize }: RawLimitOptions,
): Promise<Throughput> {
  const head = await client.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
  const size = head.ContentLength ?? 0;
  const partCount = Math.ceil(size / partSize);
  let next = 0;
  let bytes = 0;
  const getParts = async () => {
    for (let i = next++; i < partCount; i = next++) {
      const first = i * partSize;
      const last = Math.min(size, first + partSize) - 1;
      const got = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key, Range: `bytes=${first}-${last}` }));
      for await (const chunk of got.Body as Readable) bytes += (chunk as Buffer).length;
    }
  };
  const start = performance.now();
  await Promise.all(Array.from({ length: Math.min(concurrency, partCount) }, getParts));
  const seconds = (performance.now() - start) / 1000;
  if (bytes !== size) throw new Error(`ranged GETs read ${bytes} bytes of ${size}`);
  return { bytes, seconds, bytesPerSecond: bytes / seconds };
}

export interface UploadPartThroughput extends Throughput {
  /** Including CreateMultipartUpload and Complete/Abort, which the part rate above leaves out. */
  readonly totalSeconds: number;
}

/**
 * (b) UploadPart of one reused in-memory buffer of P bytes, C in flight, `totalBytes` in all; then
 * the upload is completed (leaving an object at bucket/key) or aborted.
 */
export async function measureUploadPartThroughput(
  client: S3Client, bucket: string, key: string, totalBytes: number,
  { concurrency, partSize, finish = 'complete' }: RawLimitOptions & { finish?: 'complete' | 'abort' },
): Promise<UploadPartThroughput> {
  const buffer = randomBytes(partSize);
  const partCount = Math.ceil(totalBytes / partSize);
  const startTotal = performance.now();
  const { UploadId } = await client.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: key }));
  const etags: string[] = new Array(partCount);
  let next = 0;
  const uploadParts = async () => {
    for (let i = next++; i < partCount; i = next++) {
      const length = Math.min(partSize, totalBytes - i * partSize);
      const body = length === partSize ? buffer : buffer.subarray(0, length);
      const part = await client.send(new UploadPartCommand({
        Bucket: bucket, Key: key, UploadId, PartNumber: i + 1, Body: body, ContentLength: length,
      }));
      etags[i] = part.ETag!;
    }
  };
  let seconds: number;
  try {
    const start = performance.now();
    await Promise.all(Array.from({ length: Math.min(concurrency, partCount) }, uploadParts));
    seconds = (performance.now() - start) / 1000;
  } catch (err) {
    await client.send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: key, UploadId })).catch(() => undefined);
    throw err;
  }
  if (finish === 'complete') {
    await client.send(new CompleteMultipartUploadCommand({
      Bucket: bucket,
      Key: key,
      UploadId,
      MultipartUpload: { Parts: etags.map((ETag, i) => ({ ETag, PartNumber: i + 1 })) },
    }));
  } else {
    await client.send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: key, UploadId }));
  }
  const totalSeconds = (performance.now() - startTotal) / 1000;
  return { bytes: totalBytes, seconds, bytesPerSecond: totalBytes / seconds, totalSeconds };
}

export interface SmallObjectLatency {
  readonly iterations: number;
  readonly objectSize: number;
  readonly putMeanMs: number;
  readonly getMeanMs: number;
}

/**
 * (c) Sequential PUTs then GETs of `iterations` small objects (4 KiB by default): the per-request
 * cost an engine pays on every small object. One warm-up PUT+GET opens the connection first.
 */
export async function measureSmallObjectLatency(
  client: S3Client, bucket: string, { iterations = 100, objectSize = 4 * 1024, keyPrefix = 'small/' } = {},
): Promise<SmallObjectLatency> {
  const body = randomBytes(objectSize);
  const keyOf = (i: number) => `${keyPrefix}${i}`;
  await putSmall(client, bucket, keyOf(-1), body);
  await getSmall(client, bucket, keyOf(-1));

  let putMs = 0;
  for (let i = 0; i < iterations; i++) {
    const start = performance.now();
    await putSmall(client, bucket, keyOf(i), body);
    putMs += performance.now() - start;
  }
  let getMs = 0;
  for (let i = 0; i < iterations; i++) {
    const start = performance.now();
    await getSmall(client, bucket, keyOf(i));
    getMs += performance.now() - start;
  }
  return { iterations, objectSize, putMeanMs: putMs / iterations, getMeanMs: getMs / iterations };
}

async function putSmall(client: S3Client, bucket: string, key: string, body: Buffer): Promise<void> {
  await client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body }));
}

async function getSmall(client: S3Client, bucket: string, key: string): Promise<void> {
  const got = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  await got.Body!.transformToByteArray();
}
