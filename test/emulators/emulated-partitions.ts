import { startMotoServer } from './moto-server';
import { EMULATOR_ENV, prepareDestinationPartition } from './partitions';

export interface EmulatedPartitions {
  stop(): Promise<void>;
}

/**
 * Starts the source partition (`us-east-1`) and the destination partition (`us-gov-west-1`, with
 * IAM authentication enforced) as two moto servers, and publishes their endpoints in the
 * environment, where the test workers and the demo find them (see `emulators()`).
 */
export async function startEmulatedPartitions(): Promise<EmulatedPartitions> {
  const [source, destination] = await Promise.all([startMotoServer('source'), startMotoServer('destination')]);
  const stop = async () => {
    await Promise.all([source.stop(), destination.stop()]);
  };
  try {
    process.env[EMULATOR_ENV.source] = source.endpoint;
    process.env[EMULATOR_ENV.destination] = destination.endpoint;
    process.env[EMULATOR_ENV.destinationAdmin] = JSON.stringify(await prepareDestinationPartition(destination.endpoint));
  } catch (error) {
    await stop();
    throw error;
  }
  return { stop };
}
