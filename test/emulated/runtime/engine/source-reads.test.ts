import { randomBytes } from 'crypto';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DeleteObjectCommand, GetObjectTaggingCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { BackfillRuns } from '../../../../src/runtime/backfill/backfill-runs';
import { createTelemetry } from '../../../../src/runtime/contract/telemetry';
import {
  formDecoded,
  SourceVersionArchivedError,
  SourceVersionGoneError,
  SourceVersionUnreadableError,
} from '../../../../src/runtime/engine/source-reads';
import { metricsForOutcome } from '../../../../src/runtime/replication/outcomes/outcome-metrics';
import { skipForSourceRead } from '../../../../src/runtime/replication/outcomes/source-outcomes';
import { CopyRuntime, createReplicatorHandler } from '../../../../src/runtime/replication/replicator-handler';
import { captureOutput, emittedMetrics } from '../../../support/capture-output';
import { BackfillDriver } from '../../emulators/backfill-driver';
import { sourceClientConfig, sourceS3 } from '../../emulators/partitions';
import { FixtureOptions, ReplicationFixture } from '../../emulators/replication-fixture';
import { S3Event } from '../../emulators/s3-events';

// Reads of the source that fail, against the two moto partitions: a "not found" is a skip only when
// the source's version listing confirms the version is gone; an archived version is skipped as S3
// Replication skips it; an encoded key is replicated under its decoded form; a "Permanently
// Deleted" message acts only once the source confirms the delete. Faults moto cannot produce are
// injected with SDK middleware, and each test says so.

const versionIdOf = (event: S3Event) => event.detail.object['version-id'] as string;

/** The event with its object key replaced (as an encoding producer would deliver it). */
const withKey = (event: S3Event, key: string): S3Event => ({ ...event, detail: { ...event.detail, object: { ...event.detail.object, key } } });

/** A "Permanently Deleted" event for a version, in AWS's shape, without deleting anything at the source. */
function forgedPermanentDelete(fixture: ReplicationFixture, key: string, versionId: string): S3Event {
  const event = fixture.events.lifecycleExpiration(key, versionId, 'Permanently Deleted');
  return { ...event, detail: { ...event.detail, reason: 'DeleteObject', requester: '123456789012' } };
}

/** Replicates with the handlers' logs and metrics captured (the fixture's log level decides which lines). */
async function replicateCaptured(fixture: ReplicationFixture, events: S3Event[]) {
  const { result, lines } = await captureOutput(() => fixture.replicate(events, { allowDeadLetters: true }));
  return { result, lines, metrics: emittedMetrics(lines) };
}

/** The fixture's replicator handler, reading the source (or the table) through clients whose middleware injects a fault. */
function replicatorThrough(
  fixture: ReplicationFixture, clients: { s3?: S3Client; dynamodb?: DynamoDBClient }, runtime: CopyRuntime = { memoryBudget: 64 * 1024 * 1024 },
) {
  const dynamodb = clients.dynamodb ?? fixture.dynamodb;
  return createReplicatorHandler(
    fixture.settings,
    {
      s3: clients.s3 ?? sourceS3(fixture.emulators.sourceEndpoint, fixture.emulators.sourceAdmin),
      dynamodb,
      secretsManager: fixture.secretsManager,
      sqs: fixture.sqs,
    },
    createTelemetry('replicator', { logLevel: 'ERROR' }),
    runtime,
    new BackfillRuns(dynamodb, fixture.tableName),
  );
}

