import { GetObjectCommandOutput } from '@aws-sdk/client-s3';
import { DestinationOptions, encodeTags, MIN_PART_SIZE, partSizeFor, replicaParams } from '../../src/runtime/object-copy';

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;
const TiB = 1024 * GiB;
const MAX_OBJECT_SIZE = 5 * TiB;

describe('partSizeFor', () => {
  const sizes = [
    0,
    1,
    MIN_PART_SIZE - 1,
    MIN_PART_SIZE,
    MIN_PART_SIZE + 1,
    10_000 * MIN_PART_SIZE - 1,
    10_000 * MIN_PART_SIZE,
    10_000 * MIN_PART_SIZE + 1,
    100 * GiB,
    TiB,
    TiB + 1,
    MAX_OBJECT_SIZE - 1,
    MAX_OBJECT_SIZE,
  ];

  test('MIN_PART_SIZE is 8 MiB', () => {
    expect(MIN_PART_SIZE).toBe(8 * MiB);
  });

  test.each(sizes)('size %d: >= 8 MiB, a whole number of MiB, at most 10,000 parts', (size) => {
    const part = partSizeFor(size);
    expect(part).toBeGreaterThanOrEqual(8 * MiB);
    expect(part % MiB).toBe(0);
    expect(Math.ceil(size / part)).toBeLessThanOrEqual(10_000);
    // S3's largest part is 5 GiB.
    expect(part).toBeLessThanOrEqual(5 * GiB);
  });

  test('small objects use the minimum part size', () => {
    expect(partSizeFor(0)).toBe(8 * MiB);
    expect(partSizeFor(5 * MiB)).toBe(8 * MiB);
    expect(partSizeFor(10_000 * 8 * MiB)).toBe(8 * MiB);
  });

  test('just above 10,000 minimum parts, the part grows by one MiB', () => {
    expect(partSizeFor(10_000 * 8 * MiB + 1)).toBe(9 * MiB);
  });

  test('5 TiB uses the smallest whole-MiB part that fits in 10,000 parts', () => {
    const part = partSizeFor(MAX_OBJECT_SIZE);
    expect(part).toBe(525 * MiB);
    expect(Math.ceil(MAX_OBJECT_SIZE / (part - MiB))).toBeGreaterThan(10_000);
  });

  test('never more than 10,000 parts for random sizes up to 5 TiB, and non-decreasing in size', () => {
    let seed = 12345;
    const random = () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    const sample = Array.from({ length: 1000 }, () => Math.floor(random() * MAX_OBJECT_SIZE)).sort((a, b) => a - b);
    let previous = 0;
    for (const size of sample) {
      const part = partSizeFor(size);
      expect(Math.ceil(size / part)).toBeLessThanOrEqual(10_000);
      expect(part % MiB).toBe(0);
      expect(part).toBeGreaterThanOrEqual(previous);
      previous = part;
    }
  });
});

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
  const source = (change: Partial<GetObjectCommandOutput> = {}): GetObjectCommandOutput => ({
    $metadata: {},
    ContentType: 'text/plain; charset=utf-8',
    CacheControl: 'max-age=60',
    ContentDisposition: 'attachment; filename="a b.txt"',
    ContentEncoding: 'gzip',
    ContentLanguage: 'de-CH',
    Expires: expires,
    Metadata: { 'owner': 'me', 'x-note': 'caf\u00e9' },
    ContentLength: 5,
    ETag: '"b1946ac92492d2347c6235b4d2611184"',
    VersionId: 'source-version',
    ...change,
  });
  const destination = (change: Partial<DestinationOptions> = {}): DestinationOptions => ({ bucket: 'dest', replicateTags: true, ...change });

  test('copies the metadata headers', () => {
    expect(replicaParams(source(), destination())).toMatchObject({
      ContentType: 'text/plain; charset=utf-8',
      CacheControl: 'max-age=60',
      ContentDisposition: 'attachment; filename="a b.txt"',
      ContentEncoding: 'gzip',
      ContentLanguage: 'de-CH',
      Expires: expires,
      Metadata: { 'owner': 'me', 'x-note': 'caf\u00e9' },
    });
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

  test('without a KMS key, no encryption parameters (the destination bucket default applies)', () => {
    const params = replicaParams(
      source({ ServerSideEncryption: 'aws:kms', SSEKMSKeyId: 'arn:aws:kms:us-east-1:111122223333:key/source-key' }),
      destination(),
    );
    expect(params).not.toHaveProperty('ServerSideEncryption');
    expect(params).not.toHaveProperty('SSEKMSKeyId');
  });

  test('a source without optional headers gives undefined values', () => {
    const params = replicaParams({ $metadata: {} }, destination());
    expect(params.ContentType).toBeUndefined();
    expect(params.Metadata).toBeUndefined();
    expect(params.StorageClass).toBeUndefined();
    expect(params.Expires).toBeUndefined();
  });
});
