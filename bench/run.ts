// The copy engine's benchmark, in one run: two MinIO servers and a moto server on loopback, the
// engine against the servers' raw limits, rclone and a naive copy; its memory; small objects
// through the replicator end to end; and a large copy spread over several invocations.
// Prints a Markdown table (also written to .bench/results.md); progress goes to stderr.
// Run: NODE_NO_WARNINGS=1 npx ts-node --project tsconfig.dev.json bench/run.ts   (BENCH_SCALE=small: a quick try)
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DeleteObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { CpuShares, WatchedProcesses, cpuSecondsPerGiB, cpuSince, cpuSnapshot, findServerPid, formatCpu, machineBusy } from './cpu-usage';
import { annotateErrors, deleteAllVersions, engineCopy } from './engine-copy';
import { EngineCopyWorkerArgs, EngineCopyWorkerResult } from './engine-copy-worker';
import { InMemoryCheckpoints } from './in-memory-checkpoints';
import { interruptedCopy, shortDeadlineProbe } from './interrupted-copy';
import { chooseDataDir, machineContext } from './machine-context';
import { waitForFreeSpace, watchMemAvailable } from './memory-available';
import { emptyMinioTrash } from './minio-trash';
import { MotoServices, createTable, dynamoDbFor, startMoto } from './moto-services';
import { NaiveCopyResult, NaiveCopyWorkerArgs } from './naive-copy';
import { PeakMemoryResult, measurePeakMemory } from './peak-memory';
import { measureRawCopyThroughput } from './raw-copy';
import { measureRangedGetThroughput, measureUploadPartThroughput } from './raw-throughput';
import { rcloneCopy, rcloneOnPath } from './rclone';
import { Row, markdownTable, median, medianIndex, mib, ms, rateWithSpread } from './report';
import { RequestCounter } from './request-counter';
import { S3Server, S3ServerAddress, createVersionedBucket, s3ClientFor, startS3Servers, stopAll } from './s3-servers';
import { SERVICES, SmallObjectsResult, measureSmallObjects } from './small-objects';
import { GiB, MiB, formatBytes, putRandomObject } from './test-data';
import { abandonUpload } from '../src/runtime/engine/multipart/multipart-copy';
import { UploadCheckpoints } from '../src/runtime/engine/multipart/upload-checkpoints';

const QUICK = process.env.BENCH_SCALE === 'small';
const CONCURRENCY = 8; // C: parts in flight
const PART_SIZE = 8 * MiB; // P
const MEMORY_BUDGET = CONCURRENCY * PART_SIZE;
const LARGE = QUICK ? 64 * MiB : GiB;
const MEMORY_SIZES = QUICK ? [16 * MiB, 64 * MiB, 128 * MiB] : [256 * MiB, GiB, 4 * GiB];
const SMALL_COUNT = QUICK ? 100 : 1000;
const SMALL_SIZE = 4 * 1024;
const REPEATS = 3;
const MEMORY_REPEATS = 3;
/** Largest data the servers hold at once (1 GiB + 4 GiB sources, a 4 GiB replica) plus room for the processes. */
const TMPFS_NEEDED = 12 * GiB;
/** The interrupted copy: the engine's clock runs this much faster than real time (see measureInterrupted). */
const CLOCK_SPEEDUP = 10;
const INVOCATION_MS = 10_000;

const SRC_BUCKET = 'bench-src';
const DST_BUCKET = 'bench-dst';
const LARGE_KEY = `large/object-${formatBytes(LARGE).replace(/[ .]/g, '')}`;
const TABLE = 'bench-checkpoints';
const RESULTS_FILE = path.join(__dirname, '..', '.bench', 'results.md');

interface Bench {
  readonly srcServer: S3Server;
  readonly dstServer: S3Server;
  readonly moto: MotoServices;
  readonly src: S3Client;
  readonly dst: S3Client;
  readonly dynamodb: DynamoDBClient;
  readonly checkpoints: UploadCheckpoints;
  readonly watched: WatchedProcesses;
  largeVersionId: string;
}

