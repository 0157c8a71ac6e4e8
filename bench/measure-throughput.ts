// 1 and 2: the engine's copy of the large object against the servers' raw limits, a raw copy and
// rclone, in rounds; and the checkpoint table's share of the engine's time.
import { DeleteObjectCommand } from '@aws-sdk/client-s3';
import { CpuShares, coreSecondsPerGiB, cpuSecondsPerGiB, cpuSince, cpuSnapshot, formatCpu } from './cpu-usage';
import { deleteAllVersions, engineCopy } from './engine-copy';
import {
  Bench, CONCURRENCY, DST_BUCKET, LARGE, LARGE_KEY, MEMORY_BUDGET, PART_SIZE, SRC_BUCKET,
  progress, retriedOnce, waitForQuietMachine, waitForRoom,
} from './harness';
import { InMemoryCheckpoints } from './in-memory-checkpoints';
import { measureRawCopyThroughput } from './raw-copy';
import { measureRangedGetThroughput, measureUploadPartThroughput } from './raw-throughput';
import { rcloneCopy } from './rclone';
import { Row, median, medianIndex, rateWithSpread } from './report';
import { RequestCounter } from './request-counter';
import { formatBytes } from './test-data';
import { abandonUpload } from '../src/runtime/engine/multipart/multipart-copy';
import { payloadSigningFor } from '../src/runtime/engine/payload-signing';

const REPEATS = 3;

/**
 * 1 and 2. Raw ranged GET, raw UploadPart, a raw copy, the engine's copy and rclone's copy of the
 * same object, one after the other in each of REPEATS rounds. The cores are shared with whatever
 * else runs on the machine, so each round first waits (a little) for it to be idle, and the ratios
 * are taken within each round (same conditions) and their median reported.
 */
