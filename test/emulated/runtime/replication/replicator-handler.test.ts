import { randomBytes } from 'crypto';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DeleteObjectCommand, GetObjectCommand, GetObjectTaggingCommand, ListMultipartUploadsCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { messageGroupId } from '../../../../src/runtime/contract/replication-message';
import { partSizeFor, partsInFlight } from '../../../../src/runtime/engine/multipart/part-plan';
import { UploadCheckpoints } from '../../../../src/runtime/engine/multipart/upload-checkpoints';
import { PART_ATTEMPTS } from '../../../../src/runtime/engine/retries';
import { DeliverySkips } from '../../../../src/runtime/replication/delivery-retry';
import { copyMemoryBudget } from '../../../../src/runtime/replication/replicator-handler';
import { captureOutput, emittedMetrics } from '../../../support/capture-output';
import { DESTINATION_REGION, SOURCE_REGION, sourceS3 } from '../../emulators/partitions';
import { ReplicationFixture } from '../../emulators/replication-fixture';
import { requestsDuring } from '../../emulators/request-counter';

// The SQS FIFO handler with partial batch responses, run against the moto partitions.

describe('batches', () => {
  test('a malformed message fails only its own group; other groups in the batch replicate', async () => {
    const fixture = await ReplicationFixture.create();
    await fixture.sqs.send(new SendMessageCommand({
      QueueUrl: fixture.queueUrl,
      MessageBody: '{"v":1,"kind":"ObjectCreated","bucket":"b"}',
      MessageGroupId: messageGroupId(fixture.sourceBucket, 'broken'),
      MessageDeduplicationId: 'malformed-1',
    }));
    const good = await fixture.events.put('good.txt', 'fine');
    const result = await fixture.replicate([good], { allowDeadLetters: true });

    // Both acknowledged: one replicated, one sent to the dead-letter queue by the replicator.
    expect(result).toEqual({ processed: 2, failures: 0, deadLettered: ['{"v":1,"kind":"ObjectCreated","bucket":"b"}'] });
    expect((await fixture.destinationObject('good.txt'))?.body.toString()).toBe('fine');
  });

  test('a malformed message is dead-lettered on its first attempt and the later message of its key replicates', async () => {
    const fixture = await ReplicationFixture.create();
    const group = messageGroupId(fixture.sourceBucket, 'ordered.txt');
    await fixture.sqs.send(new SendMessageCommand({
      QueueUrl: fixture.queueUrl, MessageBody: 'not json', MessageGroupId: group, MessageDeduplicationId: 'bad-first',
    }));
    const later = await fixture.events.put('ordered.txt', 'second');
    const { result, lines } = await captureOutput(() => fixture.replicate([later], { allowDeadLetters: true }));

    // Only the bad message ends in the dead-letter queue, without retries; the one behind it is not held back.
    expect(result).toEqual({ processed: 2, failures: 0, deadLettered: ['not json'] });
    expect(emittedMetrics(lines)).toMatchObject({ ReplicationFailures: 1, MessagesDeadLettered: 1 });
    expect((await fixture.destinationObject('ordered.txt'))?.body.toString()).toBe('second');
  });

  test('a message whose attempts all ended unseen (function timeouts) is dead-lettered without another attempt', async () => {
    const fixture = await ReplicationFixture.create();
    await fixture.routerHandler(await fixture.events.put('timed-out.txt', 'x'));
    // Three deliveries that never returned: received, then visible again without a response.
    for (let receive = 0; receive < fixture.settings.maxReceiveCount; receive++) {
      expect((await fixture.receiveBatch(0)).messages).toHaveLength(1);
    }
    const { event } = await fixture.receiveBatch();
    expect(event.Records[0].attributes.ApproximateReceiveCount).toBe(String(fixture.settings.maxReceiveCount + 1));
    const { result, lines } = await captureOutput(() => fixture.replicatorHandler(event));

    expect(result.batchItemFailures).toEqual([]);
    expect(emittedMetrics(lines)).toMatchObject({ MessagesDeadLettered: 1 });
    expect(emittedMetrics(lines).ReplicationFailures).toBeUndefined();
    expect(await fixture.takeDeadLetters()).toEqual([event.Records[0].body]);
    expect(await fixture.destinationObject('timed-out.txt')).toBeUndefined();
  });

  test('a source version already gone is skipped with a warning and a metric, not a failure', async () => {
    const fixture = await ReplicationFixture.create({ logLevel: 'WARN' });
    const created = await fixture.events.put('vanished.txt', 'x');
    const versionId = created.detail.object['version-id'] as string;
    await fixture.sourceS3.send(new DeleteObjectCommand({ Bucket: fixture.sourceBucket, Key: 'vanished.txt', VersionId: versionId }));
    const { result, lines } = await captureOutput(() => fixture.replicate([created]));

    expect(result).toEqual({ processed: 1, failures: 0 });
    expect(emittedMetrics(lines)).toMatchObject({ SourceVersionGone: 1, EventsSkipped: 1 });
    expect(lines.some((line) => line.includes('"level":"WARN"') && line.includes('source-version-gone'))).toBe(true);
    expect(await fixture.destinationObject('vanished.txt')).toBeUndefined();
  });

  test('each replicated object is counted in metrics with its bytes', async () => {
    const fixture = await ReplicationFixture.create();
    const events = [await fixture.events.put('m/1', '12345'), await fixture.events.put('m/2', '1234567')];
    const { lines } = await captureOutput(() => fixture.replicate(events));

    expect(emittedMetrics(lines)).toMatchObject({ ObjectsReplicated: 2, BytesReplicated: 12 });
  });

  test('the log of each copy says what its bytes were checked against', async () => {
    const fixture = await ReplicationFixture.create({ logLevel: 'INFO' });
    const created = await fixture.events.put('checked.txt', 'abc');
    const { lines } = await captureOutput(() => fixture.replicate([created]));

    const processed = lines.filter((line) => line.startsWith('{')).map((line) => JSON.parse(line))
      .filter((entry) => entry.message === 'replication event processed');
    expect(processed).toHaveLength(1);
    // A single-request source's ETag is its MD5: the PUT carried it as Content-MD5.
    expect(processed[0]).toMatchObject({
      key: 'checked.txt', versionId: created.detail.object['version-id'], outcome: { action: 'copy', bytes: 3, verifiedBy: 'md5' },
    });
  });
});

