import { GetObjectCommandOutput } from '@aws-sdk/client-s3';
import { DestinationOptions, encodeTags, replicaParams, sourceDigestHeaders } from '../../../../src/runtime/engine/object-copy';

describe('encodeTags', () => {
  test('undefined for no tags', () => {
    expect(encodeTags([])).toBeUndefined();
  });

  test('a single plain tag', () => {
    expect(encodeTags([{ Key: 'team', Value: 'storage' }])).toBe('team=storage');
  });

  test('URL-encodes spaces, "&", "=", "+", "/" and non-ASCII in keys and values', () => {
    const tags = [
      { Key: 'cost center', Value: 'R&D = research' },
      { Key: 'a=b&c', Value: '1+1' },
      { Key: 'caf\u00e9', Value: '\u65e5\u672c/\u20ac' },
    ];
    const encoded = encodeTags(tags)!;
    expect(encoded).toBe('cost%20center=R%26D%20%3D%20research&a%3Db%26c=1%2B1&caf%C3%A9=%E6%97%A5%E6%9C%AC%2F%E2%82%AC');
    // It decodes back to the same pairs as a query string.
    expect([...new URLSearchParams(encoded)]).toEqual(tags.map((t) => [t.Key, t.Value]));
  });

  test('an empty value is kept as key=', () => {
    expect(encodeTags([{ Key: 'flag', Value: '' }, { Key: 'x', Value: 'y' }])).toBe('flag=&x=y');
  });
});

describe('replicaParams', () => {
  const expires = new Date('2030-01-01T00:00:00Z');
  const metadataHeaders = {
    ContentType: 'text/plain; charset=utf-8',
    CacheControl: 'max-age=60',
    ContentDisposition: 'attachment; filename="a b.txt"',
    ContentEncoding: 'gzip',
    ContentLanguage: 'de-CH',
    Expires: expires,
    Metadata: { 'owner': 'me', 'x-note': 'caf\u00e9' },
  };
  const source = (change: Partial<GetObjectCommandOutput> = {}): GetObjectCommandOutput => ({
    $metadata: {},
    ...metadataHeaders,
    ContentLength: 5,
    ETag: '"b1946ac92492d2347c6235b4d2611184"',
    VersionId: 'source-version',
    ...change,
  });
  const destination = (change: Partial<DestinationOptions> = {}): DestinationOptions => ({ bucket: 'dest', replicateTags: true, ...change });

  test('copies the metadata headers', () => {
    expect(replicaParams(source(), destination())).toMatchObject(metadataHeaders);
  });

  test('does not carry source-only fields (version id, ETag, length)', () => {
    const params = replicaParams(source(), destination()) as Record<string, unknown>;
    expect(params.VersionId).toBeUndefined();
    expect(params.ETag).toBeUndefined();
    expect(params.ContentLength).toBeUndefined();
  });

  test.each<[string, string | undefined, string | undefined, string | undefined]>([
    ['option overrides the source', 'GLACIER_IR', 'STANDARD_IA', 'GLACIER_IR'],
    ['option set, source standard (absent)', 'STANDARD_IA', undefined, 'STANDARD_IA'],
    ['no option: keeps the source class', undefined, 'INTELLIGENT_TIERING', 'INTELLIGENT_TIERING'],
    ['no option, source standard (absent)', undefined, undefined, undefined],
    ['no option, source STANDARD: omitted', undefined, 'STANDARD', undefined],
    ['option STANDARD overrides the source: omitted', 'STANDARD', 'ONEZONE_IA', undefined],
  ])('storage class: %s', (_label, option, sourceClass, expected) => {
    const params = replicaParams(source({ StorageClass: sourceClass as GetObjectCommandOutput['StorageClass'] }), destination({ storageClass: option }));
    expect(params.StorageClass).toBe(expected);
  });

  test('a KMS key sets aws:kms and the key id', () => {
    const kmsKeyArn = 'arn:aws-us-gov:kms:us-gov-west-1:444455556666:key/1234abcd-12ab-34cd-56ef-1234567890ab';
    const params = replicaParams(source({ ServerSideEncryption: 'AES256' }), destination({ kmsKeyArn }));
    expect(params.ServerSideEncryption).toBe('aws:kms');
    expect(params.SSEKMSKeyId).toBe(kmsKeyArn);
  });

  test('bucketKeyEnabled with a KMS key writes the replica with an S3 Bucket Key; without one, never', () => {
    const kmsKeyArn = 'arn:aws-us-gov:kms:us-gov-west-1:444455556666:key/1234abcd-12ab-34cd-56ef-1234567890ab';
    expect(replicaParams(source(), destination({ kmsKeyArn, bucketKeyEnabled: true })).BucketKeyEnabled).toBe(true);
    expect(replicaParams(source(), destination({ kmsKeyArn }))).not.toHaveProperty('BucketKeyEnabled');
    expect(replicaParams(source(), destination({ bucketKeyEnabled: true }))).not.toHaveProperty('BucketKeyEnabled');
  });

  test('a source class the destination does not offer is written as STANDARD, and reported', () => {
    const replaced: string[][] = [];
    const onStorageClassReplaced = (from: string, to: string) => replaced.push([from, to]);
    const params = replicaParams(source({ StorageClass: 'EXPRESS_ONEZONE' }), destination({ partition: 'aws-us-gov', onStorageClassReplaced }));
    expect(params).toHaveProperty('StorageClass', undefined);
    expect(replaced).toEqual([['EXPRESS_ONEZONE', 'STANDARD']]);
    expect(replicaParams(source({ StorageClass: 'GLACIER_IR' }), destination({ partition: 'aws-us-gov', onStorageClassReplaced })).StorageClass).toBe('GLACIER_IR');
    expect(replaced).toHaveLength(1);
  });

  test('without a KMS key, no encryption parameters (the destination bucket default applies)', () => {
    const params = replicaParams(
      source({ ServerSideEncryption: 'aws:kms', SSEKMSKeyId: 'arn:aws:kms:us-east-1:111122223333:key/source-key' }),
      destination(),
    );
    expect(params).not.toHaveProperty('ServerSideEncryption');
    expect(params).not.toHaveProperty('SSEKMSKeyId');
  });

  test('the website redirect travels with the replica', () => {
    expect(replicaParams(source({ WebsiteRedirectLocation: '/new/page.html' }), destination()).WebsiteRedirectLocation).toBe('/new/page.html');
  });

  test('a source without optional headers gives undefined values', () => {
    const params = replicaParams({ $metadata: {} }, destination());
    expect(params.ContentType).toBeUndefined();
    expect(params.Metadata).toBeUndefined();
    expect(params.StorageClass).toBeUndefined();
    expect(params.Expires).toBeUndefined();
  });
});

