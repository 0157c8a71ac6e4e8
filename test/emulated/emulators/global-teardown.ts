import type { EmulatedPartitions } from './emulated-partitions';

export default async function globalTeardown(): Promise<void> {
  await (globalThis as { __emulatedPartitions?: EmulatedPartitions }).__emulatedPartitions?.stop();
}