describe('a source read that finds nothing', () => {
  test('is a skip with SourceVersionGone when the version is absent from the source\'s listing', async () => {
    const fixture = await ReplicationFixture.create();
    const created = await fixture.events.put('short-lived.txt', 'x');
    // Deleted for good before its event is processed; the delete's own event has not arrived.
    await fixture.sourceS3.send(new DeleteObjectCommand({ Bucket: fixture.sourceBucket, Key: 'short-lived.txt', VersionId: versionIdOf(created) }));

    const { result, metrics } = await replicateCaptured(fixture, [created]);

    expect(result).toEqual({ processed: 1, failures: 0 });
    expect(metrics.SourceVersionGone).toBe(1);
    expect((await fixture.destinationVersions('short-lived.txt')).versions).toHaveLength(0);
  });

  test('fails and is dead-lettered when the source still lists the version (a delete marker\'s id in a created event: 405)', async () => {
    const fixture = await ReplicationFixture.create();
    await fixture.events.put('marked.txt', 'x');
    const marker = await fixture.events.deleteMarker('marked.txt');
    // An "Object Created" event naming a delete marker's version: moto answers the GET with 405
    // MethodNotAllowed, as S3 does. Before, any 404/405 was taken for "gone" and skipped silently.
    const shape = await fixture.events.put('other.txt', 'y');
    const forged = withKey({ ...shape, detail: { ...shape.detail, object: { ...shape.detail.object, 'version-id': versionIdOf(marker) } } }, 'marked.txt');

    const { result, metrics } = await replicateCaptured(fixture, [forged]);

    expect(result.deadLettered).toHaveLength(1);
    expect(metrics.SourceVersionGone).toBeUndefined();
    expect(metrics.ReplicationFailures).toBe(3);
  });

  test('a "not found" that clears is retried and the version replicates', async () => {
    const fixture = await ReplicationFixture.create();
    const created = await fixture.events.put('flaky.txt', 'arrives');
    // Fault injection: the first GET of the version answers 404 NoSuchKey although the version
    // exists (what a misrouted or inconsistent read looks like); moto cannot be made to do this.
    const source = sourceS3(fixture.emulators.sourceEndpoint, fixture.emulators.sourceAdmin);
    let failed = 0;
    source.middlewareStack.add((next, context) => async (args) => {
      if (context.commandName === 'GetObjectCommand' && failed++ === 0) {
        throw Object.assign(new Error('The specified key does not exist.'), { name: 'NoSuchKey', $metadata: { httpStatusCode: 404 } });
      }
      return next(args);
    }, { step: 'initialize', name: 'spuriousNotFound' });
    const handler = replicatorThrough(fixture, { s3: source });
    await fixture.routerHandler(created);

    const { result, lines } = await captureOutput(() => fixture.drain(3, handler));

    expect(result).toEqual({ processed: 1, failures: 1 });
    expect(emittedMetrics(lines).SourceVersionGone).toBeUndefined();
    expect(lines.join('\n')).toContain('SourceVersionUnreadableError');
    expect((await fixture.destinationObject('flaky.txt'))?.body.toString()).toBe('arrives');
  });
});

describe('keys as delivered and URL-encoded keys', () => {
  test('a key with a literal "+" that exists as it is replicates under that exact key, even when its decoded form exists too', async () => {
    const fixture = await ReplicationFixture.create();
    const spaced = await fixture.events.put('a b.txt', 'the spaced one');
    const plus = await fixture.events.put('a+b.txt', 'the plus one');

    const { result, metrics } = await replicateCaptured(fixture, [plus]);

    expect(result).toEqual({ processed: 1, failures: 0 });
    expect(metrics.EncodedKeysDecoded).toBeUndefined();
    expect((await fixture.destinationObject('a+b.txt'))?.body.toString()).toBe('the plus one');
    expect(await fixture.destinationObject('a b.txt')).toBeUndefined();
    expect(versionIdOf(spaced)).not.toBe(versionIdOf(plus));
  });

  test.each([
    ['"+" for spaces, %XX for the rest', 'reports/annual+report+100%25+%C3%BC.pdf'],
    ['%20 for spaces', 'reports/annual%20report%20100%25%20%C3%BC.pdf'],
  ])('an event whose key is the encoded form (%s) of an existing key replicates to the decoded key', async (_, encoded) => {
    const fixture = await ReplicationFixture.create();
    const key = 'reports/annual report 100% ü.pdf';
    const created = await fixture.events.put(key, 'the report', { Tagging: 'team=finance' });

    const { result, metrics } = await replicateCaptured(fixture, [withKey(created, encoded)]);

    expect(result).toEqual({ processed: 1, failures: 0 });
    expect(metrics.EncodedKeysDecoded).toBe(1);
    expect(metrics.ObjectsReplicated).toBe(1);
    const replica = await fixture.destinationObject(key);
    expect(replica).toMatchObject({ tags: { team: 'finance' } });
    expect(replica?.body.toString()).toBe('the report');
    expect((await fixture.destinationVersions(encoded)).versions).toHaveLength(0);
    // Recorded under the key it was replicated to: the key's later events find it.
    const { version } = await fixture.versionTable.load(key, versionIdOf(created));
    expect(version?.destinationVersionId).toBe(replica?.versionId);
  });

  test('an encoded key whose decoded form does not hold the version either is a verified skip', async () => {
    const fixture = await ReplicationFixture.create();
    const created = await fixture.events.put('x y.txt', 'x');
    await fixture.sourceS3.send(new DeleteObjectCommand({ Bucket: fixture.sourceBucket, Key: 'x y.txt', VersionId: versionIdOf(created) }));

    const { result, metrics } = await replicateCaptured(fixture, [withKey(created, 'x+y.txt')]);

    expect(result).toEqual({ processed: 1, failures: 0 });
    expect(metrics.SourceVersionGone).toBe(1);
    expect(metrics.EncodedKeysDecoded).toBeUndefined();
  });
});

