import { DeleteObjectCommand, ListObjectVersionsCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { BackfillRuns } from '../../../../src/runtime/backfill/backfill-runs';
import { ReplicatorSettings } from '../../../../src/runtime/contract/replication-environment';
import { createTelemetry } from '../../../../src/runtime/contract/telemetry';
import { createReplicatorHandler } from '../../../../src/runtime/replication/replicator-handler';
import { createRouterHandler } from '../../../../src/runtime/replication/router-handler';
import { createUserWithKey, DESTINATION_REGION, SOURCE_REGION } from '../../emulators/partitions';
import { DrainResult, ReplicationFixture, StoredObject } from '../../emulators/replication-fixture';
import { fixtureSettings } from '../../emulators/replication-handlers';
import { createCredentialsSecret, createReplicationQueues, createVersionTable, sourceQueueArn } from '../../emulators/replication-resources';
import { S3Event, S3EventSource } from '../../emulators/s3-events';
import { drainQueue, Mutex, receiveBatch, takeDeadLetters } from '../../emulators/sqs-poller';
import { currentObject } from '../../emulators/stored-object';

/** What a reader compares between two sides: bytes, content type, user metadata (without the replica marker) and tags. */
const comparable = (object: StoredObject | undefined) =>
  object && { body: object.body.toString('base64'), contentType: object.contentType, metadata: object.metadata, tags: object.tags };

describe('one source bucket, two destinations (two constructs adopting the bucket)', () => {
  test('each destination ends equal to the source, through its own queue, table, secret and destination user', async () => {
    const toFirst = await ReplicationFixture.create();
    const toSecond = await ReplicationFixture.create({ sourceBucket: toFirst.sourceBucket });
    expect(new Set([toFirst.queueUrl, toSecond.queueUrl]).size).toBe(2);
    expect(new Set([toFirst.tableName, toSecond.tableName, toFirst.destinationBucket, toSecond.destinationBucket]).size).toBe(4);
    const { events } = toFirst;
    const large = Buffer.alloc(9 * 1024 * 1024, 7);
    const written = [
      await events.put('a.txt', 'first', { Metadata: { owner: 'team-a' } }),
      await events.put('b.json', '{"b":1}', { ContentType: 'application/json', Tagging: 'env=prod' }),
      await events.put('large.bin', large),
      await events.put('a.txt', 'second'),
      await events.deleteMarker('b.json'),
    ];
    // EventBridge hands every event of the bucket to both rules, each to its own router and queue.
    const drained = [await toFirst.replicate(written), await toSecond.replicate(written)];
    expect(drained.map((result) => result.processed)).toEqual([5, 5]);

    for (const fixture of [toFirst, toSecond]) {
      for (const key of ['a.txt', 'b.json', 'large.bin']) {
        expect(comparable(await fixture.destinationObject(key))).toEqual(comparable(await fixture.sourceObject(key)));
      }
      // Each replica names its source version, also when written by CreateMultipartUpload.
      const source = await toFirst.sourceObject('large.bin');
      expect((await fixture.destinationObject('large.bin'))?.replicaOf).toBe(`${toFirst.sourceBucket}/${source!.versionId}`);
      const { versions, deleteMarkers } = await fixture.destinationVersions('a.txt');
      expect([versions.length, deleteMarkers.length]).toEqual([2, 0]);
    }
  });
});

describe('one-way: a delete marker on a key the destination shows deleted', () => {
  test('a second source marker covers the replication\'s own marker, so removing the first one later uncovers nothing', async () => {
    const fixture = await ReplicationFixture.create({ replicateVersionDeletes: true });
    const { events } = fixture;
    await fixture.replicate([await events.put('twice.txt', 'v1')]);
    const firstMarker = await events.deleteMarker('twice.txt');
    const secondMarker = await events.deleteMarker('twice.txt');
    await fixture.replicate([firstMarker, secondMarker]);
    expect((await fixture.destinationVersions('twice.txt')).deleteMarkers.length).toBe(2);

    // The older marker goes at the source: the key stays deleted there, and so at the destination.
    await fixture.replicate([await events.deleteVersion('twice.txt', firstMarker.detail.object['version-id'] as string)]);
    expect(await fixture.sourceObject('twice.txt')).toBeUndefined();
    expect(await fixture.destinationObject('twice.txt')).toBeUndefined();
  });

  test('a marker already at the destination that the replication did not write is recorded, not covered', async () => {
    const fixture = await ReplicationFixture.create();
    await fixture.replicate([await fixture.events.put('deleted-there.txt', 'v1')]);
    await fixture.adminS3.send(new DeleteObjectCommand({ Bucket: fixture.destinationBucket, Key: 'deleted-there.txt' }));
    await fixture.replicate([await fixture.events.deleteMarker('deleted-there.txt')]);
    expect((await fixture.destinationVersions('deleted-there.txt')).deleteMarkers.length).toBe(1);
  });
});

/** A replication direction as the test drives it: its router, and a drain of its queue. */
interface Direction {
  replicate(events: S3Event[]): Promise<DrainResult>;
}

/**
 * The direction B -> A of a two-way set-up, built from the pieces the fixture uses: its source is
 * the fixture's destination bucket (B, in the emulated GovCloud partition), its destination the
 * fixture's source bucket (A, in the emulated commercial partition), written with a commercial
 * IAM user's key from its own credentials secret. Its queues, table and secret are kept in the
 * commercial emulator beside the fixture's (where they live does not matter to the replicator).
 */
async function reverseOf(forward: ReplicationFixture): Promise<Direction> {
  const id = `${forward.id}r`;
  const tableName = `${id}-versions`;
  await createVersionTable(forward.dynamodb, tableName);
  const { queueUrl, deadLetterQueueUrl } = await createReplicationQueues(forward.sqs, id);
  const userName = `${id}-replicator`;
  const bucketArn = `arn:aws:s3:::${forward.sourceBucket}`;
  const key = await createUserWithKey(forward.sourceIam, userName, {
    'replicate-into-bucket': { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 's3:*', Resource: [bucketArn, `${bucketArn}/*`] }] },
  });
  const secretArn = await createCredentialsSecret(forward.secretsManager, id, {
    user: userName, accesskey: key.accessKeyId, secretaccesskey: key.secretAccessKey, partition: 'aws', accountid: '123456789012',
  });
  const endpoint = forward.emulators.sourceEndpoint;
  const settings: ReplicatorSettings = {
    ...fixtureSettings({
      sourceBucket: forward.destinationBucket,
      tableName,
      queueUrl,
      deadLetterQueueUrl,
      secretArn,
      destinationBucket: forward.sourceBucket,
      destinationEndpoint: endpoint,
    }, {}),
    destinationRegion: SOURCE_REGION,
    destinationPartition: 'aws',
    destinationStsEndpoint: endpoint,
  };
  const telemetry = (service: 'router' | 'replicator') => createTelemetry(service, { logLevel: 'ERROR' });
  const replicatorHandler = createReplicatorHandler(
    settings,
    { s3: forward.adminS3, dynamodb: forward.dynamodb, secretsManager: forward.secretsManager, sqs: forward.sqs },
    telemetry('replicator'),
    { memoryBudget: 64 * 1024 * 1024 },
    new BackfillRuns(forward.dynamodb, tableName),
  );
  const routerHandler = createRouterHandler({ sourceBucket: forward.destinationBucket, scope: settings.scope, queueUrl }, forward.sqs, telemetry('router'));
  const queue = { sqs: forward.sqs, queueUrl };
  const receiving = new Mutex();
  return {
    async replicate(events) {
      for (const event of events) await routerHandler(event);
      const result = await drainQueue(queue, 3, replicatorHandler, (timeout) => receiveBatch(queue, sourceQueueArn(`${id}.fifo`), receiving, timeout), () => undefined);
      const deadLettered = [...result.deadLettered ?? [], ...await takeDeadLetters(forward.sqs, deadLetterQueueUrl)];
      if (deadLettered.length > 0) throw new Error(`messages were dead-lettered: ${deadLettered.join('\n')}`);
      return result;
    },
  };
}

