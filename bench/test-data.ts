// Random test objects of any size, written without ever holding the whole object in memory.
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  PutObjectCommand,
  S3Client,
  UploadPartCommand,
} from '@aws-sdk/client-s3';

export const KiB = 1024;
export const MiB = 1024 * KiB;
export const GiB = 1024 * MiB;

const randomBytesAsync = promisify(randomBytes);

/**
 * Puts `size` random bytes at bucket/key: one PutObject up to `partSize`, else a multipart upload
 * whose parts are generated on the fly (at most `concurrency` parts in memory). Returns the version id.
 */
export async function putRandomObject(
  client: S3Client, bucket: string, key: string, size: number,
  { partSize = 16 * MiB, concurrency = 4 }: { partSize?: number; concurrency?: number } = {},
): Promise<string | undefined> {
  if (size <= partSize) {
    const put = await client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: await randomBytesAsync(size) }));
    return put.VersionId;
  }
  const { UploadId } = await client.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: key }));
  const partCount = Math.ceil(size / partSize);
  const etags: string[] = new Array(partCount);
  let next = 0;
  const uploadParts = async () => {
    for (let i = next++; i < partCount; i = next++) {
      const length = Math.min(partSize, size - i * partSize);
      const part = await client.send(new UploadPartCommand({
        Bucket: bucket, Key: key, UploadId, PartNumber: i + 1, Body: await randomBytesAsync(length),
      }));
      etags[i] = part.ETag!;
    }
  };
  try {
    await Promise.all(Array.from({ length: Math.min(concurrency, partCount) }, uploadParts));
    const done = await client.send(new CompleteMultipartUploadCommand({
      Bucket: bucket,
      Key: key,
      UploadId,
      MultipartUpload: { Parts: etags.map((ETag, i) => ({ ETag, PartNumber: i + 1 })) },
    }));
    return done.VersionId;
  } catch (err) {
    await client.send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: key, UploadId })).catch(() => undefined);
    throw err;
  }
}

/** "64.0 MiB" style sizes and "812.3 MiB/s" style rates for the printed tables. */
export function formatBytes(bytes: number): string {
  if (bytes >= GiB) return `${(bytes / GiB).toFixed(2)} GiB`;
  if (bytes >= MiB) return `${(bytes / MiB).toFixed(1)} MiB`;
  return `${(bytes / KiB).toFixed(1)} KiB`;
}

export function formatRate(bytesPerSecond: number): string {
  return `${(bytesPerSecond / MiB).toFixed(1)} MiB/s`;
}
