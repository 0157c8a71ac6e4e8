import { MotoServer, startMotoServer } from './moto-server';
import { DESTINATION_REGION, EMULATOR_ENV, emulatorEnvName, preparePartition, SOURCE_REGION } from './partitions';

export interface EmulatedPartitions {
  stop(): Promise<void>;
}

/**
 * Starts the source partition (`us-east-1`) and the destination partition (`us-gov-west-1`) as two
 * moto servers, each with IAM authentication enforced, and publishes their endpoints in the
 * environment, where the test workers and the demo find them (see `emulators()`).
 *
 * `slots` pairs are started, one per jest worker: a moto server serves its requests one at a time
 * (Python's GIL), so workers sharing one pair wait on each other, while a pair each runs them in
 * parallel. Worker N uses pair N (see `emulators()`).
 */
export async function startEmulatedPartitions(slots = 1): Promise<EmulatedPartitions> {
  const pairs = await Promise.allSettled(Array.from({ length: slots }, () => Promise.all([startMotoServer('source'), startMotoServer('destination')])));
  const servers = pairs.flatMap((pair) => (pair.status === 'fulfilled' ? pair.value : []));
  const stop = async () => {
    await Promise.all(servers.map((server) => server.stop()));
  };
  try {
    for (const pair of pairs) if (pair.status === 'rejected') throw pair.reason;
    await Promise.all(pairs.map(async (pair, index) => {
      const [source, destination] = (pair as PromiseFulfilledResult<MotoServer[]>).value;
      const slot = index + 1;
      process.env[emulatorEnvName('source', slot)] = source.endpoint;
      process.env[emulatorEnvName('destination', slot)] = destination.endpoint;
      const [sourceAdmin, destinationAdmin] = await Promise.all([
        preparePartition(source.endpoint, SOURCE_REGION),
        preparePartition(destination.endpoint, DESTINATION_REGION),
      ]);
      process.env[emulatorEnvName('sourceAdmin', slot)] = JSON.stringify(sourceAdmin);
      process.env[emulatorEnvName('destinationAdmin', slot)] = JSON.stringify(destinationAdmin);
    }));
    process.env[EMULATOR_ENV.slots] = String(slots);
  } catch (error) {
    await stop();
    throw error;
  }
  return { stop };
}
