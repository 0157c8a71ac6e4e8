import { startMotoServer } from './moto-server';
import { DESTINATION_REGION, EMULATOR_ENV, preparePartition, SOURCE_REGION } from './partitions';

export interface EmulatedPartitions {
  stop(): Promise<void>;
}

/**
 * Starts the source partition (`us-east-1`) and the destination partition (`us-gov-west-1`) as two
 * moto servers, each with IAM authentication enforced, and publishes their endpoints in the
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
    const [sourceAdmin, destinationAdmin] = await Promise.all([
      preparePartition(source.endpoint, SOURCE_REGION),
      preparePartition(destination.endpoint, DESTINATION_REGION),
    ]);
    process.env[EMULATOR_ENV.sourceAdmin] = JSON.stringify(sourceAdmin);
    process.env[EMULATOR_ENV.destinationAdmin] = JSON.stringify(destinationAdmin);
  } catch (error) {
    await stop();
    throw error;
  }
  return { stop };
}
