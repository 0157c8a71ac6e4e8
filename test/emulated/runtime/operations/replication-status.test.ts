import { FailureRecords } from '../../../../src/runtime/replication/key-state/failure-records';
import { BackfillDriver } from '../../emulators/backfill-driver';
import { ReplicationFixture } from '../../emulators/replication-fixture';

// The backfill function's `status` mode against the moto partitions: the real handler, the real
// version map and the source bucket's real version listing.

async function setUp() {
  const fixture = await ReplicationFixture.create();
  const driver = await BackfillDriver.create(fixture);
  const status = (request: Record<string, unknown>) => driver.handler()({ mode: 'status', ...request });
  return { fixture, status };
}

const versionOf = (event: { detail: { object: Record<string, unknown> } }) => event.detail.object['version-id'] as string;

test('a key never seen is not-found', async () => {
  const { status } = await setUp();
  await expect(status({ key: 'never/seen.txt' })).resolves.toMatchObject({ mode: 'status', status: 'not-found', key: 'never/seen.txt' });
  await expect(status({ key: 'never/seen.txt', versionId: 'no-such-version' })).resolves.toMatchObject({ status: 'not-found', versionId: 'no-such-version' });
});

test('a version the source has and nobody replicated yet is pending; without a version id, the key\'s current one is meant', async () => {
  const { fixture, status } = await setUp();
  const created = await fixture.events.put('waiting.txt', 'x');
  await expect(status({ key: 'waiting.txt' })).resolves.toMatchObject({ status: 'pending', versionId: versionOf(created), kind: 'object' });
});

test('a replicated version answers with its destination version and when the replica was recorded', async () => {
  const { fixture, status } = await setUp();
  const before = Date.now();
  const created = await fixture.events.put('done.txt', 'replicate me');
  await fixture.replicate([created]);
  const [destination] = (await fixture.destinationVersions('done.txt')).versions;

  const answer = await status({ key: 'done.txt', versionId: versionOf(created) });
  expect(answer).toMatchObject({ status: 'replicated', kind: 'object', destinationVersionId: destination.VersionId });
  const replicatedAt = Date.parse((answer as { replicatedAt: string }).replicatedAt);
  expect(replicatedAt).toBeGreaterThanOrEqual(before - 1000);
  expect(replicatedAt).toBeLessThanOrEqual(Date.now());
});

test('a dead-lettered version is failed, with the reason and a redrive hint, until a replica outranks it', async () => {
  const { fixture, status } = await setUp();
  const created = await fixture.events.put('broken.txt', 'x');
  // What the replicator records when it dead-letters the version's message.
  await new FailureRecords(fixture.dynamodb, fixture.tableName).record('broken.txt', versionOf(created), {
    reason: 'failed 3 attempts (maxReceiveCount 3); last: AccessDenied', messageId: 'message-1', attempts: 3,
  });
  const failed = await status({ key: 'broken.txt' });
  expect(failed).toMatchObject({ status: 'failed', reason: 'failed 3 attempts (maxReceiveCount 3); last: AccessDenied', attempts: 3 });
  expect((failed as { hint: string }).hint).toContain('"redrive"');

  await fixture.replicate([created]);
  await expect(status({ key: 'broken.txt' })).resolves.toMatchObject({ status: 'replicated' });
});

test('an older version whose key already has a newer replica is superseded, naming the newer one', async () => {
  const { fixture, status } = await setUp();
  const first = await fixture.events.put('two.txt', 'first');
  const second = await fixture.events.put('two.txt', 'second');
  await fixture.replicate([second]);

  await expect(status({ key: 'two.txt', versionId: versionOf(first) })).resolves.toMatchObject({
    status: 'superseded', newerReplicatedVersionId: versionOf(second),
  });
  await expect(status({ key: 'two.txt' })).resolves.toMatchObject({ status: 'replicated', versionId: versionOf(second) });
});

test('a deleted key\'s current entry is its delete marker; once replicated, the marker answers replicated', async () => {
  const { fixture, status } = await setUp();
  const created = await fixture.events.put('gone.txt', 'x');
  const marker = await fixture.events.deleteMarker('gone.txt');
  await expect(status({ key: 'gone.txt' })).resolves.toMatchObject({ status: 'pending', kind: 'deleteMarker', versionId: versionOf(marker) });
  await fixture.replicate([created, marker]);
  await expect(status({ key: 'gone.txt' })).resolves.toMatchObject({ status: 'replicated', kind: 'deleteMarker' });
});

test('bad input is refused, saying what to send', async () => {
  const { status } = await setUp();
  await expect(status({})).rejects.toThrow('send {"mode": "status", "key": "<object key>"');
  await expect(status({ key: 'a', versionId: 1 })).rejects.toThrow('"versionId", when given, must be a non-empty string');
});

test('an unknown mode is refused, naming the modes, status and redrive among them', async () => {
  const { fixture } = await setUp();
  const driver = await BackfillDriver.create(fixture);
  await expect(driver.handler()({ mode: 'stat' })).rejects.toThrow('backfill mode "stat" is not one of all-versions, current-versions, reconcile, inventory, status, redrive');
});

test('with a tag filter, a version the filter skips is outside-scope by its tags; a matching one not replicated yet is pending', async () => {
  const fixture = await ReplicationFixture.create({ tagFilter: { replicate: 'yes' }, replicateDeleteMarkers: false });
  const driver = await BackfillDriver.create(fixture);
  const status = (request: Record<string, unknown>) => driver.handler()({ mode: 'status', ...request });
  const skipped = await fixture.events.put('untagged.txt', 'x');
  await fixture.replicate([skipped]);
  await fixture.events.put('tagged.txt', 'y', { Tagging: 'replicate=yes' });

  await expect(status({ key: 'untagged.txt' })).resolves.toMatchObject({ status: 'outside-scope', versionId: versionOf(skipped) });
  await expect(status({ key: 'tagged.txt' })).resolves.toMatchObject({ status: 'pending' });
});
