import { startMotoServer } from './moto-server';
import { EMULATOR_ENV, prepareDestinationPartition } from './partitions';

/**
 * Starts the two emulated partitions once for the whole jest run: the source partition
 * (`us-east-1`) and the destination partition (`us-gov-west-1`, with IAM authentication enforced).
 * Their endpoints reach the test workers through the environment.
 */
export default async function globalSetup(): Promise<void> {
  const [source, destination] = await Promise.all([startMotoServer('source'), startMotoServer('destination')]);
  (globalThis as { __motoServers?: unknown[] }).__motoServers = [source, destination];
  process.env[EMULATOR_ENV.source] = source.endpoint;
  process.env[EMULATOR_ENV.destination] = destination.endpoint;
  const admin = await prepareDestinationPartition(destination.endpoint);
  process.env[EMULATOR_ENV.destinationAdmin] = JSON.stringify(admin);
}
