// 3 and 4: peak memory. The naive copy (the whole object in one Buffer) and the engine, each in a
// child process of its own, the engine for several object sizes and a single-PUT source.
import * as path from 'node:path';
import { cpuSince, cpuSnapshot, formatCpu } from './cpu-usage';
import { deleteAllVersions } from './engine-copy';
import { EngineCopyWorkerArgs, EngineCopyWorkerResult } from './engine-copy-worker';
import {
  Bench, CONCURRENCY, DST_BUCKET, LARGE, LARGE_KEY, MEMORY_BUDGET, PART_SIZE, QUICK, SRC_BUCKET, TABLE,
  address, progress, retriedOnce, waitForRoom,
} from './harness';
import { watchMemAvailable } from './memory-available';
import { NaiveCopyResult, NaiveCopyWorkerArgs } from './naive-copy';
import { PeakMemoryResult, measurePeakMemory } from './peak-memory';
import { Row, median, medianIndex, mib } from './report';
import { GiB, MiB, formatBytes, putRandomObject } from './test-data';
import { abandonUpload } from '../src/runtime/engine/multipart/multipart-copy';

const MEMORY_SIZES = QUICK ? [16 * MiB, 64 * MiB, 128 * MiB] : [256 * MiB, GiB, 4 * GiB];
const MEMORY_REPEATS = 3;

/** 3. The naive copy (whole object in one Buffer, then one PUT), in its own process for its peak RSS. */
export async function measureNaive(bench: Bench, rows: Row[]): Promise<void> {
  progress('naive copy (child process)');
  await waitForRoom(bench, LARGE);
  const args: NaiveCopyWorkerArgs = {
    src: { ...address(bench.srcServer), bucket: SRC_BUCKET, key: LARGE_KEY },
    dst: { ...address(bench.dstServer), bucket: DST_BUCKET, key: 'naive/object' },
  };
  const measured = await measurePeakMemory<NaiveCopyResult>(path.join(__dirname, 'naive-copy.ts'), args);
  await deleteAllVersions(bench.dst, DST_BUCKET, 'naive/');
  rows.push({
    measurement: `Naive copy, ${formatBytes(LARGE)} (GET into one Buffer, then one PutObject)`,
    result: `${measured.result.seconds.toFixed(2)} s (${(measured.result.bytesPerSecond / MiB).toFixed(1)} MiB/s); peak RSS ${mib(measured.peakRssBytes)}`,
    notes: `baseline ${mib(measured.baselineRssBytes)}, peak − baseline ${mib(measured.peakRssBytes - measured.baselineRssBytes)}; one run`,
  });
}

/**
 * 4. The engine's peak RSS per object size, each copy in a fresh child. A first run at C = 1 shows
 * the overhead that doesn't come from the part buffers (SDK, sockets, heap): its peak − baseline
 * minus its own bound 2 × P. A last run copies a single-PUT source (plain MD5 ETag), for which the
 * engine also computes the whole object's MD5 in part order.
 */
export async function measureEngineMemory(bench: Bench, rows: Row[]): Promise<void> {
  const bound = (CONCURRENCY + 1) * PART_SIZE;
  const first = MEMORY_SIZES[0];
  const calibration = await engineInChild(bench, first, PART_SIZE, { keepSource: true });
  // Each size MEMORY_REPEATS times (the peak depends on when the GC runs), the source kept until the last.
  const sized: (PeakMemoryResult<EngineCopyWorkerResult> & { load: string })[][] = [];
  for (const size of MEMORY_SIZES) {
    const runs = [];
    for (let run = 1; run <= MEMORY_REPEATS; run++) runs.push(await engineInChild(bench, size, MEMORY_BUDGET, { keepSource: run < MEMORY_REPEATS }));
    sized.push(runs);
  }
  const plainMd5 = await engineInChild(bench, LARGE, MEMORY_BUDGET, { singlePut: true });

  const delta = (run: PeakMemoryResult<EngineCopyWorkerResult>) => run.peakRssBytes - run.baselineRssBytes;
  // What else ran meanwhile (other jobs, memory): a slow or odd memory run is explained by it, or not.
  const context = (run: { load: string }) => `; during the copy: ${run.load}`;
  const deltas = sized.map((runs) => median(runs.map(delta)));
  const sizeSpread = Math.max(...deltas) - Math.min(...deltas);
  const overheadAtC1 = delta(calibration) - 2 * PART_SIZE;
  rows.push({
    measurement: `Engine peak RSS, ${formatBytes(first)}, C = 1 (budget P; child process)`,
    result: `peak − baseline ${mib(delta(calibration))}: ${mib(overheadAtC1)} above its own bound 2 × P`,
    notes: `the overhead not due to part buffers at one part in flight; baseline ${mib(calibration.baselineRssBytes)}, peak ${mib(calibration.peakRssBytes)}; ${rate(calibration.result)}; ${memoryBreakdown(calibration.result)}${context(calibration)}`,
  });
  sized.forEach((runs, i) => {
    const d = deltas[i];
    const run = runs[medianIndex(runs.map(delta))];
    rows.push({
      measurement: `Engine peak RSS, ${formatBytes(MEMORY_SIZES[i])} (C = ${CONCURRENCY}, child process)`,
      result: `**peak − baseline ${mib(d)}** = (C+1)×P ${d >= bound ? '+' : '−'} ${mib(Math.abs(d - bound))} (median of ${runs.length}: `
        + `${runs.map((r) => mib(delta(r))).join(', ')}); baseline ${mib(run.baselineRssBytes)}, peak ${mib(run.peakRssBytes)}`,
      target: `≤ (C+1)×P = ${mib(bound)} + a fixed overhead; the same for all sizes (within one part)`,
      met: sizeSpread <= PART_SIZE,
      notes: `${rate(run.result)}, verified by ${verifiedBy(run.result)}; the three sizes are within ${mib(sizeSpread)} of each other; ${memoryBreakdown(run.result)}${context(run)}`,
    });
  });
  rows.push({
    measurement: `Engine, ${formatBytes(LARGE)} single-PUT source (plain MD5 ETag: whole-object MD5 in part order; child process)`,
    result: `${rate(plainMd5.result)}; peak − baseline ${mib(delta(plainMd5))}`,
    notes: `verified by ${verifiedBy(plainMd5.result)}; baseline ${mib(plainMd5.baselineRssBytes)}, peak ${mib(plainMd5.peakRssBytes)}; one run; ${memoryBreakdown(plainMd5.result)}${context(plainMd5)}`,
  });
}

