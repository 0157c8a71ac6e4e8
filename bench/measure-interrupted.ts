// 6: a large copy spread over several invocations with short deadlines, and what it costs.
import { deleteAllVersions } from './engine-copy';
import { Bench, DST_BUCKET, LARGE, LARGE_KEY, MEMORY_BUDGET, PART_SIZE, SRC_BUCKET, progress, waitForRoom } from './harness';
import { interruptedCopy, shortDeadlineProbe } from './interrupted-copy';
import { Row } from './report';
import { formatBytes } from './test-data';

/** The interrupted copy: the engine's clock runs this much faster than real time (see measureInterrupted). */
const CLOCK_SPEEDUP = 10;
const INVOCATION_MS = 10_000;

/**
 * 6. A large copy over several calls with a short deadline and reserveMs 0. The engine starts no part
 * unless twice its slowest part so far fits before the deadline, and assumes 4 s for a part before
 * one has finished: a call with less than 8 s left copies nothing. A real-time probe shows that;
 * the measured run then gives each call 10 s on an engine clock running CLOCK_SPEEDUP× faster than
 * real time (1 s of real time), so that each call copies only part of the object.
 */
export async function measureInterrupted(bench: Bench, rows: Row[], uninterruptedSeconds: number): Promise<void> {
  const source = { client: bench.src, bucket: SRC_BUCKET, key: LARGE_KEY, versionId: bench.largeVersionId };
  const common = { source, destination: bench.dst, destinationBucket: DST_BUCKET, checkpoints: bench.checkpoints, memoryBudget: MEMORY_BUDGET };
  await waitForRoom(bench, LARGE);
  progress('interrupted copy: one call with a real-time deadline 3 s ahead');
  const probe = await shortDeadlineProbe({ ...common, budgetMs: 3_000 });
  progress(`interrupted copy: calls of ${INVOCATION_MS / 1000} s on a ${CLOCK_SPEEDUP}× clock until completed`);
  const copied = await interruptedCopy({ ...common, budgetMs: INVOCATION_MS, clockSpeedup: CLOCK_SPEEDUP, partCount: Math.ceil(LARGE / PART_SIZE) });
  await deleteAllVersions(bench.dst, DST_BUCKET, LARGE_KEY);
  const overhead = copied.seconds / uninterruptedSeconds;
  rows.push(
    {
      measurement: `Short deadline probe, ${formatBytes(LARGE)}: one call, deadline now + 3 s (real clock), reserveMs 0`,
      result: `${probe.status}, ${probe.partsDone} of ${probe.partCount} parts copied (${probe.seconds.toFixed(2)} s)`,
      notes: 'a part starts only if now + 2 × (slowest part, 4 s before the first) + reserveMs ≤ deadline (src/runtime/engine/multipart/part-plan.ts canStartPart)',
    },
    {
      measurement: `Interrupted copy, ${formatBytes(LARGE)}: calls of ${INVOCATION_MS / 1000} s on a ${CLOCK_SPEEDUP}× clock (${INVOCATION_MS / CLOCK_SPEEDUP / 1000} s real), reserveMs 0, until completed`,
      result: `**${copied.invocations} calls**, ${copied.seconds.toFixed(2)} s in all; **overhead ${overhead.toFixed(2)}×** the uninterrupted copy `
        + `(${uninterruptedSeconds.toFixed(2)} s)${copied.invocations > 1
          ? `, ≈ ${((copied.seconds - uninterruptedSeconds) / (copied.invocations - 1)).toFixed(2)} s per extra call` : ''}`,
      notes: `${stalledCalls(copied.partsDoneAfter)}replica bytes ${copied.bytesEqual ? '=' : '≠'} source (MD5 of both streamed: ${copied.md5}); ETags ${copied.eTagsEqual ? 'equal' : 'differ'}; verified by ${copied.verifiedBy}; parts done after each call: ${copied.partsDoneAfter.join(', ')} of ${copied.partCount}; resumedParts ${copied.resumedParts}`,
      met: copied.bytesEqual,
      target: 'bytes equal',
    },
  );
}

/** Calls after which no more parts were done than before: their setup ate the margin a first part needs. */
function stalledCalls(partsDoneAfter: number[]): string {
  const stalled = partsDoneAfter.filter((done, i) => done === (i === 0 ? 0 : partsDoneAfter[i - 1])).length;
  return stalled === 0 ? '' : `${stalled} call(s) copied nothing: their setup (checkpoint Query on moto, the source GET) `
    + 'left less than 2 × 4 s (engine clock) before the deadline; ';
}