/**
 * Plays S3 -> EventBridge for one bucket: every version or delete marker that appeared since the
 * last call, whoever wrote it (a user or a replicator), becomes its S3 event. The test writes at
 * most one entry per key per bucket between two calls, so the listing's order is the write order.
 */
class BucketEvents {
  private readonly seen = new Set<string>();
  private readonly events: S3EventSource;

  constructor(private readonly s3: S3Client, private readonly bucket: string, region: string) {
    this.events = new S3EventSource(s3, bucket, region);
  }

  async sinceLastCall(): Promise<S3Event[]> {
    const listed = await this.s3.send(new ListObjectVersionsCommand({ Bucket: this.bucket }));
    const entries = [
      ...(listed.Versions ?? []).map((entry) => ({
        key: entry.Key!, versionId: entry.VersionId!, isDeleteMarker: false, size: entry.Size, eTag: entry.ETag,
      })),
      ...(listed.DeleteMarkers ?? []).map((entry) => ({ key: entry.Key!, versionId: entry.VersionId!, isDeleteMarker: true })),
    ].filter((entry) => !this.seen.has(entry.versionId));
    const keys = entries.map((entry) => entry.key);
    if (new Set(keys).size !== keys.length) throw new Error(`more than one new entry for a key of ${this.bucket}: the test cannot tell their order`);
    for (const entry of entries) this.seen.add(entry.versionId);
    return entries.map((entry) => this.events.observed(entry));
  }
}