/** Uploads the source (unless it is the large object), copies it in a child, deletes what it made. */
async function engineInChild(
  bench: Bench, size: number, budget: number, { keepSource = false, singlePut = false } = {},
): Promise<PeakMemoryResult<EngineCopyWorkerResult> & { load: string }> {
  const reuse = size === LARGE && !singlePut;
  const key = reuse ? LARGE_KEY : `memory/${singlePut ? 'single-put' : 'multipart'}-${formatBytes(size).replace(/[ .]/g, '')}`;
  let versionId = bench.largeVersionId;
  if (!reuse && !memorySources.has(key)) {
    await waitForRoom(bench, 2 * size);
    progress(`uploading a ${formatBytes(size)} source ${singlePut ? 'in one PutObject' : `in ${formatBytes(PART_SIZE)} parts`}`);
    const partSize = singlePut ? size : PART_SIZE;
    memorySources.set(key, (await putRandomObject(bench.src, SRC_BUCKET, key, size, { partSize, concurrency: CONCURRENCY }))!);
  }
  if (!reuse) versionId = memorySources.get(key)!;
  await waitForRoom(bench, size);
  progress(`engine copy in a child process: ${formatBytes(size)}${singlePut ? ' single-PUT source' : ''}, budget ${formatBytes(budget)}`);
  const args: EngineCopyWorkerArgs = {
    src: { ...address(bench.srcServer), bucket: SRC_BUCKET, key, versionId },
    dst: { ...address(bench.dstServer), bucket: DST_BUCKET },
    moto: { endpoint: bench.moto.endpoint },
    tableName: TABLE,
    memoryBudget: budget,
    maxSockets: 64,
  };
  const snapshot = cpuSnapshot(bench.watched);
  const stopWatching = watchMemAvailable();
  const measured = await retriedOnce(`engine copy of ${formatBytes(size)} in a child`,
    // --expose-gc only lets the worker run a full GC after the copy (see afterFullGc); the copy runs with V8's defaults.
    () => measurePeakMemory<EngineCopyWorkerResult>(path.join(__dirname, 'engine-copy-worker.ts'), args, { nodeOptions: ['--expose-gc'] }),
    () => abandonUpload(bench.checkpoints, bench.dst, DST_BUCKET, { key, versionId }));
  const cpu = cpuSince(snapshot, bench.watched);
  const lowestMemAvailable = stopWatching();
  await deleteAllVersions(bench.dst, DST_BUCKET, key);
  if (!reuse && !keepSource) {
    await deleteAllVersions(bench.src, SRC_BUCKET, key);
    memorySources.delete(key);
  }
  return { ...measured, load: `${formatCpu(cpu, 'node (idle)', 'worker')}; lowest MemAvailable ${formatBytes(lowestMemAvailable)}` };
}

const memorySources = new Map<string, string>();

function rate(run: EngineCopyWorkerResult): string {
  return `copy ${run.seconds.toFixed(2)} s (${(run.bytesPerSecond / MiB).toFixed(1)} MiB/s)`;
}

/** The ArrayBuffers (part buffers, and socket reads not yet collected) and JS heap at their highest. */
function memoryBreakdown(run: EngineCopyWorkerResult): string {
  const { arrayBuffers, heapUsed } = run.maxMemory;
  const after = run.afterFullGc;
  return `max ArrayBuffer memory ${mib(arrayBuffers)}, max JS heap used ${mib(heapUsed)}`
    + (after ? `; after the copy and a full GC: heap ${mib(after.heapUsed)}, ArrayBuffers ${mib(after.arrayBuffers)}` : '');
}

function verifiedBy(run: EngineCopyWorkerResult): string {
  return run.result.status === 'completed' ? run.result.verifiedBy : run.result.status;
}