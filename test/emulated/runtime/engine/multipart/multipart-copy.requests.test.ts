import { createHash, randomBytes } from 'crypto';
import { Agent } from 'https';
import { Readable } from 'stream';
import { GetObjectCommandInput, S3Client } from '@aws-sdk/client-s3';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { limits, md5, putSource, setUp, Setup } from './multipart-copy-setup';
import { MIN_PART_SIZE } from '../../../../../src/runtime/engine/multipart/part-plan';
import { copyVersion } from '../../../../../src/runtime/engine/object-copy';
import { destinationClientConfig } from '../../../emulators/partitions';
import { startTlsProxy } from '../../../emulators/tls-proxy';

// What the engine sends for a large object, against the two moto partitions: which GETs read the
// source, and whether a part's payload is signed. The https destination is the same moto server
// behind a TLS front (tls-proxy.ts); moto checks every request's SigV4 signature (IAM auth is on),
// so a part whose x-amz-content-sha256 did not match its signature would be refused.

const sha256Hex = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

/** Records each UploadPart as sent: its x-amz-content-sha256 and its body's SHA-256. */
function observeParts(client: S3Client): { header: string; bodySha256: string }[] {
  const sent: { header: string; bodySha256: string }[] = [];
  // The deserialize step runs after the signer (finalizeRequest step): these are the headers that went out.
  client.middlewareStack.add((next, context) => async (args) => {
    if (context.commandName === 'UploadPartCommand') {
      const request = args.request as { headers: Record<string, string>; body: Uint8Array };
      sent.push({ header: request.headers['x-amz-content-sha256'], bodySha256: sha256Hex(request.body) });
    }
    return next(args);
  }, { step: 'deserialize', name: 'observeParts' });
  return sent;
}

/** The Range of every GetObject the source receives, in order (undefined: the whole object). */
function observeGets(client: S3Client): (string | undefined)[] {
  const ranges: (string | undefined)[] = [];
  client.middlewareStack.add((next, context) => async (args) => {
    if (context.commandName === 'GetObjectCommand') ranges.push((args.input as GetObjectCommandInput).Range);
    return next(args);
  }, { step: 'initialize', name: 'observeGets' });
  return ranges;
}

function copyTo(setup: Setup, destination: S3Client, key: string, versionId: string) {
  const { fixture, source, checkpoints } = setup;
  return copyVersion(
    { client: source, bucket: fixture.sourceBucket, key, versionId },
    destination,
    { bucket: fixture.destinationBucket, replicateTags: true },
    { checkpoints, limits: limits() },
  );
}

describe('the first GET is part 1', () => {
  test('a 3-part copy reads the source with 3 GETs: the whole-object GET gives part 1, ranged GETs the others', async () => {
    const setup = await setUp();
    const body = randomBytes(2 * MIN_PART_SIZE + 4321);
    const versionId = await putSource(setup, 'first.bin', body);
    const ranges = observeGets(setup.source);

    const result = await copyTo(setup, setup.destination, 'first.bin', versionId);

    expect(result).toMatchObject({ status: 'completed', verifiedBy: 'md5' });
    expect(md5((await setup.fixture.destinationObject('first.bin'))!.body)).toBe(md5(body));
    expect(ranges).toHaveLength(3);
    expect(ranges[0]).toBeUndefined();
    expect(ranges.slice(1)).toEqual(expect.arrayContaining([
      `bytes=${MIN_PART_SIZE}-${2 * MIN_PART_SIZE - 1}`,
      `bytes=${2 * MIN_PART_SIZE}-${body.length - 1}`,
    ]));
  });

  test('when the first GET\'s body breaks off, part 1 is read with a ranged GET and the copy is still exact', async () => {
    const setup = await setUp();
    const body = randomBytes(2 * MIN_PART_SIZE + 99);
    const versionId = await putSource(setup, 'broken.bin', body);
    const ranges = observeGets(setup.source);
    // Fault injection (no server breaks a response off on demand): the whole-object GET's body
    // delivers 1 MiB, then its connection resets.
    setup.source.middlewareStack.add((next) => async (args) => {
      const result = await next(args);
      if ((args.input as GetObjectCommandInput).Range === undefined) {
        const original = (result.output as { Body: Readable }).Body;
        (result.output as { Body: Readable }).Body = Readable.from((async function* () {
          let seen = 0;
          for await (const chunk of original) {
            yield chunk;
            seen += (chunk as Buffer).length;
            if (seen >= 1024 * 1024) break;
          }
          original.destroy();
          throw Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' });
        })());
      }
      return result;
    }, { step: 'initialize', name: 'breakFirstBody' });

    const result = await copyTo(setup, setup.destination, 'broken.bin', versionId);

    expect(result).toMatchObject({ status: 'completed', verifiedBy: 'md5' });
    expect(md5((await setup.fixture.destinationObject('broken.bin'))!.body)).toBe(md5(body));
    expect(ranges).toContain(`bytes=0-${MIN_PART_SIZE - 1}`);
  });
});

describe('part payloads: unsigned over https, signed over http', () => {
  test('over https every part goes with UNSIGNED-PAYLOAD and its CRC32; moto accepts the signatures and the replica is exact', async () => {
    const setup = await setUp();
    const proxy = await startTlsProxy(setup.fixture.emulators.destinationEndpoint);
    const destination = new S3Client({
      ...destinationClientConfig(proxy.endpoint, setup.fixture.emulators.destinationAdmin),
      forcePathStyle: true,
      requestHandler: new NodeHttpHandler({ httpsAgent: new Agent({ ca: proxy.ca, keepAlive: true }) }),
    });
    try {
      const body = randomBytes(2 * MIN_PART_SIZE + 17);
      const versionId = await putSource(setup, 'tls.bin', body);
      const sent = observeParts(destination);

      const result = await copyTo(setup, destination, 'tls.bin', versionId);

      expect(result).toMatchObject({ status: 'completed', verifiedBy: 'md5' });
      expect(md5((await setup.fixture.destinationObject('tls.bin'))!.body)).toBe(md5(body));
      expect(sent).toHaveLength(3);
      for (const part of sent) expect(part.header).toBe('UNSIGNED-PAYLOAD');
    } finally {
      destination.destroy();
      await proxy.close();
    }
  });

  test('over plain http every part\'s payload is signed: x-amz-content-sha256 is the SHA-256 of its bytes', async () => {
    const setup = await setUp();
    const versionId = await putSource(setup, 'http.bin', randomBytes(2 * MIN_PART_SIZE + 17));
    const sent = observeParts(setup.destination);

    const result = await copyTo(setup, setup.destination, 'http.bin', versionId);

    expect(result).toMatchObject({ status: 'completed' });
    expect(sent).toHaveLength(3);
    for (const part of sent) expect(part.header).toBe(part.bodySha256);
  });
});
