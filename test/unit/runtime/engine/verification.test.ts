import { createHash } from 'crypto';
import { crc32Base64, md5Hex, multipartETag, sourceCheckFor } from '../../../../src/runtime/engine/verification';

describe('sourceCheckFor', () => {
  const md5 = 'd41d8cd98f00b204e9800998ecf8427e';

  test('a plain ETag of an unencrypted or SSE-S3 object is its MD5', () => {
    expect(sourceCheckFor(`"${md5}"`, undefined)).toEqual({ kind: 'md5', md5Hex: md5 });
    expect(sourceCheckFor(`"${md5.toUpperCase()}"`, 'AES256')).toEqual({ kind: 'md5', md5Hex: md5 });
  });

  test('a multipart ETag names its part count', () => {
    expect(sourceCheckFor(`"${md5}-17"`, undefined)).toEqual({ kind: 'multipart-md5', eTag: `${md5}-17`, partCount: 17 });
  });

  test.each(['aws:kms', 'aws:kms:dsse'])('with %s the ETag is not an MD5 of the bytes', (sse) => {
    expect(sourceCheckFor(`"${md5}"`, sse)).toEqual({ kind: 'transit' });
  });

  test.each([undefined, '', '"not-an-md5"', `"${md5}-"`])('ETag %j allows only the transit check', (eTag) => {
    expect(sourceCheckFor(eTag, undefined)).toEqual({ kind: 'transit' });
  });
});

describe('digests', () => {
  test('crc32Base64 is the big-endian CRC32 S3 expects (RFC 3720 check value of "123456789")', () => {
    expect(Buffer.from(crc32Base64(Buffer.from('123456789')), 'base64').toString('hex')).toBe('cbf43926');
  });

  test('multipartETag is the MD5 of the part MD5s with the part count, as S3 computes it', () => {
    const parts = [Buffer.alloc(5 * 1024 * 1024, 1), Buffer.from('abc')];
    // The ETag moto (like S3) gave these two parts in an upload (see the field probe in the engine tests).
    expect(multipartETag(parts.map(md5Hex))).toBe('b37b053ba25049949b0827a88720b543-2');
    const manual = createHash('md5').update(Buffer.concat(parts.map((part) => createHash('md5').update(part).digest()))).digest('hex');
    expect(multipartETag(parts.map(md5Hex))).toBe(`${manual}-2`);
  });
});