describe('parallel keys in a batch', () => {
  /** The default function's part-buffer budget (1,024 MB): ten groups at once. */
  const defaultBudget = copyMemoryBudget(1024);

  /**
   * Watches the PUTs to `bucket` and holds each until `until` PUTs have arrived (or `timeoutMs`
   * passed): a spy, not a mock, every PUT still goes to the destination server. Counts the PUTs in
   * flight at once, overall and per key, and the order in which each key's bodies arrived. With
   * records copied one at a time no two PUTs ever overlap, so the counts prove concurrency without
   * timing anything; the timeout only keeps a sequential handler from waiting forever.
   */
  const watchDestinationPuts = (bucket: string, until: number, timeoutMs = 3_000) => {
    const original = S3Client.prototype.send;
    const stats = { inFlight: 0, maxInFlight: 0, arrived: 0, perKey: new Map<string, { inFlight: number; max: number; bodies: string[] }>() };
    const waiting: (() => void)[] = [];
    const spy = jest.spyOn(S3Client.prototype, 'send').mockImplementation(async function (this: S3Client, ...args: unknown[]) {
      const [command] = args as [{ input: { Bucket?: string; Key?: string; Body?: unknown } }];
      if (!(command instanceof PutObjectCommand) || command.input.Bucket !== bucket) {
        return (original as (...a: unknown[]) => Promise<unknown>).apply(this, args);
      }
      const key = command.input.Key!;
      const perKey = stats.perKey.get(key) ?? { inFlight: 0, max: 0, bodies: [] };
      stats.perKey.set(key, perKey);
      perKey.max = Math.max(perKey.max, ++perKey.inFlight);
      stats.maxInFlight = Math.max(stats.maxInFlight, ++stats.inFlight);
      const body = command.input.Body;
      if (typeof body === 'string' || Buffer.isBuffer(body)) perKey.bodies.push(body.toString());
      else perKey.bodies.push(`#${perKey.bodies.length + 1}`);
      if (++stats.arrived >= until) {
        waiting.splice(0).forEach((release) => release());
      } else {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, timeoutMs);
          waiting.push(() => {
            clearTimeout(timer);
            resolve();
          });
        });
      }
      try {
        return await (original as (...a: unknown[]) => Promise<unknown>).apply(this, args);
      } finally {
        stats.inFlight--;
        perKey.inFlight--;
      }
    } as never);
    return { stats, restore: () => spy.mockRestore() };
  };

  /** Runs `handle` while `watchDestinationPuts` watches (see there); the watch ends with it. */
  const handleWatchingPuts = async <R>(bucket: string, until: number, timeoutMs: number | undefined, handle: () => Promise<R>) => {
    const watch = watchDestinationPuts(bucket, until, timeoutMs);
    try {
      return { response: await handle(), stats: watch.stats };
    } finally {
      watch.restore();
    }
  };

  /** Routes the events, then receives them as one batch (moto hands a FIFO batch of up to 10). */
  const oneBatch = async (fixture: ReplicationFixture, events: Parameters<ReplicationFixture['replicate']>[0]) => {
    for (const event of events) await fixture.routerHandler(event);
    const { event } = await fixture.receiveBatch();
    expect(event.Records).toHaveLength(events.length);
    return event;
  };

  test('a batch of ten records of ten keys is replicated concurrently: all ten PUTs are in flight at once', async () => {
    const fixture = await ReplicationFixture.create({ memoryBudget: defaultBudget });
    const keys = Array.from({ length: 10 }, (_, n) => `parallel/${n}.txt`);
    const events = [];
    for (const key of keys) events.push(await fixture.events.put(key, `body of ${key}`));
    const event = await oneBatch(fixture, events);
    expect(new Set(event.Records.map((record) => record.attributes.MessageGroupId)).size).toBe(10);

    const { response, stats } = await handleWatchingPuts(fixture.destinationBucket, 10, undefined, () => fixture.replicatorHandler(event));

    expect(response.batchItemFailures).toEqual([]);
    // Each PUT was held until all ten had arrived: only a handler running the ten keys at once gets there.
    expect(stats.maxInFlight).toBe(10);
    for (const key of keys) expect((await fixture.destinationObject(key))?.body.toString()).toBe(`body of ${key}`);
  });

  test('concurrency is bounded by the memory budget: at 128 MB (a 64 MiB budget) at most four keys at once', async () => {
    const fixture = await ReplicationFixture.create({ memoryBudget: copyMemoryBudget(128) });
    const events = [];
    for (let n = 0; n < 10; n++) events.push(await fixture.events.put(`bounded/${n}.txt`, `${n}`));
    const event = await oneBatch(fixture, events);

    // Held until ten arrive: a handler running more than four at once would have more in flight.
    const { response, stats } = await handleWatchingPuts(fixture.destinationBucket, 10, 1_500, () => fixture.replicatorHandler(event));

    expect(response.batchItemFailures).toEqual([]);
    expect(stats.maxInFlight).toBe(4);
    expect(stats.arrived).toBe(10);
  });

  test('the records of one key in a batch are copied one at a time in queue order, beside the other keys', async () => {
    const fixture = await ReplicationFixture.create({ memoryBudget: defaultBudget });
    const events = [
      await fixture.events.put('ordered.txt', 'v1'),
      await fixture.events.put('other-a.txt', 'a'),
      await fixture.events.put('ordered.txt', 'v2'),
      await fixture.events.put('other-b.txt', 'b'),
      await fixture.events.put('ordered.txt', 'v3'),
    ];
    const event = await oneBatch(fixture, events);

    // Held until three arrive: the other two keys' PUTs overlap the key's first; its later ones wait for it.
    const { response, stats } = await handleWatchingPuts(fixture.destinationBucket, 3, 1_500, () => fixture.replicatorHandler(event));

    expect(response.batchItemFailures).toEqual([]);
    expect(stats.maxInFlight).toBe(3);
    expect(stats.perKey.get('ordered.txt')?.max).toBe(1);
    expect(stats.perKey.get('ordered.txt')?.bodies).toHaveLength(3);
    const { versions } = await fixture.destinationVersions('ordered.txt');
    const bodies = [];
    for (const version of [...versions].reverse()) {
      const got = await fixture.adminS3.send(new GetObjectCommand({ Bucket: fixture.destinationBucket, Key: 'ordered.txt', VersionId: version.VersionId }));
      bodies.push(await got.Body!.transformToString());
    }
    // Every version replicated, oldest first: none was taken for stale by arriving after a newer one.
    expect(bodies).toEqual(['v1', 'v2', 'v3']);
  });

  test('a failure of one key hands back only that key\'s later records; the other keys replicate', async () => {
    const fixture = await ReplicationFixture.create({ memoryBudget: defaultBudget });
    const events = [
      await fixture.events.put('failing.txt', 'f1'),
      await fixture.events.put('fine-1.txt', 'x1'),
      await fixture.events.put('failing.txt', 'f2'),
      await fixture.events.put('fine-2.txt', 'y1'),
      await fixture.events.put('fine-1.txt', 'x2'),
      await fixture.events.put('failing.txt', 'f3'),
    ];
    const failingVersion = events[0].detail.object['version-id'] as string;
    const event = await oneBatch(fixture, events);
    // Fault injection: the source answers the first version's GET with a 500, which moto cannot be made to do.
    const source = sourceS3(fixture.emulators.sourceEndpoint, fixture.emulators.sourceAdmin);
    source.middlewareStack.add((next, context) => async (args) => {
      const versionId = (args as { input: { VersionId?: string } }).input.VersionId;
      if (context.commandName === 'GetObjectCommand' && versionId === failingVersion) {
        throw Object.assign(new Error('We encountered an internal error. Please try again.'), { name: 'InternalError', $metadata: { httpStatusCode: 500 } });
      }
      return next(args);
    }, { step: 'initialize', name: 'failOneVersion' });
    const handler = fixture.replicatorReadingThrough(source, { memoryBudget: defaultBudget });

    const { response, stats } = await handleWatchingPuts(fixture.destinationBucket, 2, 1_500, () => handler(event));

    // The failed record and the two behind it, in queue order; nothing of the other keys.
    const failingIds = event.Records.filter((_, index) => [0, 2, 5].includes(index)).map((record) => record.messageId);
    expect(response.batchItemFailures).toEqual(failingIds.map((itemIdentifier) => ({ itemIdentifier })));
    expect(stats.maxInFlight).toBe(2);
    expect(await fixture.destinationObject('failing.txt')).toBeUndefined();
    expect((await fixture.destinationObject('fine-1.txt'))?.body.toString()).toBe('x2');
    expect((await fixture.destinationObject('fine-2.txt'))?.body.toString()).toBe('y1');
    // Only the records handed back behind the failure are recorded as skipped receives (not attempts).
    const skips = new DeliverySkips(fixture.dynamodb, fixture.tableName);
    expect(await Promise.all(failingIds.map((id) => skips.count(id)))).toEqual([0, 1, 1]);
  });
});

