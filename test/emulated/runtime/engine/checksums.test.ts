import { randomBytes } from 'crypto';
import { Readable } from 'stream';
import {
  ChecksumAlgorithm,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  GetObjectCommand,
  GetObjectCommandInput,
  HeadObjectCommand,
  PutObjectCommand,
  S3Client,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { copy, MiB, pendingUploads, setUp, Setup } from './multipart/multipart-copy-setup';
import { checksumField, ChecksumAlgorithmName } from '../../../../src/runtime/engine/checksums';
import { CopyResult } from '../../../../src/runtime/engine/object-copy';
import { ContentMismatchError } from '../../../../src/runtime/engine/verification';

// A source version's additional checksum on its replica, against the two moto partitions: the
// replica has the same algorithm and, where S3 can store it, the same value, read back with
// ChecksumMode ENABLED. What moto 5.2.5 does, per algorithm (its S3 code, moto/s3/responses.py and
// models.py), and so what these tests can and cannot show:
// - PUT with a checksum value: stored as sent, never compared with the body (AWS compares and refuses
//   a mismatch, 400 BadDigest). So for one PUT, "the destination verifies" is AWS's part, not shown here.
// - Multipart: moto computes the completed object's checksum itself from the parts (composite, or
//   full-object) and ignores the value sent with CompleteMultipartUpload. CRC32, SHA1 and SHA256 are
//   computed right; CRC32C and CRC64NVME only with the optional `crc32c` and `awscrt` modules, absent
//   here, and otherwise silently as CRC32. A multipart CRC32C or CRC64NVME source written to moto
//   therefore carries a CRC32 under another name: not tested (the engine's composite check would
//   rightly refuse a CRC32C composite that is not one).
// - HeadObject returns a composite value without its `-<parts>` suffix and without ChecksumType;
//   GetObject returns both, as S3 does. The composite tests read with GetObject.

const ALGORITHMS: ChecksumAlgorithmName[] = ['CRC32', 'CRC32C', 'CRC64NVME', 'SHA1', 'SHA256'];

/** The stored checksum of a version (HeadObject or GetObject with ChecksumMode ENABLED). */
async function storedChecksum(client: S3Client, bucket: string, key: string, versionId: string | undefined, how: 'head' | 'get' = 'head') {
  const input = { Bucket: bucket, Key: key, VersionId: versionId, ChecksumMode: 'ENABLED' as const };
  const output = how === 'head' ? await client.send(new HeadObjectCommand(input)) : await client.send(new GetObjectCommand(input));
  if (how === 'get') (output as { Body?: Readable }).Body?.destroy();
  const found = ALGORITHMS.find((algorithm) => output[checksumField(algorithm)]);
  return { algorithm: found, value: found && output[checksumField(found)], type: output.ChecksumType };
}

const sourceChecksum = (setup: Setup, key: string, versionId: string, how?: 'head' | 'get') =>
  storedChecksum(setup.fixture.sourceS3, setup.fixture.sourceBucket, key, versionId, how);

function replicaChecksum(setup: Setup, key: string, result: CopyResult, how?: 'head' | 'get') {
  const written = (result as Extract<CopyResult, { status: 'completed' }>).written;
  return storedChecksum(setup.fixture.adminS3, setup.fixture.destinationBucket, key, written.destinationVersionId, how);
}

/** A multipart source written with `algorithm` and `type`, in parts of `partSize` (the last shorter). */
async function putMultipartSource(
  setup: Setup, key: string, body: Buffer, algorithm: ChecksumAlgorithmName, type: 'COMPOSITE' | 'FULL_OBJECT',
  options: { partSize?: number; kms?: boolean } = {},
): Promise<string> {
  const { sourceS3: s3, sourceBucket: Bucket } = setup.fixture;
  const partSize = options.partSize ?? 5 * MiB;
  const created = await s3.send(new CreateMultipartUploadCommand({
    Bucket, Key: key, ChecksumAlgorithm: algorithm as ChecksumAlgorithm, ChecksumType: type, ...(options.kms ? { ServerSideEncryption: 'aws:kms' } : {}),
  }));
  const parts = [];
  for (let start = 0, partNumber = 1; start < body.length; start += partSize, partNumber++) {
    const Body = body.subarray(start, start + partSize);
    const part = { Bucket, Key: key, UploadId: created.UploadId, PartNumber: partNumber, Body, ChecksumAlgorithm: algorithm as ChecksumAlgorithm };
    const uploaded = await s3.send(new UploadPartCommand(part));
    parts.push({ PartNumber: partNumber, ETag: uploaded.ETag, [checksumField(algorithm)]: uploaded[checksumField(algorithm)] });
  }
  const complete = { Bucket, Key: key, UploadId: created.UploadId, MultipartUpload: { Parts: parts } };
  const completed = await s3.send(new CompleteMultipartUploadCommand(complete));
  return completed.VersionId!;
}

describe('single-request copies (up to 8 MiB): the source\'s checksum is sent with the PUT', () => {
  test.each(ALGORITHMS)('a small object uploaded with %s: the replica has the same algorithm and value', async (algorithm) => {
    const setup = await setUp();
    const put = await setup.fixture.sourceS3.send(new PutObjectCommand({
      Bucket: setup.fixture.sourceBucket, Key: 'small.txt', Body: `checked with ${algorithm}`, ChecksumAlgorithm: algorithm as ChecksumAlgorithm,
    }));
    const source = await sourceChecksum(setup, 'small.txt', put.VersionId!);
    expect(source).toMatchObject({ algorithm, value: expect.any(String) });
    // Observes the PUT as sent: the source's value and Content-MD5 side by side (S3 checks both).
    const sent: Record<string, string>[] = [];
    setup.destination.middlewareStack.add((next, context) => async (args) => {
      if (context.commandName === 'PutObjectCommand') sent.push((args.request as { headers: Record<string, string> }).headers);
      return next(args);
    }, { step: 'finalizeRequest', name: 'observePut' });

    const result = await copy(setup, 'small.txt', put.VersionId!);

    expect(result).toMatchObject({ status: 'completed', verifiedBy: 'md5' });
    expect(sent[0][`x-amz-checksum-${algorithm.toLowerCase()}`]).toBe(source.value);
    expect(sent[0]['content-md5']).toBeDefined();
    expect(await replicaChecksum(setup, 'small.txt', result)).toEqual(source);
  });

  test('an SSE-KMS source (no MD5 ETag) with SHA-256: the PUT carries the source\'s SHA-256 as its check', async () => {
    const setup = await setUp();
    const put = await setup.fixture.sourceS3.send(new PutObjectCommand({
      Bucket: setup.fixture.sourceBucket, Key: 'kms.txt', Body: 'sealed', ChecksumAlgorithm: 'SHA256', ServerSideEncryption: 'aws:kms',
    }));

    const result = await copy(setup, 'kms.txt', put.VersionId!);

    expect(result).toMatchObject({ status: 'completed', verifiedBy: 'checksum' });
    expect(await replicaChecksum(setup, 'kms.txt', result)).toEqual(await sourceChecksum(setup, 'kms.txt', put.VersionId!));
  });
});

describe('multipart copies (over 8 MiB): the upload takes the source\'s algorithm and type', () => {
  test('a composite CRC32 source of SSE-KMS (no MD5 ETag to match layouts by): the replica is cut into the source\'s parts and gets its value', async () => {
    const setup = await setUp();
    const body = randomBytes(3 * 5 * MiB + 1234);
    const versionId = await putMultipartSource(setup, 'crc32.bin', body, 'CRC32', 'COMPOSITE', { kms: true });
    const source = await sourceChecksum(setup, 'crc32.bin', versionId, 'get');
    expect(source).toMatchObject({ algorithm: 'CRC32', type: 'COMPOSITE', value: expect.stringMatching(/-4$/) });

    const result = await copy(setup, 'crc32.bin', versionId);

    expect(result).toMatchObject({ status: 'completed', verifiedBy: 'checksum' });
    expect(await replicaChecksum(setup, 'crc32.bin', result, 'get')).toEqual(source);
  });

  test.each(['SHA256', 'SHA1'] as const)('a composite %s source: the replica has the same composite checksum', async (algorithm) => {
    const setup = await setUp();
    const versionId = await putMultipartSource(setup, 'sha.bin', randomBytes(2 * 5 * MiB + 77), algorithm, 'COMPOSITE');
    const source = await sourceChecksum(setup, 'sha.bin', versionId, 'get');
    expect(source).toMatchObject({ algorithm, type: 'COMPOSITE', value: expect.stringMatching(/-3$/) });

    const result = await copy(setup, 'sha.bin', versionId);

    // The source's MD5 ETag (of its part MD5s) names the check; the composite was checked too.
    expect(result).toMatchObject({ status: 'completed', verifiedBy: 'multipart-md5' });
    expect(await replicaChecksum(setup, 'sha.bin', result, 'get')).toEqual(source);
  });

  test('a full-object CRC32 source: a full-object upload, completed with the source\'s value; the replica\'s equals it', async () => {
    const setup = await setUp();
    const versionId = await putMultipartSource(setup, 'full.bin', randomBytes(2 * 5 * MiB + 3), 'CRC32', 'FULL_OBJECT');
    const source = await sourceChecksum(setup, 'full.bin', versionId, 'get');
    expect(source).toMatchObject({ algorithm: 'CRC32', type: 'FULL_OBJECT' });
    const completes: Record<string, string>[] = [];
    setup.destination.middlewareStack.add((next, context) => async (args) => {
      if (context.commandName === 'CompleteMultipartUploadCommand') completes.push((args.request as { headers: Record<string, string> }).headers);
      return next(args);
    }, { step: 'finalizeRequest', name: 'observeComplete' });

    const result = await copy(setup, 'full.bin', versionId);

    expect(result).toMatchObject({ status: 'completed' });
    // What S3 verifies before completing (moto ignores it and computes its own, equal here).
    expect(completes[0]).toMatchObject({ 'x-amz-checksum-crc32': source.value, 'x-amz-checksum-type': 'FULL_OBJECT' });
    expect(await replicaChecksum(setup, 'full.bin', result, 'get')).toEqual(source);
  });

  test('a single-request SHA-256 source over 8 MiB: S3 has no full-object SHA multipart, so the replica\'s SHA-256 is composite', async () => {
    const setup = await setUp();
    const put = await setup.fixture.sourceS3.send(new PutObjectCommand({
      Bucket: setup.fixture.sourceBucket, Key: 'sha-big.bin', Body: randomBytes(9 * MiB), ChecksumAlgorithm: 'SHA256',
    }));

    const result = await copy(setup, 'sha-big.bin', put.VersionId!);

    expect(result).toMatchObject({ status: 'completed', verifiedBy: 'md5' });
    expect(await replicaChecksum(setup, 'sha-big.bin', result, 'get')).toMatchObject({ algorithm: 'SHA256', type: 'COMPOSITE', value: expect.stringMatching(/-2$/) });
  });

  test('a part read wrong from a composite-checksum SSE-KMS source is caught by the checksum and never committed', async () => {
    const setup = await setUp();
    const versionId = await putMultipartSource(setup, 'flip.bin', randomBytes(2 * 5 * MiB + 50), 'CRC32', 'COMPOSITE', { kms: true });
    // Fault injection: a bit flips in the second part's bytes on the way from the source (the part's
    // CRC32 is then computed from the wrong bytes, so only the source's composite can tell).
    setup.source.middlewareStack.add((next) => async (args) => {
      const result = await next(args);
      const output = result.output as { Body?: Readable };
      if (((args as { input: GetObjectCommandInput }).input).Range?.startsWith(`bytes=${5 * MiB}-`)) {
        const bytes = Buffer.concat(await output.Body!.toArray());
        bytes[7] = 255 - bytes[7];
        output.Body = Readable.from([bytes]);
      }
      return result;
    }, { step: 'initialize', name: 'flipBit' });

    const error = await copy(setup, 'flip.bin', versionId).catch((thrown: unknown) => thrown);

    expect(error).toBeInstanceOf(ContentMismatchError);
    expect((error as Error).message).toContain('composite CRC32');
    expect((await setup.fixture.destinationVersions('flip.bin')).versions).toHaveLength(0);
    expect(await pendingUploads(setup)).toBe(0);
  });
});

describe('website redirects', () => {
  test.each([['single-request', 100], ['multipart', 9 * MiB]])('a %s replica keeps the source\'s WebsiteRedirectLocation', async (_label, size) => {
    const setup = await setUp();
    const put = await setup.fixture.sourceS3.send(new PutObjectCommand({
      Bucket: setup.fixture.sourceBucket, Key: 'old.html', Body: randomBytes(size), WebsiteRedirectLocation: '/new.html',
    }));

    const result = await copy(setup, 'old.html', put.VersionId!);

    const written = (result as Extract<CopyResult, { status: 'completed' }>).written;
    expect((await setup.fixture.headDestination('old.html', written.destinationVersionId)).WebsiteRedirectLocation).toBe('/new.html');
  });
});
