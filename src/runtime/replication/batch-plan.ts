/**
 * How the replicator runs one SQS FIFO batch: its records grouped by message group (one group per
 * object key), the groups run side by side up to a bound, each group's records in queue order.
 * Pure: the handler asks, these answer, and the unit tests check every rule without a server.
 */
import { MIN_PART_SIZE } from '../engine/multipart/part-plan';

/**
 * Message groups replicated at once by one invocation: 10, the most messages a FIFO batch holds,
 * so every group of a full batch of ten distinct keys runs at once (a copy across partitions waits
 * mostly on round trips, so ten keys take about the time of one). Fewer when the memory budget
 * cannot give each its two parts (see `batchConcurrency`).
 */
export const MAX_CONCURRENT_GROUPS = 10;

/** The records of one message group, in queue order. */
export interface RecordGroup<T> {
  readonly groupId: string;
  readonly records: readonly T[];
}

/**
 * The batch's records by message group: groups in the order of their first record, each group's
 * records in queue order (FIFO order within a group is the order to keep; across groups none is).
 */
export function groupsOf<T>(records: readonly T[], groupIdOf: (record: T) => string): RecordGroup<T>[] {
  const groups = new Map<string, T[]>();
  for (const record of records) {
    const groupId = groupIdOf(record);
    const group = groups.get(groupId);
    if (group) group.push(record);
    else groups.set(groupId, [record]);
  }
  return [...groups].map(([groupId, grouped]) => ({ groupId, records: grouped }));
}

/** How many groups run at once, and the part-buffer memory each copy may hold. */
export interface BatchConcurrency {
  readonly groups: number;
  /** Bytes of part buffers for each copy: `groups` copies together stay within the function's budget. */
  readonly copyMemoryBudget: number;
}

/**
 * The rule for sharing the function's part-buffer budget between concurrent copies: each copy gets
 * budget / groups, and groups is the most (up to `MAX_CONCURRENT_GROUPS`) for which that share still
 * holds the engine's two smallest parts (2 x 8 MiB): 10 groups from a 160 MiB budget (a 320 MB
 * function, see `copyMemoryBudget`), 8 at 256 MB, 4 at 128 MB; 1 below 32 MiB (then the one copy
 * has the whole budget, as before concurrency). A single part larger than a copy's share (objects over 78 GiB at
 * low memory) is still held, as the engine holds at least one part in flight.
 */
export function batchConcurrency(memoryBudget: number): BatchConcurrency {
  const groups = Math.max(1, Math.min(MAX_CONCURRENT_GROUPS, Math.floor(memoryBudget / (2 * MIN_PART_SIZE))));
  return { groups, copyMemoryBudget: Math.floor(memoryBudget / groups) };
}

/**
 * Runs `run` on every item, at most `limit` at once, items started in order. Waits for all to
 * settle (no run outlives the call), then throws the first error, if any.
 */
export async function forEachBounded<T>(items: readonly T[], limit: number, run: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const errors: unknown[] = [];
  const worker = async () => {
    while (next < items.length) {
      const item = items[next++];
      try {
        await run(item);
      } catch (error) {
        errors.push(error);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(Math.max(1, limit), items.length) }, worker));
  if (errors.length > 0) throw errors[0];
}
