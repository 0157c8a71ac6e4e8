import { randomBytes } from 'crypto';
import { Readable } from 'stream';
import { GetObjectCommandInput } from '@aws-sdk/client-s3';
import { copy, limits, md5, MiB, pendingUploads, putMultipartSource, putSource, setUp } from './multipart-copy-setup';
import { MIN_PART_SIZE } from '../../../../../src/runtime/engine/multipart/part-plan';
import { CopyResult } from '../../../../../src/runtime/engine/object-copy';
import { ContentMismatchError } from '../../../../../src/runtime/engine/verification';
import * as verification from '../../../../../src/runtime/engine/verification';


// The copy engine against the two moto partitions: the source's bytes, the destination's multipart
// uploads and the table's checkpoints are real. Faults no server produces (a corrupted read, a
// dropped connection) are injected with an SDK middleware, and each test says so.

describe('large objects', () => {
  test('a single-request source is copied in parts, byte for byte, checked against its MD5 ETag', async () => {
    const setup = await setUp();
    const body = randomBytes(2 * MIN_PART_SIZE + 12345);
    const versionId = await putSource(setup, 'big.bin', body);

    const result = await copy(setup, 'big.bin', versionId);

    expect(result).toMatchObject({ status: 'completed', verifiedBy: 'md5', resumedParts: 0 });
    const replica = await setup.fixture.destinationObject('big.bin');
    expect(md5(replica!.body)).toBe(md5(body));
    expect((await setup.fixture.headDestination('big.bin', replica!.versionId!)).ETag).toMatch(/-3"$/);
    expect(setup.counter.count('destination:UploadPartCommand')).toBe(3);
    // GETs of the exact version: the streamed GET that found the size is part 1, then one ranged GET per other part.
    expect(setup.counter.count('source:GetObjectCommand')).toBe(3);
    expect(await pendingUploads(setup)).toBe(0);
    // The parts are forgotten; the completed upload is kept until the caller has recorded the replica.
    expect(await setup.checkpoints.load('big.bin', versionId)).toMatchObject({ parts: [], completed: { destinationVersionId: replica!.versionId, verifiedBy: 'md5' } });
  });

  test('every part carries the CRC32 of its bytes, which S3 checks before accepting it', async () => {
    const setup = await setUp();
    const versionId = await putSource(setup, 'crc.bin', randomBytes(2 * MIN_PART_SIZE + 7));
    // Observes the requests as sent (moto does not verify additional checksums; AWS and MinIO do).
    const sent: { header?: string; crc32: string }[] = [];
    setup.destination.middlewareStack.add((next, context) => async (args) => {
      if (context.commandName === 'UploadPartCommand') {
        const request = args.request as { headers: Record<string, string>; body: Uint8Array };
        sent.push({ header: request.headers['x-amz-checksum-crc32'], crc32: verification.crc32Base64(Buffer.from(request.body)) });
      }
      return next(args);
    }, { step: 'finalizeRequest', name: 'observeParts' });

    await copy(setup, 'crc.bin', versionId);

    expect(sent).toHaveLength(3);
    for (const part of sent) expect(part.header).toBe(part.crc32);
  });

  test('a multipart source keeps its layout, so the replica has the source\'s own ETag', async () => {
    const setup = await setUp();
    const body = randomBytes(3 * 5 * MiB + 777);
    const uploaded = await putMultipartSource(setup, 'parts.bin', body);
    const hashing = jest.spyOn(verification, 'md5Hex');

    const result = await copy(setup, 'parts.bin', uploaded.VersionId!);

    expect(result).toMatchObject({ status: 'completed', verifiedBy: 'multipart-md5' });
    const written = (result as Extract<CopyResult, { status: 'completed' }>).written;
    expect(written.eTag).toBe(uploaded.ETag);
    expect(md5((await setup.fixture.destinationObject('parts.bin'))!.body)).toBe(md5(body));
    // The destination's part ETags are the parts' MD5s: the engine hashed nothing itself.
    expect(hashing).not.toHaveBeenCalled();
    hashing.mockRestore();
  });

  test('to an SSE-KMS destination, whose part ETags are no MD5s, the engine hashes the parts itself', async () => {
    const setup = await setUp();
    const body = randomBytes(2 * 5 * MiB + 5);
    const uploaded = await putMultipartSource(setup, 'kms.bin', body);
    const hashing = jest.spyOn(verification, 'md5Hex');

    const result = await copy(setup, 'kms.bin', uploaded.VersionId!, limits(), `arn:aws-us-gov:kms:us-gov-west-1:123456789012:key/${'1'.repeat(8)}-1111-1111-1111-${'1'.repeat(12)}`);

    expect(result).toMatchObject({ status: 'completed', verifiedBy: 'multipart-md5' });
    expect(hashing).toHaveBeenCalledTimes(3);
    hashing.mockRestore();
  });

  test.each([
    ['a single-request source (whole-object MD5)', false],
    ['a multipart source (MD5 of the part MD5s)', true],
  ])('%s: a part read wrong is never committed', async (_, multipart) => {
    const setup = await setUp();
    const body = randomBytes(3 * (multipart ? 5 * MiB : MIN_PART_SIZE) + 99);
    const versionId = multipart ? (await putMultipartSource(setup, 'flip.bin', body)).VersionId! : await putSource(setup, 'flip.bin', body);
    // Fault injection: a bit flips in the second part's bytes on the way from the source.
    setup.source.middlewareStack.add((next) => async (args) => {
      const result = await next(args);
      const output = result.output as { Body?: Readable };
      const range = ((args as { input: GetObjectCommandInput }).input).Range;
      if (range?.startsWith(`bytes=${multipart ? 5 * MiB : MIN_PART_SIZE}-`)) {
        const bytes = Buffer.concat(await output.Body!.toArray());
        bytes[100] = 255 - bytes[100];
        output.Body = Readable.from([bytes]);
      }
      return result;
    }, { step: 'initialize', name: 'flipBit' });

    const error = await copy(setup, 'flip.bin', versionId).catch((thrown: unknown) => thrown);

    expect(error).toBeInstanceOf(ContentMismatchError);
    expect((error as Error).message).toContain('do not match the source\'s ETag');
    expect((await setup.fixture.destinationVersions('flip.bin')).versions).toHaveLength(0);
    expect(await pendingUploads(setup)).toBe(0);
    expect(await setup.checkpoints.load('flip.bin', versionId)).toBeUndefined();
  });

  test('memory: parts in flight never exceed the budget divided by the part size', async () => {
    const setup = await setUp();
    const versionId = await putSource(setup, 'wide.bin', randomBytes(6 * MIN_PART_SIZE));
    let inFlight = 0;
    let peak = 0;
    setup.destination.middlewareStack.add((next, context) => async (args) => {
      if (context.commandName !== 'UploadPartCommand') return next(args);
      peak = Math.max(peak, ++inFlight);
      try {
        return await next(args);
      } finally {
        inFlight--;
      }
    }, { step: 'initialize', name: 'inFlight' });

    await copy(setup, 'wide.bin', versionId, limits({ memoryBudget: 3 * MIN_PART_SIZE }));

    expect(peak).toBeGreaterThan(1);
    expect(peak).toBeLessThanOrEqual(3);
  });
});
