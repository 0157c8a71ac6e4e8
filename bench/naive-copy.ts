// The naive baseline: GET the whole object into one Buffer, then one PutObject of it.
// Its memory is the object's size, and Node 20 caps a Buffer at 4 GiB, so it stops there.
import { performance } from 'node:perf_hooks';
import { Readable } from 'node:stream';
import { GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { S3ServerAddress, s3ClientFor } from './s3-servers';

export interface ObjectRef {
  readonly bucket: string;
  readonly key: string;
}

export interface NaiveCopyResult {
  readonly bytes: number;
  readonly seconds: number;
  readonly bytesPerSecond: number;
}

export async function naiveCopy(srcClient: S3Client, src: ObjectRef, dstClient: S3Client, dst: ObjectRef): Promise<NaiveCopyResult> {
  const start = performance.now();
  const got = await srcClient.send(new GetObjectCommand({ Bucket: src.bucket, Key: src.key }));
  // One buffer of the announced length, filled in place: the least memory a whole-object copy can use.
  const size = got.ContentLength ?? 0;
  const whole = Buffer.allocUnsafe(size);
  let filled = 0;
  for await (const chunk of got.Body as Readable) {
    const bytes = chunk as Buffer;
    if (filled + bytes.length > size) throw new Error(`GET returned more than its ContentLength ${size}`);
    bytes.copy(whole, filled);
    filled += bytes.length;
  }
  if (filled !== size) throw new Error(`GET returned ${filled} bytes of ${size}`);
  await dstClient.send(new PutObjectCommand({ Bucket: dst.bucket, Key: dst.key, Body: whole, ContentLength: size }));
  const seconds = (performance.now() - start) / 1000;
  return { bytes: size, seconds, bytesPerSecond: size / seconds };
}

/** JSON arguments for running the naive copy in a child process (see peak-memory.ts). */
export interface NaiveCopyWorkerArgs {
  readonly src: S3ServerAddress & ObjectRef;
  readonly dst: S3ServerAddress & ObjectRef;
}

/** Entry point for measurePeakMemory: builds its own clients from plain JSON. */
export async function runWorker(args: NaiveCopyWorkerArgs): Promise<NaiveCopyResult> {
  const srcClient = s3ClientFor(args.src, 4);
  const dstClient = s3ClientFor(args.dst, 4);
  try {
    return await naiveCopy(srcClient, args.src, dstClient, args.dst);
  } finally {
    srcClient.destroy();
    dstClient.destroy();
  }
}