describe('archived source versions', () => {
  const archivedOptions: FixtureOptions = { logLevel: 'WARN' };

  // moto 5.2.5 answers a GET of a GLACIER or DEEP_ARCHIVE object (not restored) with 403
  // InvalidObjectState, as S3 does, so these run on the server as it is.
  test.each(['GLACIER', 'DEEP_ARCHIVE'] as const)('a %s version is skipped as archived, with its metric and a warning, not dead-lettered', async (storageClass) => {
    const fixture = await ReplicationFixture.create(archivedOptions);
    const created = await fixture.events.put('cold/archive.bin', 'frozen', { StorageClass: storageClass });

    const { result, lines, metrics } = await replicateCaptured(fixture, [created]);

    expect(result).toEqual({ processed: 1, failures: 0 });
    expect(result.deadLettered).toBeUndefined();
    expect(metrics).toMatchObject({ EventsSkipped: 1, ArchivedVersionsSkipped: 1 });
    expect(metrics.ReplicationFailures).toBeUndefined();
    const warning = lines.map((line) => JSON.parse(line)).find((line) => line.level === 'WARN');
    expect(warning).toMatchObject({ key: 'cold/archive.bin', outcome: { action: 'skip', reason: 'archived' } });
    expect((await fixture.destinationVersions('cold/archive.bin')).versions).toHaveLength(0);
  });

  test('an Intelligent-Tiering version in an archive tier is skipped as archived', async () => {
    const fixture = await ReplicationFixture.create();
    const created = await fixture.events.put('tiered.bin', 'archived tier', { StorageClass: 'INTELLIGENT_TIERING' });
    // Fault injection: moto does not model Intelligent-Tiering's archive tiers; S3 answers a GET of
    // an object in ARCHIVE_ACCESS or DEEP_ARCHIVE_ACCESS with 403 InvalidObjectState, as here.
    const source = sourceS3(fixture.emulators.sourceEndpoint, fixture.emulators.sourceAdmin);
    source.middlewareStack.add((next, context) => async (args) => {
      if (context.commandName === 'GetObjectCommand') {
        throw Object.assign(new Error('The operation is not valid for the object\'s access tier'), {
          name: 'InvalidObjectState', StorageClass: 'INTELLIGENT_TIERING', AccessTier: 'ARCHIVE_ACCESS', $metadata: { httpStatusCode: 403 },
        });
      }
      return next(args);
    }, { step: 'initialize', name: 'archiveTier' });
    const handler = replicatorThrough(fixture, { s3: source });
    await fixture.routerHandler(created);

    const { result, lines } = await captureOutput(() => fixture.drain(3, handler));

    expect(result).toEqual({ processed: 1, failures: 0 });
    expect(emittedMetrics(lines).ArchivedVersionsSkipped).toBe(1);
  });

  test('a backfill reports an archived version as skipped, archived', async () => {
    const fixture = await ReplicationFixture.create();
    await fixture.sourceS3.send(new PutObjectCommand({ Bucket: fixture.sourceBucket, Key: 'cold.bin', Body: 'frozen', StorageClass: 'GLACIER' }));
    await fixture.sourceS3.send(new PutObjectCommand({ Bucket: fixture.sourceBucket, Key: 'warm.bin', Body: 'warm' }));
    const driver = await BackfillDriver.create(fixture);

    const runId = await driver.start('all-versions');
    const { lines: output } = await captureOutput(() => driver.drive());
    const { lines, summary } = await driver.report(runId);

    expect(summary.outcomes).toMatchObject({ replicated: 1, skipped: 1 });
    expect(lines.find((line) => line.key === 'cold.bin')).toMatchObject({ outcome: 'skipped', reason: 'archived' });
    expect(emittedMetrics(output).ArchivedVersionsSkipped).toBe(1);
  });
});

