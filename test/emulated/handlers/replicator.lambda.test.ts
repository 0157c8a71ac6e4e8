import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { replicatorEnvironment } from '../../../src/runtime/contract/replication-environment';
import { loadEntryPoint, restoreEnvironment } from '../emulators/handler-entrypoints';
import { ReplicationFixture } from '../emulators/replication-fixture';


afterEach(restoreEnvironment);

test('the replicator entry point replicates with nothing but the environment the construct sets', async () => {
  const fixture = await ReplicationFixture.create();
  const { handler } = loadEntryPoint<{ handler: (event: SQSEvent) => Promise<SQSBatchResponse> }>(
    '../../../src/handlers/replicator.lambda', fixture, replicatorEnvironment(fixture.settings));
  await fixture.routerHandler(await fixture.events.put('entry.txt', 'through the entry point'));

  expect(await fixture.drain(1, handler)).toEqual({ processed: 1, failures: 0 });
  expect((await fixture.destinationObject('entry.txt'))?.body.toString()).toBe('through the entry point');
});

test('the replicator entry point refuses to load with an incomplete environment', async () => {
  const fixture = await ReplicationFixture.create();
  const { DESTINATION_BUCKET_NAME: _, ...incomplete } = replicatorEnvironment(fixture.settings);

  expect(() => loadEntryPoint('../../../src/handlers/replicator.lambda', fixture, incomplete)).toThrow('DESTINATION_BUCKET_NAME is not set');
});