describe('sourceDigestHeaders', () => {
  const md5 = '9e107d9d372bb6826bd81d3542a419d6';

  test('a plain MD5 ETag becomes Content-MD5, so the destination refuses other bytes', () => {
    const result = sourceDigestHeaders({ ETag: `"${md5}"`, $metadata: {} } as GetObjectCommandOutput);
    expect(result).toEqual({ headers: { ContentMD5: Buffer.from(md5, 'hex').toString('base64') }, verifiedBy: 'md5' });
  });

  test('a KMS-encrypted source with a stored full-object checksum passes the checksum on, with its algorithm', () => {
    const result = sourceDigestHeaders({ ETag: `"${md5}"`, ServerSideEncryption: 'aws:kms', ChecksumCRC64NVME: 'AAAAAAAAAAA=', ChecksumType: 'FULL_OBJECT', $metadata: {} } as GetObjectCommandOutput);
    expect(result).toEqual({ headers: { ChecksumAlgorithm: 'CRC64NVME', ChecksumCRC64NVME: 'AAAAAAAAAAA=' }, verifiedBy: 'checksum' });
  });

  test('a plain MD5 ETag and a full-object checksum: both are sent (S3 checks each), and the checksum is kept on the replica', () => {
    const sha256 = 'n4bQgYhMfWWaL+qgxVrQFaO/TxsrC4Is0V1sFbDwCgg=';
    const result = sourceDigestHeaders({ ETag: `"${md5}"`, ChecksumSHA256: sha256, ChecksumType: 'FULL_OBJECT', $metadata: {} } as GetObjectCommandOutput);
    expect(result).toEqual({
      headers: { ContentMD5: Buffer.from(md5, 'hex').toString('base64'), ChecksumAlgorithm: 'SHA256', ChecksumSHA256: sha256 },
      verifiedBy: 'md5',
    });
  });

  test('a composite checksum of parts is not a whole-object checksum: its algorithm is kept, no value claimed', () => {
    const result = sourceDigestHeaders({ ETag: `"${md5}-2"`, ChecksumCRC32: 'JoWfLw==-2', ChecksumType: 'COMPOSITE', $metadata: {} } as GetObjectCommandOutput);
    expect(result).toEqual({ headers: { ChecksumAlgorithm: 'CRC32' }, verifiedBy: 'transit' });
  });
});