describe('two-way: two constructs, each bucket the other\'s destination', () => {
  let forward: ReplicationFixture;
  let reverse: Direction;
  let bucketA: S3Client;
  let bucketB: S3Client;
  let eventsOfA: BucketEvents;
  let eventsOfB: BucketEvents;
  const a = () => forward.sourceBucket;
  const b = () => forward.destinationBucket;
  /** Every S3 event of both buckets goes to its replication until no new event comes; returns the rounds and messages. */
  const settle = async (maxRounds = 5) => {
    const total = { rounds: 0, processed: 0 };
    for (;;) {
      const [fromA, fromB] = [await eventsOfA.sinceLastCall(), await eventsOfB.sinceLastCall()];
      if (fromA.length + fromB.length === 0) return total;
      total.rounds += 1;
      if (total.rounds > maxRounds) throw new Error(`still replicating after ${maxRounds} rounds: versions go back and forth`);
      total.processed += (await forward.replicate(fromA)).processed + (await reverse.replicate(fromB)).processed;
    }
  };
  const put = (s3: S3Client, bucket: string, key: string, body: string, extra: object = {}) =>
    s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body, ...extra }));
  const entriesOf = async (s3: S3Client, bucket: string, key: string) => {
    const listed = await s3.send(new ListObjectVersionsCommand({ Bucket: bucket, Prefix: key }));
    return { versions: (listed.Versions ?? []).length, deleteMarkers: (listed.DeleteMarkers ?? []).length };
  };
  const expectConverged = async (keys: string[]) => {
    for (const key of keys) {
      expect(comparable(await currentObject(bucketB, b(), key))).toEqual(comparable(await currentObject(bucketA, a(), key)));
    }
  };

  beforeAll(async () => {
    forward = await ReplicationFixture.create();
    reverse = await reverseOf(forward);
    bucketA = forward.sourceS3;
    bucketB = forward.adminS3;
    eventsOfA = new BucketEvents(bucketA, a(), SOURCE_REGION);
    eventsOfB = new BucketEvents(bucketB, b(), DESTINATION_REGION);
  });

  test('writes on both sides converge, and each replica is written once and never sent back', async () => {
    await put(bucketA, a(), 'from-a.txt', 'written in A', { Metadata: { owner: 'a' } });
    await put(bucketB, b(), 'from-b.txt', 'written in B', { Metadata: { owner: 'b' }, Tagging: 'side=b' });

    // Round 1 copies each write across; round 2 brings the replicas' own events, which are skipped.
    expect(await settle()).toEqual({ rounds: 2, processed: 4 });
    await expectConverged(['from-a.txt', 'from-b.txt']);
    for (const [s3, bucket] of [[bucketA, a()], [bucketB, b()]] as const) {
      for (const key of ['from-a.txt', 'from-b.txt']) expect(await entriesOf(s3, bucket, key)).toEqual({ versions: 1, deleteMarkers: 0 });
    }
    const replicaInA = await currentObject(bucketA, a(), 'from-b.txt');
    const original = await currentObject(bucketB, b(), 'from-b.txt');
    expect(replicaInA?.replicaOf).toBe(`${b()}/${original!.versionId}`);
    expect(original?.replicaOf).toBeUndefined();
  });

  test('an overwrite on the replica\'s side replicates back once', async () => {
    await put(bucketB, b(), 'from-a.txt', 'overwritten in B');

    expect(await settle()).toEqual({ rounds: 2, processed: 2 });
    await expectConverged(['from-a.txt']);
    expect((await currentObject(bucketA, a(), 'from-a.txt'))?.body.toString()).toBe('overwritten in B');
    expect(await entriesOf(bucketA, a(), 'from-a.txt')).toEqual({ versions: 2, deleteMarkers: 0 });
    expect(await entriesOf(bucketB, b(), 'from-a.txt')).toEqual({ versions: 2, deleteMarkers: 0 });
  });

  test('a delete on either side leaves one delete marker in each bucket, not a marker going back and forth', async () => {
    await bucketB.send(new DeleteObjectCommand({ Bucket: b(), Key: 'from-a.txt' }));
    await bucketA.send(new DeleteObjectCommand({ Bucket: a(), Key: 'from-b.txt' }));

    expect(await settle()).toEqual({ rounds: 2, processed: 4 });
    await expectConverged(['from-a.txt', 'from-b.txt']);
    expect(await currentObject(bucketA, a(), 'from-a.txt')).toBeUndefined();
    expect(await currentObject(bucketB, b(), 'from-b.txt')).toBeUndefined();
    for (const [s3, bucket] of [[bucketA, a()], [bucketB, b()]] as const) {
      expect((await entriesOf(s3, bucket, 'from-a.txt')).deleteMarkers).toBe(1);
      expect((await entriesOf(s3, bucket, 'from-b.txt')).deleteMarkers).toBe(1);
    }
  });

  test('tags follow the original to its replica, while a tag change made on the replica stays on its side', async () => {
    const { VersionId: original } = await put(bucketA, a(), 'tagged.txt', 'tags', { Tagging: 'stage=new' });
    await settle();
    const replica = (await currentObject(bucketB, b(), 'tagged.txt'))!;
    expect(replica.tags).toEqual({ stage: 'new' });

    // On the original: replicated to the replica, whose own tag event (S3 sends one) is not sent back.
    const tagsInA = new S3EventSource(bucketA, a(), SOURCE_REGION);
    const tagsInB = new S3EventSource(bucketB, b(), DESTINATION_REGION);
    await forward.replicate([await tagsInA.tag('tagged.txt', original!, [{ Key: 'stage', Value: 'done' }])]);
    expect((await currentObject(bucketB, b(), 'tagged.txt'))?.tags).toEqual({ stage: 'done' });
    await reverse.replicate([await tagsInB.tag('tagged.txt', replica.versionId!, [{ Key: 'stage', Value: 'done' }])]);
    // On the replica: not replicated back (no replica modification sync).
    await reverse.replicate([await tagsInB.tag('tagged.txt', replica.versionId!, [{ Key: 'edited', Value: 'in-b' }])]);
    expect((await currentObject(bucketA, a(), 'tagged.txt'))?.tags).toEqual({ stage: 'done' });
    expect(await entriesOf(bucketA, a(), 'tagged.txt')).toEqual({ versions: 1, deleteMarkers: 0 });
    expect(await settle()).toEqual({ rounds: 0, processed: 0 });
  });

  test('writing the key again after the delete replicates it again', async () => {
    await put(bucketA, a(), 'from-b.txt', 'back in A');

    expect(await settle()).toEqual({ rounds: 2, processed: 2 });
    await expectConverged(['from-b.txt']);
    expect((await currentObject(bucketB, b(), 'from-b.txt'))?.body.toString()).toBe('back in A');
  });
});
