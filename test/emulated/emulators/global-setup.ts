import { startEmulatedPartitions } from './emulated-partitions';

/** Starts the two emulated partitions once for the whole jest run. */
export default async function globalSetup(): Promise<void> {
  (globalThis as { __emulatedPartitions?: unknown }).__emulatedPartitions = await startEmulatedPartitions();
}
