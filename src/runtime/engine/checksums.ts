import { createHash } from 'crypto';
import { crc32 } from 'zlib';

/**
 * S3's additional checksums, as a source version carries them and a replica is written with them.
 * Pure: the copy engine asks, these answer, and the tests check every rule without a server.
 *
 * What S3 stores (Amazon S3 User Guide, "Checking object integrity"):
 * - a single-request upload: a FULL_OBJECT checksum of the object, in any of the five algorithms;
 * - a multipart upload: COMPOSITE (a checksum of the parts' checksums, shown as `<value>-<parts>`)
 *   for CRC32, CRC32C, SHA1 and SHA256; FULL_OBJECT for CRC32, CRC32C and CRC64NVME (CRC64NVME is
 *   full-object only, and SHA1/SHA256 have no full-object multipart form).
 */
export const CHECKSUM_ALGORITHMS = ['CRC32', 'CRC32C', 'CRC64NVME', 'SHA1', 'SHA256'] as const;
export type ChecksumAlgorithmName = (typeof CHECKSUM_ALGORITHMS)[number];
export type ChecksumTypeName = 'FULL_OBJECT' | 'COMPOSITE';

/** The response or request field that carries an algorithm's value (`ChecksumCRC32`, ...). */
export type ChecksumField = `Checksum${ChecksumAlgorithmName}`;
export const checksumField = (algorithm: ChecksumAlgorithmName): ChecksumField => `Checksum${algorithm}`;

/** The checksum a source version stores, as `GetObject` with `ChecksumMode: 'ENABLED'` returns it. */
export interface SourceChecksum {
  readonly algorithm: ChecksumAlgorithmName;
  readonly type: ChecksumTypeName;
  /** Base64, without the `-<parts>` suffix of a composite checksum. */
  readonly value: string;
  /** A composite checksum's part count (its `-<parts>` suffix). */
  readonly parts?: number;
}

type ChecksumFields = Partial<Record<ChecksumField, string>> & { readonly ChecksumType?: string };

/** The source's stored checksum, if it has one (the first of the five algorithms a response carries). */
export function sourceChecksumOf(object: ChecksumFields): SourceChecksum | undefined {
  for (const algorithm of CHECKSUM_ALGORITHMS) {
    const stored = object[checksumField(algorithm)];
    if (!stored) continue;
    const composite = /^(.+)-([0-9]+)$/.exec(stored);
    if (composite) return { algorithm, type: 'COMPOSITE', value: composite[1], parts: Number(composite[2]) };
    // A value without a part count is a checksum of the whole object, whatever type a store reports.
    return { algorithm, type: 'FULL_OBJECT', value: stored };
  }
  return undefined;
}

/** Whether S3 can store `algorithm` as a full-object checksum of a multipart upload. */
export const hasFullObjectMultipart = (algorithm: ChecksumAlgorithmName) => algorithm.startsWith('CRC');

/**
 * What a single-request replica (one PUT) is sent with: the source's algorithm, and its value where
 * the source's is a checksum of the whole object, so the destination computes the checksum of the
 * bytes it received, refuses them if they differ and stores the same value. A composite source
 * checksum (a multipart source small enough for one PUT) describes parts a single PUT has not: the
 * replica gets a full-object checksum in the same algorithm, computed by the SDK from the bytes.
 */
export function singleRequestChecksum(source: SourceChecksum | undefined): { algorithm: ChecksumAlgorithmName; value?: string } | undefined {
  if (!source) return undefined;
  return source.type === 'FULL_OBJECT' ? { algorithm: source.algorithm, value: source.value } : { algorithm: source.algorithm };
}

/** How a multipart replica's upload computes its checksum. */
export interface MultipartChecksumPlan {
  readonly algorithm: ChecksumAlgorithmName;
  readonly type: ChecksumTypeName;
  /**
   * The value the completed replica must have, sent with CompleteMultipartUpload so the destination
   * refuses to complete an object whose bytes differ (a full-object CRC of the source).
   */
  readonly expectedFullObject?: string;
  /** The composite value (without `-<parts>`) the parts' checksums must give, checked before completing. */
  readonly expectedComposite?: { readonly value: string; readonly parts: number };
}

/**
 * The replica's upload: the source's algorithm, and its type where S3 allows it for a multipart
 * upload. Without a source checksum: CRC32, composite (every part still checked in transit).
 *
 * - FULL_OBJECT CRC32, CRC32C, CRC64NVME: full-object upload, completed with the source's value.
 * - COMPOSITE: composite upload in the source's algorithm; the value is the source's only when the
 *   replica has the source's parts (the engine copies with the source's part size where they are
 *   uniform), checked before completing.
 * - FULL_OBJECT SHA1/SHA256 (a single-request source over 8 MiB): S3 has no full-object SHA for
 *   multipart uploads, so the replica's SHA checksum is composite and differs from the source's.
 */
export function multipartChecksumPlan(source: SourceChecksum | undefined): MultipartChecksumPlan {
  if (!source) return { algorithm: 'CRC32', type: 'COMPOSITE' };
  if (source.type === 'FULL_OBJECT') {
    return hasFullObjectMultipart(source.algorithm)
      ? { algorithm: source.algorithm, type: 'FULL_OBJECT', expectedFullObject: source.value }
      : { algorithm: source.algorithm, type: 'COMPOSITE' };
  }
  return { algorithm: source.algorithm, type: 'COMPOSITE', expectedComposite: { value: source.value, parts: source.parts ?? 0 } };
}

/**
 * The base64 checksum of `bytes` in `algorithm`, where the engine computes it itself; undefined for
 * CRC64NVME, which the SDK computes (the destination returns it with the part).
 */
export function checksumOf(algorithm: ChecksumAlgorithmName, bytes: Uint8Array): string | undefined {
  switch (algorithm) {
    case 'CRC32': return uint32Base64(crc32(bytes));
    case 'CRC32C': return uint32Base64(crc32c(bytes));
    case 'SHA1': return createHash('sha1').update(bytes).digest('base64');
    case 'SHA256': return createHash('sha256').update(bytes).digest('base64');
    case 'CRC64NVME': return undefined;
  }
}

/**
 * S3's composite checksum of parts (without the `-<parts>` suffix): the algorithm applied to the
 * concatenated binary checksums of the parts, in part order. Undefined for CRC64NVME (never composite).
 */
export function compositeChecksum(algorithm: ChecksumAlgorithmName, partChecksums: readonly string[]): string | undefined {
  return checksumOf(algorithm, Buffer.concat(partChecksums.map((part) => Buffer.from(part, 'base64'))));
}

/* eslint-disable no-bitwise -- CRCs are bit arithmetic */
function uint32Base64(value: number): string {
  const bytes = Buffer.alloc(4);
  bytes.writeUInt32BE(value >>> 0);
  return bytes.toString('base64');
}

/** CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), as S3's `x-amz-checksum-crc32c`. */
const CRC32C_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0x82f63b78 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

export function crc32c(bytes: Uint8Array): number {
  let crc = 0xffffffff;
  for (let i = 0; i < bytes.length; i++) crc = CRC32C_TABLE[(crc ^ bytes[i]) & 0xff] ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}
/* eslint-enable no-bitwise */