describe('copyMemoryBudget', () => {
  const MiB = 1024 * 1024;

  test('part buffers get half the function\'s memory, and never less than two 8 MiB parts', () => {
    expect(copyMemoryBudget(1024)).toBe(512 * MiB);
    expect(copyMemoryBudget(128)).toBe(64 * MiB);
    expect(copyMemoryBudget(20)).toBe(16 * MiB);
  });

  test('with it, 8 parts are in flight up to 78 GiB objects, fewer when half the memory cannot hold 8 larger parts', () => {
    const GiB = 1024 * MiB;
    expect(partsInFlight(partSizeFor(78 * GiB), copyMemoryBudget(128))).toBe(8);
    expect(partsInFlight(partSizeFor(1024 * GiB), copyMemoryBudget(1024))).toBe(4);
    expect(partsInFlight(partSizeFor(1024 * GiB), copyMemoryBudget(128))).toBe(1);
  });
});

describe('requests per object', () => {
  const clients = { s3: S3Client, dynamodb: DynamoDBClient, sqs: SQSClient, secretsmanager: SecretsManagerClient };

  test.each([
    ['an untagged', {}, {}],
    ['a tagged', { Tagging: 'team=storage' }, { [`s3@${SOURCE_REGION}:GetObjectTagging`]: 1 }],
  ])('in steady state %s new small object costs one GET, one PUT, one table read, the key\'s claim and one table write, plus its tags', async (_, params, extra) => {
    const fixture = await ReplicationFixture.create();
    // The first message reads the credentials secret once; later ones use the cached key.
    await fixture.replicate([await fixture.events.put('warm-up.txt', 'x')]);
    await fixture.routerHandler(await fixture.events.put('steady.txt', 'payload', params));

    const requests = await requestsDuring(clients, [fixture.sqs], () => fixture.drain());

    expect(requests).toEqual({
      [`s3@${SOURCE_REGION}:GetObject`]: 1,
      [`s3@${DESTINATION_REGION}:PutObject`]: 1,
      [`dynamodb@${SOURCE_REGION}:BatchGetItem`]: 1,
      [`dynamodb@${SOURCE_REGION}:UpdateItem`]: 1,
      [`dynamodb@${SOURCE_REGION}:PutItem`]: 1,
      ...extra,
    });
    expect((await fixture.destinationObject('steady.txt'))?.body.toString()).toBe('payload');
  });

  test('an overwrite adds one table write: the replaced version gets its own item', async () => {
    const fixture = await ReplicationFixture.create();
    await fixture.replicate([await fixture.events.put('over.txt', 'first')]);
    await fixture.routerHandler(await fixture.events.put('over.txt', 'second'));

    const requests = await requestsDuring(clients, [fixture.sqs], () => fixture.drain());

    expect(requests).toEqual({
      [`s3@${SOURCE_REGION}:GetObject`]: 1,
      [`s3@${DESTINATION_REGION}:PutObject`]: 1,
      [`dynamodb@${SOURCE_REGION}:BatchGetItem`]: 1,
      [`dynamodb@${SOURCE_REGION}:UpdateItem`]: 1,
      [`dynamodb@${SOURCE_REGION}:PutItem`]: 2,
    });
  });
});