describe('"Permanently Deleted" at the trust boundary', () => {
  test('a forged delete of a version that still exists deletes nothing and is dead-lettered', async () => {
    const fixture = await ReplicationFixture.create({ replicateVersionDeletes: true });
    const v1 = await fixture.events.put('kept.txt', 'v1');
    const v2 = await fixture.events.put('kept.txt', 'v2');
    await fixture.replicate([v1, v2]);

    const { result } = await replicateCaptured(fixture, [forgedPermanentDelete(fixture, 'kept.txt', versionIdOf(v2))]);

    expect(result.deadLettered).toHaveLength(1);
    expect(result.deadLettered![0]).toContain(versionIdOf(v2));
    expect((await fixture.destinationObject('kept.txt'))?.body.toString()).toBe('v2');
    expect((await fixture.destinationVersions('kept.txt')).versions).toHaveLength(2);
    expect((await fixture.versionTable.load('kept.txt', versionIdOf(v2))).version?.state).toBe('replicated');
  });

  test('a forged delete of a version not yet replicated is not remembered: its copy event still replicates', async () => {
    const fixture = await ReplicationFixture.create({ replicateVersionDeletes: true });
    const created = await fixture.events.put('early.txt', 'real');

    const { result } = await replicateCaptured(fixture, [forgedPermanentDelete(fixture, 'early.txt', versionIdOf(created))]);
    expect(result.deadLettered).toHaveLength(1);
    expect((await fixture.versionTable.load('early.txt', versionIdOf(created))).version).toBeUndefined();

    expect(await fixture.replicate([created])).toEqual({ processed: 1, failures: 0 });
    expect((await fixture.destinationObject('early.txt'))?.body.toString()).toBe('real');
  });

  test('a real permanent delete still deletes the replica', async () => {
    const fixture = await ReplicationFixture.create({ replicateVersionDeletes: true });
    const v1 = await fixture.events.put('really.txt', 'v1');
    const v2 = await fixture.events.put('really.txt', 'v2');
    await fixture.replicate([v1, v2]);

    expect(await fixture.replicate([await fixture.events.deleteVersion('really.txt', versionIdOf(v2))])).toEqual({ processed: 1, failures: 0 });
    expect((await fixture.destinationObject('really.txt'))?.body.toString()).toBe('v1');
  });
});

describe('a large copy suspended before any part', () => {
  const MiB = 1024 * 1024;

  test('resumes with the tags a tag event changed meanwhile', async () => {
    // The invocation clock stands still except when the test moves it.
    let clock = 0;
    const invocation = { timeMs: 60_000, now: () => clock, reserveMs: 0 };
    const fixture = await ReplicationFixture.create({ invocation, memoryBudget: 8 * MiB });
    const created = await fixture.events.put('paused.bin', randomBytes(2 * 8 * MiB + 1), { Tagging: 'stage=draft' });
    const versionId = versionIdOf(created);
    await fixture.routerHandler(created);
    // Right after the upload is created (with the tags read then) and recorded, the invocation's
    // time is up, so not one part is copied; the tags change and their event queues ahead of the
    // copy's continuation. Not a mock: the clock moves and the tag change is real.
    let moved = false;
    const dynamodb = new DynamoDBClient(sourceClientConfig(fixture.emulators.sourceEndpoint, fixture.emulators.sourceAdmin));
    dynamodb.middlewareStack.add((next, context) => async (args) => {
      const result = await next(args);
      const item = (args as { input: { Item?: Record<string, { S?: string }> } }).input.Item;
      if (!moved && context.commandName === 'PutItemCommand' && item?.sk?.S === 'upload') {
        moved = true;
        clock += 10 * invocation.timeMs;
        await fixture.routerHandler(await fixture.events.tag('paused.bin', versionId, [{ Key: 'stage', Value: 'final' }]));
      }
      return result;
    }, { step: 'initialize', name: 'timeUpAfterUploadStarts' });
    const handler = replicatorThrough(fixture, { dynamodb }, { memoryBudget: 8 * MiB, now: invocation.now, reserveMs: 0 });

    const { result, lines } = await captureOutput(() => fixture.drain(3, handler));

    expect(moved).toBe(true);
    expect(result).toEqual({ processed: 3, failures: 0 });
    expect(emittedMetrics(lines)).toMatchObject({ CopiesContinued: 1, ObjectsReplicated: 1 });
    const replica = await fixture.destinationObject('paused.bin');
    const tags = await fixture.adminS3.send(new GetObjectTaggingCommand({ Bucket: fixture.destinationBucket, Key: 'paused.bin', VersionId: replica!.versionId }));
    expect(tags.TagSet).toEqual([{ Key: 'stage', Value: 'final' }]);
  });
});

