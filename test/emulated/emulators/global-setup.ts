import { startEmulatedPartitions } from './emulated-partitions';

/** Starts the emulated partitions once for the whole jest run: a pair for each worker. */
export default async function globalSetup(globalConfig: { maxWorkers: number }): Promise<void> {
  (globalThis as { __emulatedPartitions?: unknown }).__emulatedPartitions = await startEmulatedPartitions(Math.max(1, globalConfig.maxWorkers));
}
