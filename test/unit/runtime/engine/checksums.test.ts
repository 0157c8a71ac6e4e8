import { createHash } from 'crypto';
import {
  checksumOf,
  compositeChecksum,
  crc32c,
  multipartChecksumPlan,
  singleRequestChecksum,
  sourceChecksumOf,
} from '../../../../src/runtime/engine/checksums';

// What a replica's checksum is, given the source's (S3 User Guide, "Checking object integrity"):
// the same algorithm always; the same value where S3 can store it for the replica's upload.

describe('sourceChecksumOf', () => {
  test('no checksum fields: none', () => {
    expect(sourceChecksumOf({})).toBeUndefined();
  });

  test('a value without a part count is a full-object checksum', () => {
    expect(sourceChecksumOf({ ChecksumSHA256: 'abc=', ChecksumType: 'FULL_OBJECT' })).toEqual({ algorithm: 'SHA256', type: 'FULL_OBJECT', value: 'abc=' });
  });

  test('"<value>-<parts>" is a composite checksum of that many parts', () => {
    expect(sourceChecksumOf({ ChecksumCRC32: 'JoWfLw==-3', ChecksumType: 'COMPOSITE' })).toEqual({ algorithm: 'CRC32', type: 'COMPOSITE', value: 'JoWfLw==', parts: 3 });
  });

  test('a full-object multipart CRC (no part count) stays full-object', () => {
    expect(sourceChecksumOf({ ChecksumCRC64NVME: 'AAAAAAAAAAA=', ChecksumType: 'FULL_OBJECT' })).toMatchObject({ algorithm: 'CRC64NVME', type: 'FULL_OBJECT' });
  });
});

describe('singleRequestChecksum (objects up to 8 MiB: one PUT)', () => {
  test.each(['CRC32', 'CRC32C', 'CRC64NVME', 'SHA1', 'SHA256'] as const)('full-object %s: the same algorithm and value', (algorithm) => {
    expect(singleRequestChecksum({ algorithm, type: 'FULL_OBJECT', value: 'v=' })).toEqual({ algorithm, value: 'v=' });
  });

  test('composite (a small multipart source): the algorithm only; the replica gets a full-object value', () => {
    expect(singleRequestChecksum({ algorithm: 'SHA1', type: 'COMPOSITE', value: 'v=', parts: 2 })).toEqual({ algorithm: 'SHA1' });
  });

  test('no source checksum: nothing', () => {
    expect(singleRequestChecksum(undefined)).toBeUndefined();
  });
});

describe('multipartChecksumPlan (objects over 8 MiB: a multipart upload)', () => {
  test('no source checksum: CRC32 composite, as before', () => {
    expect(multipartChecksumPlan(undefined)).toEqual({ algorithm: 'CRC32', type: 'COMPOSITE' });
  });

  test.each(['CRC32', 'CRC32C', 'CRC64NVME'] as const)('full-object %s: a full-object upload completed with the source\'s value', (algorithm) => {
    expect(multipartChecksumPlan({ algorithm, type: 'FULL_OBJECT', value: 'v=' })).toEqual({ algorithm, type: 'FULL_OBJECT', expectedFullObject: 'v=' });
  });

  test.each(['SHA1', 'SHA256'] as const)('full-object %s (S3 has no full-object SHA multipart): composite in the same algorithm, another value', (algorithm) => {
    expect(multipartChecksumPlan({ algorithm, type: 'FULL_OBJECT', value: 'v=' })).toEqual({ algorithm, type: 'COMPOSITE' });
  });

  test.each(['CRC32', 'CRC32C', 'SHA1', 'SHA256'] as const)('composite %s: composite, expected to equal the source\'s over the same parts', (algorithm) => {
    expect(multipartChecksumPlan({ algorithm, type: 'COMPOSITE', value: 'v=', parts: 4 })).toEqual({ algorithm, type: 'COMPOSITE', expectedComposite: { value: 'v=', parts: 4 } });
  });
});

describe('checksumOf and compositeChecksum', () => {
  const check = Buffer.from('123456789');

  test('CRC32C is Castagnoli (check value of "123456789": e3069283)', () => {
    expect(crc32c(check).toString(16)).toBe('e3069283');
    expect(Buffer.from(checksumOf('CRC32C', check)!, 'base64').toString('hex')).toBe('e3069283');
  });

  test('CRC32 (cbf43926), SHA1 and SHA256 as S3 writes them: base64 of the big-endian digest', () => {
    expect(Buffer.from(checksumOf('CRC32', check)!, 'base64').toString('hex')).toBe('cbf43926');
    expect(checksumOf('SHA1', check)).toBe(createHash('sha1').update(check).digest('base64'));
    expect(checksumOf('SHA256', check)).toBe(createHash('sha256').update(check).digest('base64'));
  });

  test('CRC64NVME is left to the SDK', () => {
    expect(checksumOf('CRC64NVME', check)).toBeUndefined();
  });

  test('a composite is the algorithm over the parts\' binary checksums, concatenated in order', () => {
    const parts = [Buffer.from('part one'), Buffer.from('part two')];
    const partSums = parts.map((part) => createHash('sha256').update(part).digest());
    expect(compositeChecksum('SHA256', partSums.map((sum) => sum.toString('base64'))))
      .toBe(createHash('sha256').update(Buffer.concat(partSums)).digest('base64'));
  });
});
