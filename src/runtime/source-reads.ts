import { Readable } from 'stream';
import {
  GetObjectCommand,
  GetObjectCommandOutput,
  GetObjectTaggingCommand,
  HeadObjectCommand,
  HeadObjectCommandOutput,
  S3Client,
  Tag,
} from '@aws-sdk/client-s3';
import type { PartRange } from './part-plan';

/** The source version no longer exists (deleted or expired before its event was processed). */
export class SourceVersionGoneError extends Error {
  constructor(key: string, versionId: string, cause: unknown) {
    super(`source version ${versionId} of "${key}" no longer exists (${(cause as { name?: string }).name ?? 'not found'})`);
    this.name = 'SourceVersionGoneError';
  }
}

/** One exact source version: reads never fall back to "latest", so an overwrite cannot mix objects. */
export interface SourceVersion {
  readonly client: S3Client;
  readonly bucket: string;
  readonly key: string;
  readonly versionId: string;
}

const GONE = new Set(['NoSuchKey', 'NoSuchVersion', 'NotFound', 'MethodNotAllowed']);

/** The whole version, streamed, with its full-object checksum when the source stores one. */
export async function getVersion(version: SourceVersion): Promise<GetObjectCommandOutput> {
  const { client, bucket, key, versionId } = version;
  return goneAware(version, () => client.send(new GetObjectCommand({ Bucket: bucket, Key: key, VersionId: versionId, ChecksumMode: 'ENABLED' })));
}

/**
 * Reads one byte range of the version into `buffer` (reused by the caller, so memory stays at one
 * part) and returns the filled part of it. `eTag` pins the object: a response for different bytes
 * is refused by the source (If-Match), and a short or long body is an error, never a short part.
 */
export async function readRange(version: SourceVersion, eTag: string, range: PartRange, buffer: Buffer): Promise<Buffer> {
  const { client, bucket, key, versionId } = version;
  const response = await goneAware(version, () => client.send(new GetObjectCommand({
    Bucket: bucket, Key: key, VersionId: versionId, Range: `bytes=${range.start}-${range.end}`, IfMatch: eTag,
  })));
  let filled = 0;
  for await (const chunk of response.Body as Readable) {
    const bytes = chunk as Buffer;
    if (filled + bytes.length > range.length) {
      (response.Body as Readable).destroy();
      throw new Error(`the source returned more than the ${range.length} bytes of part ${range.partNumber} of "${key}"`);
    }
    bytes.copy(buffer, filled);
    filled += bytes.length;
  }
  if (filled !== range.length) throw new Error(`the source returned ${filled} of the ${range.length} bytes of part ${range.partNumber} of "${key}"`);
  return buffer.subarray(0, filled);
}

/** One part of a multipart version, as its upload made it: its size, and the upload's part count. */
export async function headPart(version: SourceVersion, partNumber: number): Promise<HeadObjectCommandOutput> {
  const { client, bucket, key, versionId } = version;
  return goneAware(version, () => client.send(new HeadObjectCommand({ Bucket: bucket, Key: key, VersionId: versionId, PartNumber: partNumber })));
}

export async function readTags(version: SourceVersion): Promise<Tag[]> {
  const { client, bucket, key, versionId } = version;
  const result = await goneAware(version, () => client.send(new GetObjectTaggingCommand({ Bucket: bucket, Key: key, VersionId: versionId })));
  return result.TagSet ?? [];
}

async function goneAware<T>(version: SourceVersion, request: () => Promise<T>): Promise<T> {
  try {
    return await request();
  } catch (error) {
    const name = (error as { name?: string }).name ?? '';
    const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
    throw GONE.has(name) || status === 404 ? new SourceVersionGoneError(version.key, version.versionId, error) : error;
  }
}
