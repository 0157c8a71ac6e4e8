/**
 * How one object is cut into parts and how many move at once. Pure: the copy engine asks, these
 * answer, and the tests check every rule without a server.
 */

const MiB = 1024 * 1024;

/** The smallest part the engine uses; also the largest object copied with one GET and one PUT. */
export const MIN_PART_SIZE = 8 * MiB;
/** S3's limit on the parts of one upload. */
export const MAX_PARTS = 10_000;
/** Parts in flight when memory allows: enough to fill a Lambda's network link on ranged GETs. */
export const MAX_PARTS_IN_FLIGHT = 8;

/** The part size for an object: at least 8 MiB, and large enough that the part count stays within 10,000. */
export function partSizeFor(size: number): number {
  const needed = Math.ceil(size / MAX_PARTS);
  return Math.max(MIN_PART_SIZE, Math.ceil(needed / MiB) * MiB);
}

/** Objects up to this size are one GET streamed into one PUT; larger ones go through parts. */
export function isSinglePartCopy(size: number): boolean {
  return size <= MIN_PART_SIZE;
}

/** One part of an object: its 1-based number and its byte range (end inclusive, as HTTP ranges). */
export interface PartRange {
  readonly partNumber: number;
  readonly start: number;
  readonly end: number;
  readonly length: number;
}

export function partCount(size: number, partSize: number): number {
  return Math.max(1, Math.ceil(size / partSize));
}

export function partRange(size: number, partSize: number, partNumber: number): PartRange {
  const start = (partNumber - 1) * partSize;
  const length = Math.min(partSize, size - start);
  if (partNumber < 1 || length <= 0) throw new RangeError(`part ${partNumber} is outside an object of ${size} bytes in ${partSize}-byte parts`);
  return { partNumber, start, end: start + length - 1, length };
}

/**
 * How many parts may be in flight: each holds one part-sized buffer, so memory is bounded by this
 * times the part size whatever the object's size; at least one.
 */
export function partsInFlight(partSize: number, memoryBudget: number): number {
  return Math.max(1, Math.min(MAX_PARTS_IN_FLIGHT, Math.floor(memoryBudget / partSize)));
}

/** What the engine has seen of its own speed, to judge whether another part fits in the time left. */
export interface TimeBudget {
  /** Now and the deadline, in milliseconds since the epoch. */
  readonly now: number;
  readonly deadline: number;
  /** The longest a part has taken so far (read and written); undefined before the first finishes. */
  readonly slowestPartMs?: number;
  /** Time kept back for finishing: completing or recording the upload and requeueing the rest. */
  readonly reserveMs: number;
}

/**
 * Whether to start another part: it must be able to finish (at twice the slowest part seen, since
 * a part started now shares the link with the parts still in flight) before the reserve begins.
 * Before any part has finished, a part starts whenever the reserve is still ahead: every
 * invocation that has more than its reserve makes progress, however short the function's timeout.
 */
export function canStartPart(budget: TimeBudget): boolean {
  const estimate = 2 * (budget.slowestPartMs ?? 0);
  return budget.now + estimate + budget.reserveMs < budget.deadline;
}
