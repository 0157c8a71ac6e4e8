import { KNOWN_PARTITIONS } from '../../../../src/runtime/contract/partitions';
import {
  FALLBACK_STORAGE_CLASS, GENERAL_PURPOSE_STORAGE_CLASSES, replicaStorageClass, storageClassesOf, storageClassProblem,
} from '../../../../src/runtime/contract/storage-classes';

describe('replicaStorageClass', () => {
  test.each<[string, string | undefined, string, string | undefined, { storageClass?: string; replacedSourceClass?: string }]>([
    ['a configured class wins', 'STANDARD_IA', 'aws-us-gov', 'GLACIER_IR', { storageClass: 'GLACIER_IR' }],
    ['no source class (S3 Standard) stays absent', undefined, 'aws-cn', undefined, { storageClass: undefined }],
    ['a class the destination offers is kept', 'INTELLIGENT_TIERING', 'aws-us-gov', undefined, { storageClass: 'INTELLIGENT_TIERING' }],
    ['deprecated REDUCED_REDUNDANCY is still accepted, so kept', 'REDUCED_REDUNDANCY', 'aws-us-gov', undefined, { storageClass: 'REDUCED_REDUNDANCY' }],
    ['Express One Zone (directory buckets only) becomes STANDARD', 'EXPRESS_ONEZONE', 'aws-us-gov', undefined,
      { storageClass: 'STANDARD', replacedSourceClass: 'EXPRESS_ONEZONE' }],
    ['an Outposts class becomes STANDARD', 'OUTPOSTS', 'aws', undefined, { storageClass: 'STANDARD', replacedSourceClass: 'OUTPOSTS' }],
    ['a Snow class becomes STANDARD', 'SNOW', 'aws-cn', undefined, { storageClass: 'STANDARD', replacedSourceClass: 'SNOW' }],
    ['an FSx class becomes STANDARD', 'FSX_OPENZFS', 'aws-us-gov', undefined, { storageClass: 'STANDARD', replacedSourceClass: 'FSX_OPENZFS' }],
    ['a class newer than this library becomes STANDARD', 'FUTURE_CLASS', 'aws-us-gov', undefined, { storageClass: 'STANDARD', replacedSourceClass: 'FUTURE_CLASS' }],
    ['an isolated partition: the general purpose set is assumed', 'GLACIER_IR', 'aws-iso-b', undefined, { storageClass: 'GLACIER_IR' }],
    ['an isolated partition still refuses Express One Zone', 'EXPRESS_ONEZONE', 'aws-iso', undefined,
      { storageClass: 'STANDARD', replacedSourceClass: 'EXPRESS_ONEZONE' }],
    ['no partition known: the general purpose set', 'SNOW', undefined as unknown as string, undefined, { storageClass: 'STANDARD', replacedSourceClass: 'SNOW' }],
  ])('%s', (_label, sourceClass, partition, configured, expected) => {
    expect(replicaStorageClass(sourceClass, partition, configured)).toEqual(expected);
  });

  test('the fallback is a class every partition offers', () => {
    for (const partition of KNOWN_PARTITIONS) expect(storageClassesOf(partition)).toContain(FALLBACK_STORAGE_CLASS);
  });

  test('GLACIER and DEEP_ARCHIVE are writable classes (their sources are skipped as archived before any PUT)', () => {
    expect(GENERAL_PURPOSE_STORAGE_CLASSES).toEqual(expect.arrayContaining(['GLACIER', 'DEEP_ARCHIVE']));
  });
});

describe('storageClassProblem', () => {
  test('a general purpose class in GovCloud and China: none', () => {
    for (const storageClass of GENERAL_PURPOSE_STORAGE_CLASSES) {
      expect(storageClassProblem(storageClass, 'aws-us-gov')).toBeUndefined();
      expect(storageClassProblem(storageClass, 'aws-cn')).toBeUndefined();
    }
  });

  test('Express One Zone says why and what to use instead', () => {
    expect(storageClassProblem('EXPRESS_ONEZONE', 'aws-us-gov')).toBe(
      'S3 Express One Zone stores objects only in directory buckets, which have no versioning, and the destination must be a versioned ' +
      'general purpose bucket; use one of STANDARD, STANDARD_IA, ONEZONE_IA, INTELLIGENT_TIERING, GLACIER_IR, GLACIER, DEEP_ARCHIVE, REDUCED_REDUNDANCY');
  });

  test('another class names the partition', () => {
    expect(storageClassProblem('SNOW', 'aws-cn')).toMatch(/^a versioned general purpose bucket in partition aws-cn does not take it; use one of STANDARD,/);
  });
});
