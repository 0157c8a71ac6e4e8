import {
  decodeInventoryKey, inventoryColumns, inventoryEntry, InventoryError, parseCsvLine, parseManifest, parseS3Location, splitChunk,
} from '../../../../src/runtime/backfill/inventory';

const SCHEMA = 'Bucket, Key, VersionId, IsLatest, IsDeleteMarker, Size, LastModifiedDate, ETag';
const manifest = (fields: Record<string, unknown> = {}) => JSON.stringify({
  sourceBucket: 'source',
  destinationBucket: 'arn:aws:s3:::inventories',
  version: '2016-11-30',
  creationTimestamp: '1514944800000',
  fileFormat: 'CSV',
  fileSchema: SCHEMA,
  files: [{ key: 'source/all/data/a.csv.gz', size: 10, MD5checksum: 'ABCDEF' }],
  ...fields,
});

describe('the manifest', () => {
  test('gives the files, their bucket and the columns', () => {
    const parsed = parseManifest(manifest(), 'source');
    expect(parsed.bucket).toBe('inventories');
    expect(parsed.files).toEqual([{ key: 'source/all/data/a.csv.gz', size: 10, md5: 'abcdef' }]);
    expect(parsed.columns).toMatchObject({ count: 8, key: 1, versionId: 2, isLatest: 3, isDeleteMarker: 4, size: 5, lastModified: 6, eTag: 7 });
  });

  test('of another bucket is refused, naming both buckets', () => {
    expect(() => parseManifest(manifest({ sourceBucket: 'other' }), 'source')).toThrow(/inventory of bucket "other", not of the replicated bucket "source"/);
  });

  test('of current versions only is refused: the columns of all versions are missing', () => {
    expect(() => parseManifest(manifest({ fileSchema: 'Bucket, Key, Size' }), 'source'))
      .toThrow('the inventory\'s fileSchema lacks VersionId, IsLatest, IsDeleteMarker: configure the inventory with IncludedObjectVersions "All"');
  });

  test('in another format, without files, or not JSON is refused', () => {
    expect(() => parseManifest(manifest({ fileFormat: 'Parquet' }), 'source')).toThrow(/only CSV/);
    expect(() => parseManifest(manifest({ files: [] }), 'source')).toThrow(/lists no files/);
    expect(() => parseManifest('{', 'source')).toThrow(InventoryError);
  });

  test('columns in another order, with others between', () => {
    expect(inventoryColumns('IsDeleteMarker,StorageClass,Key,IsLatest,Bucket,VersionId')).toEqual({
      count: 6, key: 2, versionId: 5, isLatest: 3, isDeleteMarker: 0, size: undefined, lastModified: undefined, eTag: undefined,
    });
  });

  test('its location is an s3:// URL', () => {
    expect(parseS3Location('s3://inv/p/manifest.json')).toEqual({ bucket: 'inv', key: 'p/manifest.json' });
    expect(() => parseS3Location('inv/manifest.json')).toThrow(/not an s3:\/\/<bucket>\/<key> location/);
  });
});

describe('a line', () => {
  const columns = inventoryColumns(SCHEMA);

  test('quoted fields, a doubled quote inside, and empty fields', () => {
    expect(parseCsvLine('"a","b ""c""","",d')).toEqual(['a', 'b "c"', '', 'd']);
    expect(() => parseCsvLine('"a')).toThrow(/unterminated/);
  });

  test('keys are form-encoded: + is a space, %2B a plus, UTF-8 escaped', () => {
    expect(decodeInventoryKey('a+b%2Bc%2Fd%C3%A9')).toBe('a b+c/dé');
  });

  test('a version', () => {
    expect(inventoryEntry('"source","dir/my+file%2B1","v1","true","false","15","2026-01-02T03:04:05.000Z","abc"', columns)).toEqual({
      key: 'dir/my file+1', versionId: 'v1', kind: 'object', isLatest: true, lastModified: new Date('2026-01-02T03:04:05.000Z'), size: 15, eTag: 'abc',
    });
  });

  test('a delete marker, and a version from before versioning (no version id)', () => {
    expect(inventoryEntry('"source","k","v2","false","true","","2026-01-02T03:04:05.000Z",""', columns))
      .toEqual({ key: 'k', versionId: 'v2', kind: 'deleteMarker', isLatest: false, lastModified: new Date('2026-01-02T03:04:05.000Z') });
    expect(inventoryEntry('"source","k","","true","false","1","2026-01-02T03:04:05.000Z","e"', columns)).toMatchObject({ versionId: 'null' });
  });

  test('with fewer fields than the schema is refused', () => {
    expect(() => inventoryEntry('"source","k"', columns)).toThrow(/2 fields, the fileSchema 8/);
  });
});

describe('a chunk of a file', () => {
  const entry = (key: string, versionId: string) => ({ key, versionId, kind: 'object' as const, isLatest: false, lastModified: new Date(0) });

  test('holds back its last key while the file goes on', () => {
    const entries = [entry('a', '1'), entry('b', '1'), entry('b', '2')];
    expect(splitChunk(entries, false)).toEqual({ now: [entries[0]], heldBack: [entries[1], entries[2]] });
    expect(splitChunk(entries, true)).toEqual({ now: entries, heldBack: [] });
  });

  test('of one key only goes as it is', () => {
    const entries = [entry('b', '1'), entry('b', '2')];
    expect(splitChunk(entries, false)).toEqual({ now: entries, heldBack: [] });
  });
});
