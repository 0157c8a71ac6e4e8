import { createHash, randomBytes } from 'crypto';
import { DeleteObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { prng, shuffle } from '../../../support/seeded-random';
import { ReplicationFixture } from '../../emulators/replication-fixture';
import { S3Event } from '../../emulators/s3-events';

// The real router and replicator against two moto servers: source partition (us-east-1) and
// destination partition (us-gov-west-1, IAM enforced).

const versionIdOf = (event: S3Event) => event.detail.object['version-id'] as string;
const sha256 = (data: Uint8Array) => createHash('sha256').update(data).digest('hex');

const sendRepair = (fixture: ReplicationFixture, key: string, versionId: string, staleReplica: string, runId: string) =>
  fixture.enqueueBackfillCopy(key, versionId, runId, { staleReplica });

describe('object versions', () => {
  test('an overwrite chain replicates every version in order and maps each to its replica', async () => {
    const fixture = await ReplicationFixture.create();
    const events = [];
    for (const body of ['one', 'two', 'three']) events.push(await fixture.events.put('chain.txt', body));
    const result = await fixture.replicate(events);

    expect(result).toEqual({ processed: 3, failures: 0 });
    expect((await fixture.destinationObject('chain.txt'))?.body.toString()).toBe('three');
    const { versions } = await fixture.destinationVersions('chain.txt');
    expect(versions).toHaveLength(3);
    const table = fixture.versionTable;
    const destinationIds = [];
    for (const event of events) {
      const { version, head } = await table.load('chain.txt', versionIdOf(event));
      expect(version).toMatchObject({ kind: 'object', state: 'replicated', size: event.detail.object.size });
      destinationIds.push(version!.destinationVersionId);
      expect(head?.sourceVersionId).toBe(versionIdOf(events[2]));
    }
    expect(new Set(destinationIds)).toEqual(new Set(versions.map((version) => version.VersionId)));
  });

  test('an event delivered twice creates one destination version', async () => {
    const fixture = await ReplicationFixture.create();
    const created = await fixture.events.put('twice.txt', 'payload');
    await fixture.replicate([created]);
    // The same event again after the FIFO deduplication window: the version map makes it a no-op.
    await fixture.routerHandler({ ...created, detail: { ...created.detail, 'request-id': 'REDELIVERED' } });
    const again = await fixture.drain();

    expect(again).toEqual({ processed: 1, failures: 0 });
    expect((await fixture.destinationVersions('twice.txt')).versions).toHaveLength(1);
  });

  test('an older event arriving after a newer one is not written over the newer replica', async () => {
    const fixture = await ReplicationFixture.create();
    const first = await fixture.events.put('late.txt', 'old');
    const second = await fixture.events.put('late.txt', 'new');
    await fixture.replicate([second, first]);

    expect((await fixture.destinationObject('late.txt'))?.body.toString()).toBe('new');
    expect((await fixture.destinationVersions('late.txt')).versions).toHaveLength(1);
  });

  test('a key whose backfilled head was deleted for good at the source keeps replicating', async () => {
    const fixture = await ReplicationFixture.create({ replicateVersionDeletes: true });
    const first = await fixture.sourceS3.send(new PutObjectCommand({ Bucket: fixture.sourceBucket, Key: 'replaced.txt', Body: 'backfilled' }));
    await fixture.enqueueBackfillCopy('replaced.txt', first.VersionId!, 'run-1', { backfillRun: 'run-1', backfillIndex: 0 });
    expect(await fixture.drain()).toEqual({ processed: 1, failures: 0 });

    // "Replace": the backfilled version is deleted for good, then a new one is put. Its sequencer
    // cannot be compared with a backfilled head, and the source no longer lists that head.
    const deleted = await fixture.events.deleteVersion('replaced.txt', first.VersionId!);
    const second = await fixture.events.put('replaced.txt', 'live');
    expect(await fixture.replicate([second, deleted])).toEqual({ processed: 2, failures: 0 });
    expect((await fixture.destinationObject('replaced.txt'))?.body.toString()).toBe('live');

    const third = await fixture.events.put('replaced.txt', 'live again');
    await fixture.replicate([third]);
    expect((await fixture.destinationObject('replaced.txt'))?.body.toString()).toBe('live again');
    expect((await fixture.destinationVersions('replaced.txt')).versions).toHaveLength(2);
  });

  test('events delivered in many random orders end in the same destination state as in order', async () => {
    const random = prng(20261122);
    for (let round = 0; round < 12; round++) {
      const fixture = await ReplicationFixture.create();
      const events: S3Event[] = [];
      for (const key of ['x/alpha', 'x/beta']) {
        events.push(await fixture.events.put(key, `${key}-1`));
        events.push(await fixture.events.put(key, `${key}-2`));
        if (random() < 0.5) events.push(await fixture.events.deleteMarker(key));
        if (random() < 0.5) events.push(await fixture.events.put(key, `${key}-3`));
      }
      const order = round === 0 ? events : shuffle(events, random);
      const result = await fixture.replicate(order);

      expect(result.failures).toBe(0);
      for (const key of ['x/alpha', 'x/beta']) {
        const replica = await fixture.destinationObject(key);
        expect(replica?.body.toString()).toBe((await fixture.sourceObject(key))?.body.toString());
      }
    }
  });
});

describe('reconcile repairs', () => {
  test('a repair delivered twice copies once and re-points the mapping; once a newer version is replicated it copies nothing', async () => {
    const fixture = await ReplicationFixture.create();
    const table = fixture.versionTable;
    const first = await fixture.events.put('healed.txt', 'first');
    await fixture.replicate([first]);
    const lost = (await table.load('healed.txt', versionIdOf(first))).version!.destinationVersionId!;
    await fixture.adminS3.send(new DeleteObjectCommand({ Bucket: fixture.destinationBucket, Key: 'healed.txt' }));

    await sendRepair(fixture, 'healed.txt', versionIdOf(first), lost, 'run-1');
    await sendRepair(fixture, 'healed.txt', versionIdOf(first), lost, 'run-2');
    expect(await fixture.drain()).toEqual({ processed: 2, failures: 0 });

    const repaired = await fixture.destinationObject('healed.txt');
    expect(repaired?.body.toString()).toBe('first');
    expect((await fixture.destinationVersions('healed.txt')).versions).toHaveLength(2);
    const { version, head } = await table.load('healed.txt', versionIdOf(first));
    expect(version?.destinationVersionId).toBe(repaired?.versionId);
    expect(head?.destinationVersionId).toBe(repaired?.versionId);

    const second = await fixture.events.put('healed.txt', 'second');
    await fixture.replicate([second]);
    await sendRepair(fixture, 'healed.txt', versionIdOf(first), repaired!.versionId!, 'run-3');
    await fixture.drain();
    expect((await fixture.destinationObject('healed.txt'))?.body.toString()).toBe('second');
    expect((await fixture.destinationVersions('healed.txt')).versions).toHaveLength(3);
  });
});

describe('deletes', () => {
  test('a delete marker is replicated and recorded', async () => {
    const fixture = await ReplicationFixture.create();
    const created = await fixture.events.put('gone.txt', 'x');
    const deleted = await fixture.events.deleteMarker('gone.txt');
    await fixture.replicate([created, deleted]);

    expect(await fixture.destinationObject('gone.txt')).toBeUndefined();
    const { versions, deleteMarkers } = await fixture.destinationVersions('gone.txt');
    expect(versions).toHaveLength(1);
    expect(deleteMarkers).toHaveLength(1);
    const { version } = await fixture.versionTable.load('gone.txt', versionIdOf(deleted));
    expect(version).toMatchObject({ kind: 'deleteMarker', destinationVersionId: deleteMarkers[0].VersionId });
  });

  test('with replicateDeleteMarkers off, the replica stays current', async () => {
    const fixture = await ReplicationFixture.create({ replicateDeleteMarkers: false });
    await fixture.replicate([await fixture.events.put('kept.txt', 'x'), await fixture.events.deleteMarker('kept.txt')]);

    expect((await fixture.destinationObject('kept.txt'))?.body.toString()).toBe('x');
    expect((await fixture.destinationVersions('kept.txt')).deleteMarkers).toHaveLength(0);
  });

  test.each([
    [true, 'back'],
    [false, undefined],
  ])('removing a delete marker in the source (undelete), replicateVersionDeletes=%s: destination current is %s', async (enabled, current) => {
    const fixture = await ReplicationFixture.create({ replicateVersionDeletes: enabled });
    const created = await fixture.events.put('undelete.txt', 'back');
    const marker = await fixture.events.deleteMarker('undelete.txt');
    await fixture.replicate([created, marker]);
    await fixture.replicate([await fixture.events.deleteVersion('undelete.txt', versionIdOf(marker))]);

    expect((await fixture.destinationObject('undelete.txt'))?.body.toString()).toBe(current);
  });

  test.each([
    [true, 'v1', 1],
    [false, 'v2', 2],
  ])('a permanent version delete with replicateVersionDeletes=%s leaves %s current', async (enabled, current, versions) => {
    const fixture = await ReplicationFixture.create({ replicateVersionDeletes: enabled });
    const v1 = await fixture.events.put('versioned.txt', 'v1');
    const v2 = await fixture.events.put('versioned.txt', 'v2');
    await fixture.replicate([v1, v2]);
    await fixture.replicate([await fixture.events.deleteVersion('versioned.txt', versionIdOf(v2))]);

    expect((await fixture.destinationObject('versioned.txt'))?.body.toString()).toBe(current);
    expect((await fixture.destinationVersions('versioned.txt')).versions).toHaveLength(versions);
  });

  describe('a deleted newest version hands the key back to what the source has current', () => {
    test('an older version skipped as late becomes the replica when the newer one is deleted for good', async () => {
      const fixture = await ReplicationFixture.create({ replicateVersionDeletes: true });
      const v1 = await fixture.events.put('stepped.txt', 'v1');
      const v2 = await fixture.events.put('stepped.txt', 'v2');
      // v1's event arrives after v2's and is skipped as older.
      await fixture.replicate([v2, v1]);
      expect((await fixture.destinationVersions('stepped.txt')).versions).toHaveLength(1);

      await fixture.replicate([await fixture.events.deleteVersion('stepped.txt', versionIdOf(v2))]);

      expect((await fixture.destinationObject('stepped.txt'))?.body.toString()).toBe('v1');
      const table = fixture.versionTable;
      const { head, version } = await table.load('stepped.txt', versionIdOf(v1));
      expect(head?.sourceVersionId).toBe(versionIdOf(v1));
      expect(version?.destinationVersionId).toBe((await fixture.destinationObject('stepped.txt'))?.versionId);
      // A newer version after the step back still replicates; the late event of v1 again is a duplicate.
      await fixture.replicate([await fixture.events.put('stepped.txt', 'v3'), v1]);
      expect((await fixture.destinationObject('stepped.txt'))?.body.toString()).toBe('v3');
    });

    test('an undelete whose object was skipped behind its delete marker brings the object back', async () => {
      const fixture = await ReplicationFixture.create({ replicateVersionDeletes: true });
      const created = await fixture.events.put('revived.txt', 'back');
      const marker = await fixture.events.deleteMarker('revived.txt');
      await fixture.replicate([marker, created]);
      expect(await fixture.destinationObject('revived.txt')).toBeUndefined();

      await fixture.replicate([await fixture.events.deleteVersion('revived.txt', versionIdOf(marker))]);

      expect((await fixture.destinationObject('revived.txt'))?.body.toString()).toBe('back');
    });

    test('an already replicated older version becomes the key\'s newest in the map again', async () => {
      const fixture = await ReplicationFixture.create({ replicateVersionDeletes: true });
      const v1 = await fixture.events.put('back.txt', 'v1');
      const v2 = await fixture.events.put('back.txt', 'v2');
      await fixture.replicate([v1, v2]);

      await fixture.replicate([await fixture.events.deleteVersion('back.txt', versionIdOf(v2))]);

      const { head } = await fixture.versionTable.load('back.txt', versionIdOf(v1));
      expect(head?.sourceVersionId).toBe(versionIdOf(v1));
      expect(head?.destinationVersionId).toBe((await fixture.destinationObject('back.txt'))?.versionId);
    });
  });

  test('a version deleted before its copy event is processed is never replicated', async () => {
    const fixture = await ReplicationFixture.create({ replicateVersionDeletes: true });
    const created = await fixture.events.put('raced.txt', 'short-lived');
    const deleted = await fixture.events.deleteVersion('raced.txt', versionIdOf(created));
    const result = await fixture.replicate([deleted, created]);

    expect(result).toEqual({ processed: 2, failures: 0 });
    expect((await fixture.destinationVersions('raced.txt')).versions).toHaveLength(0);
  });

  test('lifecycle expiration is not replicated; the expired version leaves the map', async () => {
    const fixture = await ReplicationFixture.create({ replicateVersionDeletes: true });
    const v1 = await fixture.events.put('expiring.txt', 'v1');
    const v2 = await fixture.events.put('expiring.txt', 'v2');
    await fixture.replicate([v1, v2]);
    const result = await fixture.replicate([
      fixture.events.lifecycleExpiration('expiring.txt', versionIdOf(v1), 'Permanently Deleted'),
      fixture.events.lifecycleExpiration('expiring.txt', 'lifecycle-marker-version', 'Delete Marker Created'),
    ]);

    expect(result).toEqual({ processed: 2, failures: 0 });
    const { versions, deleteMarkers } = await fixture.destinationVersions('expiring.txt');
    expect(versions).toHaveLength(2);
    expect(deleteMarkers).toHaveLength(0);
    const table = fixture.versionTable;
    expect((await table.load('expiring.txt', versionIdOf(v1))).version).toBeUndefined();
    expect((await table.load('expiring.txt', versionIdOf(v2))).version?.state).toBe('replicated');
  });
});

describe('object content, metadata and tags', () => {
  test('metadata is preserved exactly', async () => {
    const fixture = await ReplicationFixture.create();
    const expires = new Date('2030-01-02T03:04:05Z');
    await fixture.replicate([await fixture.events.put('meta.json', '{"a":1}', {
      ContentType: 'application/json; charset=utf-8',
      CacheControl: 'max-age=60, must-revalidate',
      ContentDisposition: 'attachment; filename="meta.json"',
      ContentEncoding: 'identity',
      ContentLanguage: 'de-CH',
      Expires: expires,
      Metadata: { 'owner': 'team-a', 'checksum-sha256': 'abc123', 'mixed-case': 'Value With Spaces' },
    })]);

    const replica = await fixture.destinationObject('meta.json');
    expect(replica).toMatchObject({
      contentType: 'application/json; charset=utf-8',
      cacheControl: 'max-age=60, must-revalidate',
      contentDisposition: 'attachment; filename="meta.json"',
      contentEncoding: 'identity',
      contentLanguage: 'de-CH',
      metadata: { 'owner': 'team-a', 'checksum-sha256': 'abc123', 'mixed-case': 'Value With Spaces' },
    });
    expect(replica?.expires?.toISOString()).toBe(expires.toISOString());
  });

  test('the destination storage class and KMS key are applied', async () => {
    const kmsKeyArn = 'arn:aws-us-gov:kms:us-gov-west-1:123456789012:key/11111111-2222-3333-4444-555555555555';
    const fixture = await ReplicationFixture.create({ destinationStorageClass: 'STANDARD_IA', destinationKmsKeyArn: kmsKeyArn });
    await fixture.replicate([await fixture.events.put('cold.bin', 'bytes')]);

    const replica = await fixture.destinationObject('cold.bin');
    expect(replica).toMatchObject({ storageClass: 'STANDARD_IA', serverSideEncryption: 'aws:kms', kmsKeyId: kmsKeyArn });
  });

  test('the source storage class is kept when none is configured', async () => {
    const fixture = await ReplicationFixture.create();
    await fixture.replicate([await fixture.events.put('glacier-ir.bin', 'bytes', { StorageClass: 'GLACIER_IR' })]);

    expect((await fixture.destinationObject('glacier-ir.bin'))?.storageClass).toBe('GLACIER_IR');
  });

  test('tags travel with the object, and tag changes follow the version', async () => {
    const fixture = await ReplicationFixture.create();
    const created = await fixture.events.put('tagged.txt', 'x', { Tagging: 'team=a%20b&env=prod' });
    await fixture.replicate([created]);
    expect((await fixture.destinationObject('tagged.txt'))?.tags).toEqual({ team: 'a b', env: 'prod' });

    await fixture.replicate([await fixture.events.tag('tagged.txt', versionIdOf(created), [{ Key: 'env', Value: 'dev' }])]);
    expect((await fixture.destinationObject('tagged.txt'))?.tags).toEqual({ env: 'dev' });

    await fixture.replicate([await fixture.events.untag('tagged.txt', versionIdOf(created))]);
    expect((await fixture.destinationObject('tagged.txt'))?.tags).toEqual({});
  });

  test('with replicateTags off, no tags are written', async () => {
    const fixture = await ReplicationFixture.create({ replicateTags: false });
    await fixture.replicate([await fixture.events.put('untagged.txt', 'x', { Tagging: 'team=a' })]);

    expect((await fixture.destinationObject('untagged.txt'))?.tags).toEqual({});
  });

  test('an object over the multipart threshold is copied byte for byte', async () => {
    const fixture = await ReplicationFixture.create();
    const body = randomBytes(20 * 1024 * 1024 + 12345);
    const created = await fixture.events.put('large.bin', body, { ContentType: 'application/octet-stream' });
    await fixture.replicate([created]);

    const replica = await fixture.destinationObject('large.bin');
    expect(replica?.body.length).toBe(body.length);
    expect(sha256(replica!.body)).toBe(sha256(body));
    // A multipart ETag ("<md5>-<parts>") shows the upload really went through parts.
    const head = await fixture.headDestination('large.bin', replica!.versionId!);
    expect(head.ETag).toMatch(/-3"$/);
    const { version } = await fixture.versionTable.load('large.bin', versionIdOf(created));
    expect(version?.destinationVersionId).toBe(replica?.versionId);
  });

  test.each([
    ['spaces', 'reports/annual report 2026.pdf'],
    ['plus signs', 'c++/a+b=c.txt'],
    ['non-ASCII', 'données/日本語/ü ß €.txt'],
    ['1024 bytes', `long/${'k'.repeat(1024 - 'long/'.length - Buffer.byteLength('éé'))}éé`],
  ])('keys with %s replicate under the same key', async (_, key) => {
    expect(Buffer.byteLength(key)).toBeLessThanOrEqual(1024);
    const fixture = await ReplicationFixture.create();
    await fixture.replicate([await fixture.events.put(key, 'content')]);

    expect((await fixture.destinationObject(key))?.body.toString()).toBe('content');
  });

  test('keys outside the prefixes are not replicated', async () => {
    const fixture = await ReplicationFixture.create({ prefixes: ['in/'] });
    const result = await fixture.replicate([await fixture.events.put('in/a.txt', 'a'), await fixture.events.put('out/b.txt', 'b')]);

    expect(result.processed).toBe(1);
    expect(await fixture.destinationObject('in/a.txt')).toBeDefined();
    expect(await fixture.destinationObject('out/b.txt')).toBeUndefined();
  });
});
