import { sourceClientConfig } from './partitions';
import { ReplicationFixture } from './replication-fixture';

const original = { ...process.env };

/** Puts back the environment a test's `loadEntryPoint` changed (call it in afterEach). */
export function restoreEnvironment(): void {
  process.env = { ...original };
}

/**
 * Loads a `*.lambda.ts` entry point the way Lambda does: a fresh module whose only input is the
 * environment the construct sets (plus the SDK's own variables, pointing it at the emulated source
 * partition). The environment stays set, as in a Lambda sandbox, until `restoreEnvironment`.
 */
export function loadEntryPoint<T extends object>(modulePath: string, fixture: ReplicationFixture, environment: Record<string, string>): T {
  const { credentials } = sourceClientConfig(fixture.emulators.sourceEndpoint, fixture.emulators.sourceAdmin);
  Object.assign(process.env, environment, {
    AWS_REGION: 'us-east-1',
    AWS_ENDPOINT_URL: fixture.emulators.sourceEndpoint,
    AWS_ACCESS_KEY_ID: credentials.accessKeyId,
    AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey,
    POWERTOOLS_LOG_LEVEL: 'ERROR',
  });
  let loaded: T | undefined;
  jest.isolateModules(() => {
    loaded = jest.requireActual<T>(modulePath);
  });
  return loaded!;
}