/**
 * Before a step that writes `bytes` to the servers: empties their trash (what earlier steps deleted)
 * and checks that their data dir has that much free plus 4 GiB for the processes.
 */
async function waitForRoom(bench: { srcServer: S3Server; dstServer: S3Server }, bytes: number): Promise<void> {
  const dir = process.env.BENCH_DATA_DIR!;
  const needed = bytes + 4 * GiB;
  const emptied = emptyMinioTrash(bench.srcServer.dataDir) + emptyMinioTrash(bench.dstServer.dataDir);
  const free = await waitForFreeSpace(dir, needed, 30_000);
  if (free < needed) progress(`WARNING: only ${formatBytes(free)} free in ${dir} (wanted ${formatBytes(needed)})`);
  else if (emptied > GiB) progress(`emptied ${formatBytes(emptied)} of deleted objects from the servers' trash`);
}

/** Engine failures met during the run (each step is retried once): printed under the table. */
const failures: string[] = [];

/**
 * Runs a step; if it throws, records the error, abandons the copy's upload (a failed copy keeps it
 * for the retry, which would then measure only the rest) and runs the step once more from scratch.
 */
async function retriedOnce<T>(label: string, step: () => Promise<T>, abandon: () => Promise<unknown>): Promise<T> {
  try {
    return await step();
  } catch (error) {
    const text = error instanceof Error ? (error.stack ?? error.message) : String(error);
    failures.push(`${label}: ${text.split('\n').slice(0, 4).join(' / ')}`);
    progress(`FAILED (${label}), retrying once from scratch:\n${text}`);
    await abandon();
    return step();
  }
}

const started = performance.now();
function progress(message: string): void {
  process.stderr.write(`[${((performance.now() - started) / 1000).toFixed(0).padStart(4)} s] ${message}\n`);
}

async function main(): Promise<void> {
  const data = chooseDataDir(TMPFS_NEEDED);
  process.env.BENCH_DATA_DIR = data.dir;
  // Deleted objects wait in MinIO's trash (RAM, on tmpfs) until purged: see minio-trash.ts and waitForRoom.
  process.env.MINIO_API_DELETE_CLEANUP_INTERVAL = '5s';
  progress(`server data in ${data.dir} (${data.why})${QUICK ? '; BENCH_SCALE=small' : ''}`);
  if (!rcloneOnPath()) throw new Error('rclone not found: run scripts/setup-bench.sh');
  const context = await machineContext(data.dir);
  context.push(`Before the run: ${await waitForQuietMachine()}`);

  let servers: S3Server[] = [];
  let moto: MotoServices | undefined;
  const dynamodb = { client: undefined as ReturnType<typeof dynamoDbFor> | undefined };
  try {
    servers = await startS3Servers(2);
    moto = await startMoto();
    const [srcServer, dstServer] = servers;
    const watched: WatchedProcesses = {};
    for (const [label, server] of [['MinIO A', srcServer], ['MinIO B', dstServer]] as const) {
      const pid = findServerPid(server.dataDir);
      if (pid) watched[label] = pid;
    }
    if (moto.pid) watched.moto = moto.pid;
    const wholeRun = cpuSnapshot(watched);
    const stopWatchingMemory = watchMemAvailable(1_000);
    await createTable(moto, TABLE);
    dynamodb.client = dynamoDbFor(moto);
    const bench: Bench = {
      srcServer,
      dstServer,
      moto,
      watched,
      src: annotateErrors(s3ClientFor(srcServer, 64), 'source'),
      dst: annotateErrors(s3ClientFor(dstServer, 64), 'destination'),
      dynamodb: dynamodb.client,
      checkpoints: new UploadCheckpoints(dynamodb.client, TABLE),
      largeVersionId: '',
    };
    try {
      await createVersionedBucket(bench.src, SRC_BUCKET);
      await createVersionedBucket(bench.dst, DST_BUCKET);
      progress(`uploading the ${formatBytes(LARGE)} source object (random, multipart in ${formatBytes(PART_SIZE)} parts)`);
      bench.largeVersionId = (await putRandomObject(bench.src, SRC_BUCKET, LARGE_KEY, LARGE, { partSize: PART_SIZE, concurrency: CONCURRENCY }))!;

      const rows: Row[] = [];
      const throughput = await measureThroughput(bench, rows);
      await measureNaive(bench, rows);
      await measureEngineMemory(bench, rows);
      await measureInterrupted(bench, rows, throughput.engineSeconds);
      for (const tagging of [undefined, 'team=bench']) await measureSmall(bench, rows, tagging);

      const elapsed = (performance.now() - started) / 1000;
      const whole = cpuSince(wholeRun, watched);
      context.push(failures.length === 0 ? 'No engine failures during the run'
        : `ENGINE FAILURES during the run (each retried once, as the queue would): ${failures.join(' | ')}`);
      context.push(`Over the whole run: ${formatCpu(whole)} (other jobs sharing the cores show as "not this bench"); `
        + `lowest MemAvailable ${formatBytes(stopWatchingMemory())}`);
      const output = [
        `## Copy engine benchmark (C = ${CONCURRENCY} parts in flight, P = ${formatBytes(PART_SIZE)}, memory budget C × P = ${formatBytes(MEMORY_BUDGET)}${QUICK ? ', BENCH_SCALE=small' : ''})`,
        '',
        markdownTable(rows),
        '',
        ...context.map((line) => `- ${line}`),
        `- Run: ${new Date().toISOString()}, ${elapsed.toFixed(0)} s in all. CPU figures: % of one core per process over the measurement (median run); "machine" = every process, of ${os.cpus().length * 100}`,
      ].join('\n');
      console.log(output);
      fs.mkdirSync(path.dirname(RESULTS_FILE), { recursive: true });
      fs.writeFileSync(RESULTS_FILE, `${output}\n`);
      progress(`written to ${path.relative(process.cwd(), RESULTS_FILE)}`);
    } finally {
      bench.src.destroy();
      bench.dst.destroy();
    }
  } finally {
    dynamodb.client?.destroy();
    await moto?.stop();
    await stopAll(servers);
  }
}