describe('pure parts', () => {
  test.each<[string, string | undefined]>([
    ['a+b.txt', 'a b.txt'],
    ['a%2Bb.txt', 'a+b.txt'],
    ['100%25+%C3%BC', '100% ü'],
    ['plain.txt', undefined],
    ['100%.txt', undefined],
    ['%E0%A4%A', undefined],
  ])('formDecoded(%j) is %j', (key, decoded) => {
    expect(formDecoded(key)).toBe(decoded);
  });

  test('only a verified gone or an archived read is a skip; an unexplained "not found" fails', () => {
    const notFound = Object.assign(new Error('nf'), { name: 'NoSuchKey', $metadata: { httpStatusCode: 404 } });
    expect(skipForSourceRead(new SourceVersionGoneError('k', 'v', notFound))).toEqual({ action: 'skip', reason: 'source-version-gone' });
    expect(skipForSourceRead(new SourceVersionArchivedError('k', 'v', notFound))).toEqual({ action: 'skip', reason: 'archived' });
    expect(skipForSourceRead(new SourceVersionUnreadableError('k', 'v', notFound))).toBeUndefined();
    expect(skipForSourceRead(notFound)).toBeUndefined();
  });

  test('an archived skip and a decoded key have their metrics', () => {
    expect(metricsForOutcome({ action: 'skip', reason: 'archived' }).map((point) => point.name)).toEqual(['EventsSkipped', 'ArchivedVersionsSkipped']);
    expect(metricsForOutcome({ action: 'copy', decodedKey: 'a b' }).map((point) => point.name)).toEqual(['ObjectsReplicated', 'EncodedKeysDecoded']);
  });
});

describe('SSE-C source versions', () => {
  // Fault injection: moto 5.2.5 has no SSE-C (it ignores the x-amz-server-side-encryption-customer-*
  // headers, stores the bytes in the clear and serves them without a key), so S3's answer to a GET
  // of an SSE-C version without the customer's key is injected as S3 sends it: 400 InvalidRequest.
  const refuseWithoutKey = (source: S3Client, key: string, reads: { count: number }) => {
    source.middlewareStack.add((next, context) => async (args) => {
      if (context.commandName === 'GetObjectCommand' && (args.input as { Key?: string }).Key === key) {
        reads.count++;
        throw Object.assign(
          new Error('The object was stored using a form of Server Side Encryption. The correct parameters must be provided to retrieve the object.'),
          { name: 'InvalidRequest', $fault: 'client', $metadata: { httpStatusCode: 400 } },
        );
      }
      return next(args);
    }, { step: 'initialize', name: 'sseCustomerKey' });
  };

  test('an SSE-C version is skipped with reason sse-c, a warning and its metric: read once, never retried nor dead-lettered', async () => {
    const fixture = await ReplicationFixture.create();
    const created = await fixture.events.put('secret.bin', 'customer-keyed');
    const other = await fixture.events.put('plain.txt', 'plain');
    const source = sourceS3(fixture.emulators.sourceEndpoint, fixture.emulators.sourceAdmin);
    const reads = { count: 0 };
    refuseWithoutKey(source, 'secret.bin', reads);
    const handler = fixture.replicatorReadingThrough(source, undefined, 'WARN');
    await fixture.routerHandler(created);
    await fixture.routerHandler(other);

    const { result, lines } = await captureOutput(() => fixture.drain(3, handler));

    expect(result).toEqual({ processed: 2, failures: 0 });
    expect(result.deadLettered).toBeUndefined();
    expect(reads.count).toBe(1);
    const metrics = emittedMetrics(lines);
    expect(metrics).toMatchObject({ EventsSkipped: 1, CustomerKeyVersionsSkipped: 1, ObjectsReplicated: 1 });
    expect(metrics.ReplicationFailures).toBeUndefined();
    const warning = lines.map((line) => JSON.parse(line)).find((line) => line.level === 'WARN');
    expect(warning).toMatchObject({ key: 'secret.bin', outcome: { action: 'skip', reason: 'sse-c' } });
    expect(warning.message).toContain('customer-provided key');
    expect((await fixture.destinationVersions('secret.bin')).versions).toHaveLength(0);
    expect((await fixture.destinationObject('plain.txt'))?.body.toString()).toBe('plain');
  });
});