describe('requests per large object', () => {
  const MiB = 1024 * 1024;
  const clients = { s3: S3Client, dynamodb: DynamoDBClient, sqs: SQSClient, secretsmanager: SecretsManagerClient };

  test('an object of 3 parts costs per part a GET, an UploadPart and a checkpoint write, and per object a fixed few', async () => {
    const fixture = await ReplicationFixture.create();
    await fixture.replicate([await fixture.events.put('warm-up.txt', 'x')]);
    await fixture.routerHandler(await fixture.events.put('large.bin', randomBytes(16 * MiB + 12345)));

    const requests = await requestsDuring(clients, [fixture.sqs], () => fixture.drain());

    // The README's Cost section prices a TiB from these counts: per 8 MiB part one GET (part 1's is
    // the GET that found the size, the others ranged), one UploadPart, one PutItem (its checkpoint)
    // and its delete in a BatchWriteItem (25 a request); per object the upload's creation,
    // completion and record, the checkpoint reads, the key's claim and the version map.
    expect(requests).toEqual({
      [`s3@${SOURCE_REGION}:GetObject`]: 3,
      [`s3@${DESTINATION_REGION}:CreateMultipartUpload`]: 1,
      [`s3@${DESTINATION_REGION}:UploadPart`]: 3,
      [`s3@${DESTINATION_REGION}:CompleteMultipartUpload`]: 1,
      [`dynamodb@${SOURCE_REGION}:BatchGetItem`]: 1,
      [`dynamodb@${SOURCE_REGION}:Query`]: 3,
      [`dynamodb@${SOURCE_REGION}:UpdateItem`]: 2,
      [`dynamodb@${SOURCE_REGION}:PutItem`]: 2 + 3,
      [`dynamodb@${SOURCE_REGION}:BatchWriteItem`]: 1,
      [`dynamodb@${SOURCE_REGION}:DeleteItem`]: 1,
    });
  });
});