/**
 * 1 and 2. Raw ranged GET, raw UploadPart, a raw copy, the engine's copy and rclone's copy of the
 * same object, one after the other in each of REPEATS rounds. The cores are shared with whatever
 * else runs on the machine, so each round first waits (a little) for it to be idle, and the ratios
 * are taken within each round (same conditions) and their median reported.
 */
async function measureThroughput(bench: Bench, rows: Row[]): Promise<{ engineSeconds: number }> {
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
      target: '≥ 1.0 (aim 1.5)',
      met: vsRcloneMedian >= 1.0,
      notes: vsRcloneMedian >= 1.5 ? 'aim of 1.5 reached' : 'below the 1.5 aim',
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

/** 3. The naive copy (whole object in one Buffer, then one PUT), in its own process for its peak RSS. */
async function measureNaive(bench: Bench, rows: Row[]): Promise<void> {
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
async function measureEngineMemory(bench: Bench, rows: Row[]): Promise<void> {
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

/**
 * 6. A large copy over several calls with a short deadline and reserveMs 0. The engine starts no part
 * unless twice its slowest part so far fits before the deadline, and assumes 4 s for a part before
 * one has finished: a call with less than 8 s left copies nothing. A real-time probe shows that;
 * the measured run then gives each call 10 s on an engine clock running CLOCK_SPEEDUP× faster than
 * real time (1 s of real time), so that each call copies only part of the object.
 */
async function measureInterrupted(bench: Bench, rows: Row[], uninterruptedSeconds: number): Promise<void> {
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
      notes: 'a part starts only if now + 2 × (slowest part, 4 s before the first) + reserveMs ≤ deadline (src/runtime/part-plan.ts canStartPart)',
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

/** 5. Small objects: raw GET + PUT, copyVersion alone and the replicator end to end. */
async function measureSmall(bench: Bench, rows: Row[], tagging: string | undefined): Promise<void> {
  const variant = tagging ? 'tagged' : 'untagged';
  await waitForRoom(bench, GiB);
  progress(`small objects, ${variant}: ${SMALL_COUNT} × ${formatBytes(SMALL_SIZE)} (upload, raw GET+PUT, copyVersion, replicator)`);
  const snapshot = cpuSnapshot(bench.watched);
  const result: SmallObjectsResult = await measureSmallObjects({
    src: bench.srcServer,
    dst: bench.dstServer,
    moto: bench.moto,
    variant,
    count: SMALL_COUNT,
    objectSize: SMALL_SIZE,
    tagging,
    memoryBudget: MEMORY_BUDGET,
  });
  const cpu = cpuSince(snapshot, bench.watched);
  const ratio = result.replicatorMs / result.rawGetPutMs;
  const label = tagging ? `tagged (${tagging})` : 'untagged';
  const requests = SERVICES.map((service) => {
    const commands = Object.entries(result.commandsPerObject[service]).map(([command, n]) => `${command.replace(/Command$/, '')} ${roundCount(n)}`).join(', ');
    return `${service} ${roundCount(result.requestsPerObject[service])}${commands ? ` (${commands})` : ''}`;
  }).join('; ');
  const timeInServices = SERVICES.filter((service) => result.serviceMsPerObject[service] > 0)
    .map((service) => `${service} ${ms(result.serviceMsPerObject[service])}`).join(', ');
  const dynamoDbMs = result.serviceMsPerObject.DynamoDB;
  rows.push(
    {
      measurement: `${SMALL_COUNT} × 4 KiB, ${label}: raw GET (A) + PUT (B), sequential`,
      result: `${ms(result.rawGetPutMs)} per object`,
      notes: tagging ? 'the raw pair copies no tags' : undefined,
    },
    {
      measurement: `${SMALL_COUNT} × 4 KiB, ${label}: copyVersion alone (no table)`,
      result: `${ms(result.copyVersionMs)} per object (${(result.copyVersionMs / result.rawGetPutMs).toFixed(2)}× raw)`,
      notes: 'destination client configured as the replicator builds it (SDK defaults)',
    },
    {
      measurement: `${SMALL_COUNT} × 4 KiB, ${label}: replicator handler end to end (table on moto), events of 10`,
      result: `${ms(result.replicatorMs)} per object (**${ratio.toFixed(2)}× raw**)`,
      target: '≤ 1.3× raw GET + PUT',
      met: ratio <= 1.3,
      notes: `time inside requests per object: ${timeInServices}; without the DynamoDB time ${ms(result.replicatorMs - dynamoDbMs)} `
        + `(${((result.replicatorMs - dynamoDbMs) / result.rawGetPutMs).toFixed(2)}× raw). moto alone, sequential: PutItem ${ms(result.motoPutItemMs)}, `
        + `BatchGetItem ${ms(result.motoBatchGetItemMs)}. ${formatCpu(cpu)} (whole step incl. upload)`,
    },
    { measurement: `Requests per object, ${label} (steady state)`, result: requests },
  );
}

/**
 * The cores are shared with whatever else runs here (CI jobs, editors' linters): wait up to
 * BENCH_QUIET_WAIT_S (default 300) seconds for the machine to be idle, then measure anyway and say so.
 */
async function waitForQuietMachine(limitMs = Number(process.env.BENCH_QUIET_WAIT_S ?? 300) * 1000): Promise<string> {
  const start = performance.now();
  let busy = await machineBusy(3_000);
  while (busy > 20 && performance.now() - start < limitMs) {
    progress(`machine busy with other jobs (${busy} % of a core); waiting for it to be idle`);
    busy = await machineBusy(10_000);
  }
  const waited = ((performance.now() - start) / 1000).toFixed(0);
  return busy > 20
    ? `WARNING: other jobs kept the machine busy (${busy} % of a core) after ${waited} s of waiting`
    : `machine idle: ${busy} % of a core busy, waited ${waited} s`;
}

function roundCount(n: number): string {
  return Number.isInteger(n) ? String(n) : n.toFixed(2);
}

/** Only the JSON part of a server: a child process gets no stop() to call. */
function address(server: S3ServerAddress): S3ServerAddress {
  return { endpoint: server.endpoint, accessKeyId: server.accessKeyId, secretAccessKey: server.secretAccessKey };
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