export async function measureThroughput(bench: Bench, rows: Row[]): Promise<{ engineSeconds: number }> {
  const kinds = ['get', 'put', 'copy', 'engine', 'engineInMemory', 'rclone'] as const;
  const rates: Record<typeof kinds[number], number[]> = { get: [], put: [], copy: [], engine: [], engineInMemory: [], rclone: [] };
  const cpu: Record<typeof kinds[number], CpuShares[]> = { get: [], put: [], copy: [], engine: [], engineInMemory: [], rclone: [] };
  // The checkpoint table's requests during the engine's copies: how long moto takes to answer them.
  const tableRequests = new RequestCounter();
  tableRequests.instrument(bench.dynamodb, 'DynamoDB');
  let tableCalls = 0;
  let tableMs = 0;
  const engineSeconds: number[] = [];
  let engineVerifiedBy = '';
  const measure = async <T extends { bytesPerSecond: number }>(kind: typeof kinds[number], step: () => Promise<T>): Promise<T> => {
    const snapshot = cpuSnapshot(bench.watched);
    const result = await step();
    cpu[kind].push(cpuSince(snapshot, bench.watched));
    rates[kind].push(result.bytesPerSecond);
    return result;
  };
  const limits = { concurrency: CONCURRENCY, partSize: PART_SIZE };
  for (let run = 1; run <= REPEATS; run++) {
    await waitForRoom(bench, 2 * LARGE);
    const quiet = await waitForQuietMachine(60_000);
    progress(`throughput round ${run}/${REPEATS}: raw ranged GET, raw UploadPart, raw copy, engine copy, rclone (${quiet})`);
    await measure('get', () => measureRangedGetThroughput(bench.src, SRC_BUCKET, LARGE_KEY, limits));
    await measure('put', () => measureUploadPartThroughput(bench.dst, DST_BUCKET, 'raw/upload', LARGE, { ...limits, finish: 'abort' }));
    await measure('copy', () => measureRawCopyThroughput(bench.src, SRC_BUCKET, LARGE_KEY, bench.dst, DST_BUCKET, 'raw/copy', limits));
    tableRequests.reset();
    const copied = await measure('engine', async () => {
      const source = { client: bench.src, bucket: SRC_BUCKET, key: LARGE_KEY, versionId: bench.largeVersionId };
      const request = { source, destination: bench.dst, destinationBucket: DST_BUCKET, checkpoints: bench.checkpoints, memoryBudget: MEMORY_BUDGET };
      const done = await retriedOnce(`engine copy, round ${run}`, () => engineCopy(request),
        () => abandonUpload(bench.checkpoints, bench.dst, DST_BUCKET, source));
      return { ...done, bytesPerSecond: LARGE / done.seconds };
    });
    if (copied.result.status !== 'completed') throw new Error(`engine copy ended ${copied.result.status}`);
    const table = tableRequests.snapshot().DynamoDB;
    tableCalls += table?.requests ?? 0;
    tableMs += table?.ms ?? 0;
    engineVerifiedBy = copied.result.verifiedBy;
    engineSeconds.push(copied.seconds);
    await bench.dst.send(new DeleteObjectCommand({ Bucket: DST_BUCKET, Key: LARGE_KEY, VersionId: copied.result.written.destinationVersionId }));
    const inMemory = await measure('engineInMemory', async () => {
      const source = { client: bench.src, bucket: SRC_BUCKET, key: LARGE_KEY, versionId: bench.largeVersionId };
      const checkpoints = new InMemoryCheckpoints();
      const done = await engineCopy({ source, destination: bench.dst, destinationBucket: DST_BUCKET, checkpoints, memoryBudget: MEMORY_BUDGET });
      return { ...done, bytesPerSecond: LARGE / done.seconds };
    });
    if (inMemory.result.status !== 'completed') throw new Error(`engine copy ended ${inMemory.result.status}`);
    await bench.dst.send(new DeleteObjectCommand({ Bucket: DST_BUCKET, Key: LARGE_KEY, VersionId: inMemory.result.written.destinationVersionId }));
    await measure('rclone', () => rcloneCopy(
      { server: bench.srcServer, bucket: SRC_BUCKET, key: LARGE_KEY },
      { server: bench.dstServer, bucket: DST_BUCKET, key: 'rclone/object' },
      limits,
    ));
    await deleteAllVersions(bench.dst, DST_BUCKET, 'rclone/');
  }
  // Ratios within each round, then their median: a round slowed by other jobs slows all its parts.
  const perRound = (f: (i: number) => number) => rates.engine.map((_, i) => f(i));
  const vsLimit = perRound((i) => rates.engine[i] / Math.min(rates.get[i], rates.put[i]));
  const vsRawCopy = perRound((i) => rates.engine[i] / rates.copy[i]);
  const rawCopyVsLimit = perRound((i) => rates.copy[i] / Math.min(rates.get[i], rates.put[i]));
  const vsRclone = perRound((i) => rates.engine[i] / rates.rclone[i]);
  const inMemoryVsRclone = perRound((i) => rates.engineInMemory[i] / rates.rclone[i]);
  const inMemoryVsLimit = perRound((i) => rates.engineInMemory[i] / Math.min(rates.get[i], rates.put[i]));
  const inMemoryVsRawCopy = perRound((i) => rates.engineInMemory[i] / rates.copy[i]);
  const ratios = (values: number[]) => `**${median(values).toFixed(2)}** (rounds: ${values.map((v) => v.toFixed(2)).join(', ')})`;
  // The CPU note of the median run, and what it cost in CPU time per GiB (which other jobs' load barely changes).
  const cpuOf = (kind: typeof kinds[number], self = 'node', child = 'child') => {
    const i = medianIndex(rates[kind]);
    return `${formatCpu(cpu[kind][i], self, child)}; **${cpuSecondsPerGiB(cpu[kind][i], LARGE / rates[kind][i], LARGE).toFixed(1)} core-s/GiB**`;
  };
  const vsRcloneMedian = median(vsRclone);
  // CPU per GiB copied, per round: the copier's own (what Lambda bills) and the servers' beside it.
  const copierOf = (kind: typeof kinds[number]) => (kind === 'rclone' ? 'children' : 'self');
  const perGiB = (kind: typeof kinds[number], i: number) => coreSecondsPerGiB(cpu[kind][i], LARGE / rates[kind][i], LARGE, copierOf(kind));
  const copierCpu = (kind: typeof kinds[number]) => rates[kind].map((_, i) => perGiB(kind, i).copier);
  const cpuVsRclone = perRound((i) => perGiB('engine', i).copier / perGiB('rclone', i).copier);
  const cpuVsRawCopy = perRound((i) => perGiB('engine', i).copier / perGiB('copy', i).copier);
  const inMemoryCpuVsRclone = perRound((i) => perGiB('engineInMemory', i).copier / perGiB('rclone', i).copier);
  const cpuRow = (kind: typeof kinds[number], label: string, copier: string): Row => {
    const values = copierCpu(kind);
    const i = medianIndex(values);
    const servers = Object.entries(perGiB(kind, i).processes).map(([name, value]) => `${name} ${value.toFixed(2)}`).join(', ');
    return {
      measurement: `CPU per GiB copied: ${label}`,
      result: `**${median(values).toFixed(2)} core-s/GiB** (rounds: ${values.map((v) => v.toFixed(2)).join(', ')})`,
      notes: `the copier (${copier}) alone; beside it in the median round, core-s/GiB: ${servers}`,
    };
  };
  const transport = `${bench.dstServer.endpoint.startsWith('https') ? 'TLS' : 'plain http'}: the engine's parts go ${payloadSigningFor(new URL(bench.dstServer.endpoint).protocol)}`;
  rows.push(
    { measurement: `Raw parallel ranged GET, ${formatBytes(LARGE)} (MinIO A → /dev/null)`, result: rateWithSpread(rates.get), notes: cpuOf('get') },
    {
      measurement: `Raw parallel UploadPart from memory, ${formatBytes(LARGE)} (→ MinIO B)`,
      result: rateWithSpread(rates.put),
      notes: `part rate (create/abort excluded); ${cpuOf('put')}`,
    },
    {
      measurement: `Engine copyVersion, ${formatBytes(LARGE)} A → B (in process, budget C × P, no deadline)`,
      result: `${rateWithSpread(rates.engine)}; ${median(engineSeconds).toFixed(2)} s`,
      notes: `verified by ${engineVerifiedBy}; includes HEAD part 1, create/complete, ${Math.ceil(LARGE / PART_SIZE)} checkpoint PutItems (moto) `
        + `and their cleanup; table requests ${Math.round(tableCalls / REPEATS)} per copy, ${(tableMs / Math.max(1, tableCalls)).toFixed(1)} ms each on average; ${cpuOf('engine')}`,
    },
    {
      measurement: 'Engine / min(GET, UploadPart)',
      result: ratios(vsLimit),
      target: '≥ 0.8',
      met: median(vsLimit) >= 0.8,
      notes: `raw copy (row below) / min(GET, UploadPart) = ${ratios(rawCopyVsLimit)}; engine / raw copy = ${ratios(vsRawCopy)}`,
    },
    {
      measurement: `rclone copyto, ${formatBytes(LARGE)} A → B (chunk P, upload concurrency C)`,
      result: rateWithSpread(rates.rclone),
      notes: `flags in bench/rclone.ts; ${cpuOf('rclone', 'node (idle)', 'rclone')}`,
    },
    {
      measurement: 'Engine / rclone',
      result: ratios(vsRclone),
      target: '≥ 1.5',
      met: vsRcloneMedian >= 1.5,
      notes: vsRcloneMedian >= 1.0 ? 'engine ahead of rclone' : 'engine behind rclone',
    },
    {
      measurement: 'Engine / raw copy (throughput)',
      result: ratios(vsRawCopy),
      target: '≥ 0.95',
      met: median(vsRawCopy) >= 0.95,
      notes: `the raw copy: row "Context: raw parallel copy" below; ${transport}`,
    },
    cpuRow('copy', 'raw copy (no checks, no table)', 'node'),
    cpuRow('engine', 'engine, checkpoints on moto', 'node'),
    cpuRow('engineInMemory', 'engine, checkpoints in memory', 'node'),
    cpuRow('rclone', 'rclone', 'the rclone process'),
    {
      measurement: 'Engine / rclone, CPU per GiB (copier only)',
      result: ratios(cpuVsRclone),
      target: '≤ 0.6',
      met: median(cpuVsRclone) <= 0.6,
      notes: `engine / raw copy ${ratios(cpuVsRawCopy)}; checkpoints in memory / rclone ${ratios(inMemoryCpuVsRclone)}; ${transport}`,
    },
    {
      measurement: `Context: raw parallel copy, ${formatBytes(LARGE)} A → B: ranged GET into a buffer, UploadPart of it (no checks, no table)`,
      result: rateWithSpread(rates.copy),
      notes: `bench/raw-copy.ts: the ceiling of any copy when both servers and the client share 2 cores; ${cpuOf('copy')}`,
    },
    {
      measurement: 'Context: the same engine copy with its checkpoints in process memory instead of the moto table',
      result: rateWithSpread(rates.engineInMemory),
      notes: `bench/in-memory-checkpoints.ts: isolates the emulator (Python on the same 2 cores); per round vs min(GET, UploadPart) ${ratios(inMemoryVsLimit)}, `
        + `vs raw copy ${ratios(inMemoryVsRawCopy)}, vs rclone ${ratios(inMemoryVsRclone)}; ${cpuOf('engineInMemory')}`,
    },
  );
  return { engineSeconds: median(engineSeconds) };
}