describe('large objects across invocations', () => {
  const MiB = 1024 * 1024;
  /** An invocation clock that moves a second per reading: a few parts fit in a 12-second invocation. */
  const slowInvocations = () => {
    let clock = 0;
    return { invocation: { timeMs: 12_000, now: () => (clock += 1_000), reserveMs: 0 }, memoryBudget: 8 * MiB };
  };

  const sourceAdminClient = (fixture: ReplicationFixture) => sourceS3(fixture.emulators.sourceEndpoint, fixture.emulators.sourceAdmin);
  /** The fixture's replicator reading the source through `source`, whose middleware changes or breaks it mid-copy. */
  const replicatorReadingThrough = (
    fixture: ReplicationFixture, options: ReturnType<typeof slowInvocations>, source: S3Client,
  ) => fixture.replicatorReadingThrough(
    source, { memoryBudget: options.memoryBudget, now: options.invocation.now, reserveMs: options.invocation.reserveMs },
  );

  test('a copy that outlasts its invocation continues through the queue; every part is sent once', async () => {
    const fixture = await ReplicationFixture.create(slowInvocations());
    const body = randomBytes(5 * 8 * MiB + 3);
    const created = await fixture.events.put('long.bin', body);

    let drained: { processed: number } | undefined;
    const { lines } = await captureOutput(async () => {
      const requests = await requestsDuring({ s3: S3Client }, [fixture.sourceS3, fixture.adminS3], async () => {
        drained = await fixture.replicate([created]);
      });
      expect(requests[`s3@${DESTINATION_REGION}:UploadPart`]).toBe(6);
      expect(requests[`s3@${DESTINATION_REGION}:CreateMultipartUpload`]).toBe(1);
    });

    const continued = emittedMetrics(lines).CopiesContinued;
    expect(continued).toBeGreaterThanOrEqual(2);
    // The original message and each continuation were processed once, none failed.
    expect(drained).toEqual({ processed: continued + 1, failures: 0 });
    const replica = await fixture.destinationObject('long.bin');
    expect(replica?.body.equals(body)).toBe(true);
    const { version } = await fixture.versionTable.load('long.bin', created.detail.object['version-id'] as string);
    expect(version?.destinationVersionId).toBe(replica?.versionId);
    // Recorded in the version map, the completed upload is forgotten.
    expect(await new UploadCheckpoints(fixture.dynamodb, fixture.tableName).load('long.bin', created.detail.object['version-id'] as string)).toBeUndefined();
  });

  test('a continued copy whose source version disappeared meanwhile is dropped and its upload aborted', async () => {
    const fixture = await ReplicationFixture.create(slowInvocations());
    const created = await fixture.events.put('vanished.bin', randomBytes(5 * 8 * MiB));
    const versionId = created.detail.object['version-id'] as string;
    await fixture.routerHandler(created);
    // After the first invocation the version is deleted for good; its event has not arrived (lifecycle, say).
    let invocations = 0;
    const result = await fixture.drain(3, async (event, context) => {
      const response = await fixture.replicatorHandler(event, context);
      if (++invocations === 1) await fixture.sourceS3.send(new DeleteObjectCommand({ Bucket: fixture.sourceBucket, Key: 'vanished.bin', VersionId: versionId }));
      return response;
    });

    expect(invocations).toBe(2);
    expect(result.failures).toBe(0);
    expect((await fixture.destinationVersions('vanished.bin')).versions).toHaveLength(0);
    const uploads = await fixture.adminS3.send(new ListMultipartUploadsCommand({ Bucket: fixture.destinationBucket }));
    expect(uploads.Uploads ?? []).toHaveLength(0);
    expect(await new UploadCheckpoints(fixture.dynamodb, fixture.tableName).load('vanished.bin', versionId)).toBeUndefined();
  });

  test('a continued copy that fails before the engine runs aborts its upload on the message\'s last delivery', async () => {
    const options = slowInvocations();
    const fixture = await ReplicationFixture.create(options);
    const created = await fixture.events.put('failing.bin', randomBytes(5 * 8 * MiB));
    await fixture.routerHandler(created);
    // Fault injection: once the copy has continued, the source answers the continuation's first GET
    // with a 500 on every delivery, which moto cannot be made to do.
    let failing = false;
    const source = sourceAdminClient(fixture);
    source.middlewareStack.add((next, context) => async (args) => {
      const range = (args as { input: { Range?: string } }).input.Range;
      if (failing && context.commandName === 'GetObjectCommand' && range === undefined) {
        throw Object.assign(new Error('We encountered an internal error'), { name: 'InternalError', $metadata: { httpStatusCode: 500 } });
      }
      return next(args);
    }, { step: 'initialize', name: 'failWholeGets' });
    const handler = replicatorReadingThrough(fixture, options, source);

    const { result, lines } = await captureOutput(() => fixture.drain(3, async (event, context) => {
      const response = await handler(event, context);
      failing = true;
      return response;
    }));

    expect(result.deadLettered).toHaveLength(1);
    expect(emittedMetrics(lines).ReplicationFailures).toBe(3);
    expect(await new UploadCheckpoints(fixture.dynamodb, fixture.tableName).load('failing.bin', created.detail.object['version-id'] as string)).toBeUndefined();
    const uploads = await fixture.adminS3.send(new ListMultipartUploadsCommand({ Bucket: fixture.destinationBucket }));
    expect(uploads.Uploads ?? []).toHaveLength(0);
  });

  test('a tag change queued while a copy continues reaches the replica', async () => {
    const options = slowInvocations();
    const fixture = await ReplicationFixture.create(options);
    const created = await fixture.events.put('tagged.bin', randomBytes(5 * 8 * MiB), { Tagging: 'stage=draft' });
    const versionId = created.detail.object['version-id'] as string;
    await fixture.routerHandler(created);
    // The tags change after the upload started with the old ones, and their event is queued ahead
    // of the copy's continuation. Not a mock: the source's first ranged read triggers a real change.
    let changed = false;
    const source = sourceAdminClient(fixture);
    source.middlewareStack.add((next, context) => async (args) => {
      const range = (args as { input: { Range?: string } }).input.Range;
      if (!changed && context.commandName === 'GetObjectCommand' && range !== undefined) {
        changed = true;
        await fixture.routerHandler(await fixture.events.tag('tagged.bin', versionId, [{ Key: 'stage', Value: 'final' }]));
      }
      return next(args);
    }, { step: 'initialize', name: 'changeTagsMidCopy' });
    const handler = replicatorReadingThrough(fixture, options, source);

    const result = await fixture.drain(3, handler);

    expect(result.failures).toBe(0);
    const replica = await fixture.destinationObject('tagged.bin');
    const tags = await fixture.adminS3.send(new GetObjectTaggingCommand({ Bucket: fixture.destinationBucket, Key: 'tagged.bin', VersionId: replica!.versionId }));
    expect(tags.TagSet).toEqual([{ Key: 'stage', Value: 'final' }]);
  });

  test('continuations do not count against maxReceiveCount: a failure after many of them is retried, not final', async () => {
    const options = slowInvocations();
    const fixture = await ReplicationFixture.create(options);
    const body = randomBytes(10 * 8 * MiB);
    const created = await fixture.events.put('patient.bin', body);
    await fixture.routerHandler(created);
    // Fault injection: once more continuations ran than maxReceiveCount allows receives, one part
    // read fails every in-place attempt (a 500 moto cannot be made to give; not a 503 SlowDown, which
    // would not count as an attempt at all), so the delivery fails.
    let invocations = 0;
    let failuresLeft = PART_ATTEMPTS;
    const source = sourceAdminClient(fixture);
    source.middlewareStack.add((next, context) => async (args) => {
      const range = (args as { input: { Range?: string } }).input.Range;
      if (invocations > fixture.settings.maxReceiveCount && range !== undefined && failuresLeft > 0 && context.commandName === 'GetObjectCommand') {
        failuresLeft--;
        throw Object.assign(new Error('We encountered an internal error.'), { name: 'InternalError', $metadata: { httpStatusCode: 500 } });
      }
      return next(args);
    }, { step: 'initialize', name: 'failOneDelivery' });
    const handler = replicatorReadingThrough(fixture, options, source);

    let result: Awaited<ReturnType<typeof fixture.drain>> | undefined;
    const { lines } = await captureOutput(async () => {
      const requests = await requestsDuring({ s3: S3Client }, [fixture.sourceS3, fixture.adminS3], async () => {
        result = await fixture.drain(3, async (event, context) => {
          invocations++;
          return handler(event, context);
        });
      });
      // The failed delivery was not taken for a last one: its upload survived and was resumed.
      expect(requests[`s3@${DESTINATION_REGION}:CreateMultipartUpload`]).toBe(1);
      expect(requests[`s3@${DESTINATION_REGION}:AbortMultipartUpload`]).toBeUndefined();
    });

    expect(failuresLeft).toBe(0);
    expect(emittedMetrics(lines).CopiesContinued).toBeGreaterThan(fixture.settings.maxReceiveCount);
    expect(result).toEqual({ processed: expect.any(Number), failures: 1 });
    expect((await fixture.destinationObject('patient.bin'))?.body.equals(body)).toBe(true);
    const uploads = await fixture.adminS3.send(new ListMultipartUploadsCommand({ Bucket: fixture.destinationBucket }));
    expect(uploads.Uploads ?? []).toHaveLength(0);
  });

  test('a continued copy overtaken by a newer version of the key is dropped and its upload aborted', async () => {
    const fixture = await ReplicationFixture.create(slowInvocations());
    const older = await fixture.events.put('raced.bin', randomBytes(5 * 8 * MiB));
    const newer = await fixture.events.put('raced.bin', 'small and newer');

    // The older copy suspends; its continuation queues behind the newer event, which replicates first.
    const result = await fixture.replicate([older, newer]);

    expect(result.failures).toBe(0);
    expect((await fixture.destinationObject('raced.bin'))?.body.toString()).toBe('small and newer');
    expect((await fixture.destinationVersions('raced.bin')).versions).toHaveLength(1);
    const uploads = await fixture.adminS3.send(new ListMultipartUploadsCommand({ Bucket: fixture.destinationBucket }));
    expect(uploads.Uploads ?? []).toHaveLength(0);
    const checkpoints = new UploadCheckpoints(fixture.dynamodb, fixture.tableName);
    expect(await checkpoints.load('raced.bin', older.detail.object['version-id'] as string)).toBeUndefined();
  });
});
