// The least a parallel copy can do: C workers, each a ranged GET into its own reused buffer, then
// an UploadPart of it (its payload unsigned over https); no checksums, no MD5, no checkpoints. On a machine where the servers and the
// client share the cores, a copy pays for the GET and the PUT side at once, which the separate
// GET and UploadPart limits (raw-throughput.ts) don't show; this is the copy's own ceiling here.
import { performance } from 'node:perf_hooks';
import { Readable } from 'node:stream';
import {
  AbortMultipartUploadCommand,
  CreateMultipartUploadCommand,
  GetObjectCommand,
  HeadObjectCommand,
  S3Client,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import type { RawLimitOptions, Throughput } from './raw-throughput';
import { unsignedPayloadOverTls } from '../src/runtime/engine/payload-signing';

export async function measureRawCopyThroughput(
  source: S3Client, sourceBucket: string, key: string, destination: S3Client, destinationBucket: string, destinationKey: string,
  { concurrency, partSize }: RawLimitOptions,
): Promise<Throughput> {
  const head = await source.send(new HeadObjectCommand({ Bucket: sourceBucket, Key: key }));
  const size = head.ContentLength ?? 0;
  const partCount = Math.ceil(size / partSize);
  const { UploadId } = await destination.send(new CreateMultipartUploadCommand({ Bucket: destinationBucket, Key: destinationKey }));
  let next = 0;
  let bytes = 0;
  const copyParts = async () => {
    const buffer = Buffer.allocUnsafe(partSize);
    for (let i = next++; i < partCount; i = next++) {
      const first = i * partSize;
      const last = Math.min(size, first + partSize) - 1;
      const got = await source.send(new GetObjectCommand({ Bucket: sourceBucket, Key: key, Range: `bytes=${first}-${last}` }));
      let filled = 0;
      for await (const chunk of got.Body as Readable) filled += (chunk as Buffer).copy(buffer, filled);
      // Unsigned over https, as the engine sends parts: the least a copy can do.
      await destination.send(unsignedPayloadOverTls(new UploadPartCommand({
        Bucket: destinationBucket, Key: destinationKey, UploadId, PartNumber: i + 1, Body: buffer.subarray(0, filled), ContentLength: filled,
      })));
      bytes += filled;
    }
  };
  try {
    const start = performance.now();
    await Promise.all(Array.from({ length: Math.min(concurrency, partCount) }, copyParts));
    const seconds = (performance.now() - start) / 1000;
    if (bytes !== size) throw new Error(`raw copy moved ${bytes} bytes of ${size}`);
    return { bytes, seconds, bytesPerSecond: bytes / seconds };
  } finally {
    // Only the rate matters: nothing is kept on the destination.
    await destination.send(new AbortMultipartUploadCommand({ Bucket: destinationBucket, Key: destinationKey, UploadId }));
  }
}
