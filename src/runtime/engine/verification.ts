import { createHash, Hash } from 'crypto';
import { crc32 } from 'zlib';

/**
 * How the bytes of one copy are checked against the source version. Every part is always sent with
 * the CRC32 of the bytes read from the source, so the destination refuses a part that arrives
 * different (`transit`). On top of that, where the source's ETag is an MD5 the engine can compute:
 *
 * - `md5`: a single-request upload, not KMS-encrypted: the ETag is the MD5 of the whole object.
 * - `multipart-md5`: a multipart upload, not KMS-encrypted, whose parts (all but the last) share one
 *   size: the ETag is the MD5 of the parts' MD5s, "-" and the part count. The engine copies with the
 *   source's part size, so each replica part is a source part.
 *
 * A mismatch is found before the upload is completed, so a wrong object is never committed.
 */
export type SourceCheck =
  | { readonly kind: 'md5'; readonly md5Hex: string }
  | { readonly kind: 'multipart-md5'; readonly eTag: string; readonly partCount: number }
  | { readonly kind: 'transit' };

/** The source version's bytes differ from what its ETag says: nothing was committed. */
export class ContentMismatchError extends Error {
  constructor(key: string, versionId: string, detail: string) {
    super(`bytes read from version ${versionId} of "${key}" do not match the source's ETag (${detail}); the upload was aborted and the message will be retried`);
    this.name = 'ContentMismatchError';
  }
}

const PLAIN_MD5 = /^[0-9a-f]{32}$/;
const MULTIPART_MD5 = /^[0-9a-f]{32}-([0-9]+)$/;

/** An ETag without its quotes, lower case. */
const bareETag = (eTag: string | undefined) => (eTag ?? '').replace(/"/g, '').toLowerCase();

/** The hex MD5 an ETag is, when it has an MD5's form (a single-request upload's or part's ETag). */
export function plainMd5Of(eTag: string | undefined): string | undefined {
  const bare = bareETag(eTag);
  return PLAIN_MD5.test(bare) ? bare : undefined;
}

/** What a source version's ETag and encryption allow checking. */
export function sourceCheckFor(eTag: string | undefined, serverSideEncryption: string | undefined): SourceCheck {
  // With SSE-KMS (and SSE-C, which the replicator cannot read) the ETag is not an MD5 of the content.
  if (serverSideEncryption !== undefined && serverSideEncryption !== 'AES256') return { kind: 'transit' };
  const plainMd5 = plainMd5Of(eTag);
  if (plainMd5) return { kind: 'md5', md5Hex: plainMd5 };
  const bare = bareETag(eTag);
  const multipart = MULTIPART_MD5.exec(bare);
  if (multipart) return { kind: 'multipart-md5', eTag: bare, partCount: Number(multipart[1]) };
  return { kind: 'transit' };
}

/** The base64 CRC32 S3 expects in `x-amz-checksum-crc32`. */
export function crc32Base64(bytes: Uint8Array): string {
  const value = Buffer.alloc(4);
  value.writeUInt32BE(crc32(bytes));
  return value.toString('base64');
}

export function md5Hex(bytes: Uint8Array): string {
  return createHash('md5').update(bytes).digest('hex');
}

/** The ETag S3 gives a multipart upload: MD5 of the concatenated part MD5s, "-", the part count. */
export function multipartETag(partMd5Hex: readonly string[]): string {
  const digest = createHash('md5');
  for (const part of partMd5Hex) digest.update(Buffer.from(part, 'hex'));
  return `${digest.digest('hex')}-${partMd5Hex.length}`;
}

/**
 * An MD5 of a whole object fed by parts that arrive in any order: each part waits until every part
 * before it was hashed, so the memory held is only the parts already in flight.
 */
export class OrderedDigest {
  private readonly hash: Hash = createHash('md5');
  private next: number;
  private readonly waiting = new Map<number, { bytes: Uint8Array; done: () => void }>();
  private failure?: Error;
  private readonly rejecters = new Set<(error: Error) => void>();

  constructor(firstPartNumber = 1) {
    this.next = firstPartNumber;
  }

  /** Resolves once this part is hashed (so its buffer may be reused); rejects after `fail`. */
  feed(partNumber: number, bytes: Uint8Array): Promise<void> {
    if (this.failure) return Promise.reject(this.failure);
    return new Promise<void>((resolve, reject) => {
      const done = () => {
        this.rejecters.delete(reject);
        resolve();
      };
      this.rejecters.add(reject);
      this.waiting.set(partNumber, { bytes, done });
      this.drain();
    });
  }

  /** Releases every waiting part with the error: the copy stopped and nothing more will come. */
  fail(error: Error): void {
    this.failure = error;
    for (const reject of this.rejecters) reject(error);
    this.rejecters.clear();
    this.waiting.clear();
  }

  hex(): string {
    return this.hash.digest('hex');
  }

  private drain(): void {
    for (let part = this.waiting.get(this.next); part; part = this.waiting.get(this.next)) {
      this.hash.update(part.bytes);
      this.waiting.delete(this.next);
      this.next++;
      part.done();
    }
  }
}
