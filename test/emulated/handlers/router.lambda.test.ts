import { routerEnvironment } from '../../../src/runtime/contract/replication-environment';
import { EVERY_KEY } from '../../../src/runtime/contract/replication-scope';
import { loadEntryPoint, restoreEnvironment } from '../emulators/handler-entrypoints';
import { ReplicationFixture } from '../emulators/replication-fixture';


afterEach(restoreEnvironment);

test('the router entry point routes with nothing but the environment the construct sets', async () => {
  const fixture = await ReplicationFixture.create();
  const { handler } = loadEntryPoint<{ handler: (event: unknown) => Promise<{ routed: boolean }> }>(
    '../../../src/handlers/router.lambda', fixture,
  routerEnvironment({ sourceBucket: fixture.sourceBucket, scope: EVERY_KEY, queueUrl: fixture.queueUrl }));

  await expect(handler(await fixture.events.put('routed.txt', 'x'))).resolves.toEqual({ routed: true });
  expect(await fixture.drain()).toEqual({ processed: 1, failures: 0 });
});
