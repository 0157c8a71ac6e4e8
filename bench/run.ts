// The copy engine's benchmark, in one run: two MinIO servers and a moto server on loopback, the
// engine against the servers' raw limits, rclone and a naive copy; its memory; small objects
// through the replicator end to end; and a large copy spread over several invocations.
// Prints a Markdown table (also written to .bench/results.md); progress goes to stderr.
// Run: NODE_NO_WARNINGS=1 npx ts-node --project tsconfig.dev.json bench/run.ts   (BENCH_SCALE=small: a quick try)
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import { DeleteObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { UploadCheckpoints } from '../src/runtime/upload-checkpoints';
import { CpuShares, WatchedProcesses, cpuSince, cpuSnapshot, findServerPid, formatCpu, machineBusy } from './cpu-usage';
import { deleteAllVersions, engineCopy } from './engine-copy';
import { EngineCopyWorkerArgs, EngineCopyWorkerResult } from './engine-copy-worker';
import { interruptedCopy, shortDeadlineProbe } from './interrupted-copy';
import { chooseDataDir, machineContext } from './machine-context';
import { MotoServices, createTable, dynamoDbFor, startMoto } from './moto-services';
import { NaiveCopyResult, NaiveCopyWorkerArgs } from './naive-copy';
import { PeakMemoryResult, measurePeakMemory } from './peak-memory';
import { measureRangedGetThroughput, measureUploadPartThroughput } from './raw-throughput';
import { rcloneCopy, rcloneOnPath } from './rclone';
import { Row, markdownTable, median, medianIndex, mib, ms, rateWithSpread } from './report';
import { S3Server, S3ServerAddress, createVersionedBucket, s3ClientFor, startS3Servers, stopAll } from './s3-servers';
import { SERVICES, SmallObjectsResult, measureSmallObjects } from './small-objects';
import { GiB, MiB, formatBytes, putRandomObject } from './test-data';

const QUICK = process.env.BENCH_SCALE === 'small';
const CONCURRENCY = 8; // C: parts in flight
const PART_SIZE = 8 * MiB; // P
const MEMORY_BUDGET = CONCURRENCY * PART_SIZE;
const LARGE = QUICK ? 64 * MiB : GiB;
const MEMORY_SIZES = QUICK ? [16 * MiB, 64 * MiB, 128 * MiB] : [256 * MiB, GiB, 4 * GiB];
const SMALL_COUNT = QUICK ? 100 : 1000;
const SMALL_SIZE = 4 * 1024;
const REPEATS = 3;
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
  readonly checkpoints: UploadCheckpoints;
  readonly watched: WatchedProcesses;
  largeVersionId: string;
}

const started = performance.now();
function progress(message: string): void {
  process.stderr.write(`[${((performance.now() - started) / 1000).toFixed(0).padStart(4)} s] ${message}\n`);
}

async function main(): Promise<void> {
  const data = chooseDataDir(TMPFS_NEEDED);
  process.env.BENCH_DATA_DIR = data.dir;
  progress(`server data in ${data.dir} (${data.why})${QUICK ? '; BENCH_SCALE=small' : ''}`);
  if (!rcloneOnPath()) throw new Error('rclone not found: run scripts/setup-bench.sh');
  const context = await machineContext(data.dir);
  context.push(await waitForQuietMachine());

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
    await createTable(moto, TABLE);
    dynamodb.client = dynamoDbFor(moto);
    const bench: Bench = {
      srcServer, dstServer, moto, watched,
      src: s3ClientFor(srcServer, 64),
      dst: s3ClientFor(dstServer, 64),
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
      await measureRclone(bench, rows, throughput.engineMedian);
      await measureNaive(bench, rows);
      await measureEngineMemory(bench, rows);
      await measureInterrupted(bench, rows, throughput.engineSeconds);
      for (const tagging of [undefined, 'team=bench']) await measureSmall(bench, rows, tagging);

      const elapsed = (performance.now() - started) / 1000;
      const whole = cpuSince(wholeRun, watched);
      context.push(`Over the whole run: ${formatCpu(whole)} (other jobs sharing the cores show as "not this bench")`);
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

/** 1. Raw ranged GET, raw UploadPart and the engine's copy of the same object, interleaved, REPEATS times. */
async function measureThroughput(bench: Bench, rows: Row[]): Promise<{ engineMedian: number; engineSeconds: number }> {
  const get: number[] = [], put: number[] = [], engine: number[] = [], engineSeconds: number[] = [];
  const cpu: { get: CpuShares[]; put: CpuShares[]; engine: CpuShares[] } = { get: [], put: [], engine: [] };
  let verifiedBy = '';
  for (let round = 1; round <= REPEATS; round++) {
    progress(`throughput round ${round}/${REPEATS}: raw ranged GET, raw UploadPart, engine copy`);
    let snapshot = cpuSnapshot(bench.watched);
    const got = await measureRangedGetThroughput(bench.src, SRC_BUCKET, LARGE_KEY, { concurrency: CONCURRENCY, partSize: PART_SIZE });
    cpu.get.push(cpuSince(snapshot, bench.watched));
    get.push(got.bytesPerSecond);

    snapshot = cpuSnapshot(bench.watched);
    const uploaded = await measureUploadPartThroughput(bench.dst, DST_BUCKET, 'raw/upload', LARGE,
      { concurrency: CONCURRENCY, partSize: PART_SIZE, finish: 'abort' });
    cpu.put.push(cpuSince(snapshot, bench.watched));
    put.push(uploaded.bytesPerSecond);

    snapshot = cpuSnapshot(bench.watched);
    const copied = await engineCopy({
      source: { client: bench.src, bucket: SRC_BUCKET, key: LARGE_KEY, versionId: bench.largeVersionId },
      destination: bench.dst, destinationBucket: DST_BUCKET, checkpoints: bench.checkpoints, memoryBudget: MEMORY_BUDGET,
    });
    cpu.engine.push(cpuSince(snapshot, bench.watched));
    if (copied.result.status !== 'completed') throw new Error(`engine copy ended ${copied.result.status}`);
    verifiedBy = copied.result.verifiedBy;
    engine.push(LARGE / copied.seconds);
    engineSeconds.push(copied.seconds);
    await bench.dst.send(new DeleteObjectCommand({ Bucket: DST_BUCKET, Key: LARGE_KEY, VersionId: copied.result.written.destinationVersionId }));
  }
  const limit = Math.min(median(get), median(put));
  const ratio = median(engine) / limit;
  const cpuOf = (list: CpuShares[], values: number[]) => formatCpu(list[medianIndex(values)]);
  rows.push(
    { measurement: `Raw parallel ranged GET, ${formatBytes(LARGE)} (MinIO A → /dev/null)`, result: rateWithSpread(get), notes: cpuOf(cpu.get, get) },
    { measurement: `Raw parallel UploadPart from memory, ${formatBytes(LARGE)} (→ MinIO B)`, result: rateWithSpread(put), notes: `part rate (create/abort excluded); ${cpuOf(cpu.put, put)}` },
    {
      measurement: `Engine copyVersion, ${formatBytes(LARGE)} A → B (in process, budget C × P, no deadline)`,
      result: `${rateWithSpread(engine)}; ${median(engineSeconds).toFixed(2)} s`,
      notes: `verified by ${verifiedBy}; includes HEAD part 1, create/complete, ${Math.ceil(LARGE / PART_SIZE)} checkpoint PutItems (moto) and their cleanup; ${cpuOf(cpu.engine, engine)}`,
    },
    {
      measurement: 'Engine / min(GET, UploadPart)',
      result: `**${ratio.toFixed(2)}** (min = ${(limit / MiB).toFixed(1)} MiB/s, ${median(get) <= median(put) ? 'GET' : 'UploadPart'})`,
      target: '≥ 0.8',
      met: ratio >= 0.8,
    },
  );
  return { engineMedian: median(engine), engineSeconds: median(engineSeconds) };
}

/** 2. rclone copyto of the same object between the same endpoints. */
async function measureRclone(bench: Bench, rows: Row[], engineMedian: number): Promise<void> {
  const rates: number[] = [];
  const cpu: CpuShares[] = [];
  for (let round = 1; round <= REPEATS; round++) {
    progress(`rclone copyto ${round}/${REPEATS}`);
    const snapshot = cpuSnapshot(bench.watched);
    const copied = await rcloneCopy(
      { server: bench.srcServer, bucket: SRC_BUCKET, key: LARGE_KEY },
      { server: bench.dstServer, bucket: DST_BUCKET, key: 'rclone/object' },
      { concurrency: CONCURRENCY, partSize: PART_SIZE },
    );
    cpu.push(cpuSince(snapshot, bench.watched));
    rates.push(copied.bytesPerSecond);
    await deleteAllVersions(bench.dst, DST_BUCKET, 'rclone/');
  }
  const ratio = engineMedian / median(rates);
  rows.push(
    {
      measurement: `rclone copyto, ${formatBytes(LARGE)} A → B (chunk P, upload concurrency C)`,
      result: rateWithSpread(rates),
      notes: `flags in bench/rclone.ts; ${formatCpu(cpu[medianIndex(rates)], 'node (idle)', 'rclone')}`,
    },
    { measurement: 'Engine / rclone', result: `**${ratio.toFixed(2)}**`, target: '≥ 1.0 (aim 1.5)', met: ratio >= 1.0, notes: ratio >= 1.5 ? 'aim of 1.5 reached' : 'below the 1.5 aim' },
  );
}

/** 3. The naive copy (whole object in one Buffer, then one PUT), in its own process for its peak RSS. */
async function measureNaive(bench: Bench, rows: Row[]): Promise<void> {
  progress('naive copy (child process)');
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
 * 4. The engine's peak RSS per object size, each copy in a fresh child. A first run at C = 1 calibrates
 * the fixed overhead (SDK, sockets, heap growth): its peak − baseline minus its own bound 2 × P.
 */
async function measureEngineMemory(bench: Bench, rows: Row[]): Promise<void> {
  const bound = (CONCURRENCY + 1) * PART_SIZE;
  const runs: { size: number; budget: number; measured: PeakMemoryResult<EngineCopyWorkerResult> }[] = [];
  const sizes = [{ size: MEMORY_SIZES[0], budget: PART_SIZE }, ...MEMORY_SIZES.map((size) => ({ size, budget: MEMORY_BUDGET }))];
  for (const { size, budget } of sizes) {
    const key = size === LARGE ? LARGE_KEY : `memory/object-${formatBytes(size).replace(/[ .]/g, '')}`;
    let versionId = bench.largeVersionId;
    if (size !== LARGE) {
      progress(`uploading a ${formatBytes(size)} object for the memory runs`);
      versionId = (await putRandomObject(bench.src, SRC_BUCKET, key, size, { partSize: PART_SIZE, concurrency: CONCURRENCY }))!;
    }
    progress(`engine peak memory: ${formatBytes(size)}, budget ${formatBytes(budget)} (child process)`);
    const args: EngineCopyWorkerArgs = {
      src: { ...address(bench.srcServer), bucket: SRC_BUCKET, key, versionId },
      dst: { ...address(bench.dstServer), bucket: DST_BUCKET },
      moto: { endpoint: bench.moto.endpoint },
      tableName: TABLE,
      memoryBudget: budget,
      maxSockets: 64,
    };
    const measured = await measurePeakMemory<EngineCopyWorkerResult>(path.join(__dirname, 'engine-copy-worker.ts'), args);
    runs.push({ size, budget, measured });
    await deleteAllVersions(bench.dst, DST_BUCKET, key);
    // The first size is used twice (calibration, then C = 8); the others go right after their run.
    if (size !== LARGE && !(size === MEMORY_SIZES[0] && budget === PART_SIZE)) await deleteAllVersions(bench.src, SRC_BUCKET, key);
  }
  const delta = (run: typeof runs[number]) => run.measured.peakRssBytes - run.measured.baselineRssBytes;
  const [calibration, ...sized] = runs;
  const fixedOverhead = Math.max(0, delta(calibration) - 2 * PART_SIZE);
  const deltas = sized.map(delta);
  const similar = Math.max(...deltas) - Math.min(...deltas) <= PART_SIZE;
  rows.push({
    measurement: `Engine peak RSS, ${formatBytes(calibration.size)}, C = 1 (calibration: fixed overhead)`,
    result: `peak − baseline ${mib(delta(calibration))} → fixed overhead ≈ ${mib(fixedOverhead)} (above its 2 × P)`,
    notes: `baseline ${mib(calibration.measured.baselineRssBytes)}, peak ${mib(calibration.measured.peakRssBytes)}; ${(calibration.measured.result.bytesPerSecond / MiB).toFixed(1)} MiB/s`,
  });
  for (const run of sized) {
    const d = delta(run);
    rows.push({
      measurement: `Engine peak RSS, ${formatBytes(run.size)} (C = ${CONCURRENCY}, child process)`,
      result: `baseline ${mib(run.measured.baselineRssBytes)}, peak ${mib(run.measured.peakRssBytes)}, **peak − baseline ${mib(d)}**`,
      target: `≤ (C+1)×P = ${mib(bound)} + fixed overhead (${mib(fixedOverhead)}); ~equal for all sizes`,
      met: d <= bound + fixedOverhead && similar,
      notes: `copy ${run.measured.result.seconds.toFixed(2)} s (${(run.measured.result.bytesPerSecond / MiB).toFixed(1)} MiB/s), verified by ${run.measured.result.result.status === 'completed' ? run.measured.result.result.verifiedBy : '?'}; sizes within ${mib(Math.max(...deltas) - Math.min(...deltas))} of each other`,
    });
  }
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
  progress('interrupted copy: one call with a real-time deadline 3 s ahead');
  const probe = await shortDeadlineProbe({ ...common, budgetMs: 3_000 });
  progress(`interrupted copy: calls of ${INVOCATION_MS / 1000} s on a ${CLOCK_SPEEDUP}× clock until completed`);
  const copied = await interruptedCopy({ ...common, budgetMs: INVOCATION_MS, clockSpeedup: CLOCK_SPEEDUP });
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
      result: `**${copied.invocations} calls**, ${copied.seconds.toFixed(2)} s in all; **overhead ${overhead.toFixed(2)}×** the uninterrupted copy (${uninterruptedSeconds.toFixed(2)} s)`,
      notes: `replica bytes ${copied.bytesEqual ? '=' : '≠'} source (MD5 of both streamed: ${copied.md5}); ETags ${copied.eTagsEqual ? 'equal' : 'differ'}; verified by ${copied.verifiedBy}; parts done after each call: ${copied.partsDoneAfter.join(', ')} of ${copied.partCount}; resumedParts ${copied.resumedParts}`,
      met: copied.bytesEqual,
      target: 'bytes equal',
    },
  );
}

/** 5. Small objects: raw GET + PUT, copyVersion alone and the replicator end to end. */
async function measureSmall(bench: Bench, rows: Row[], tagging: string | undefined): Promise<void> {
  const variant = tagging ? 'tagged' : 'untagged';
  progress(`small objects, ${variant}: ${SMALL_COUNT} × ${formatBytes(SMALL_SIZE)} (upload, raw GET+PUT, copyVersion, replicator)`);
  const snapshot = cpuSnapshot(bench.watched);
  const result: SmallObjectsResult = await measureSmallObjects({
    src: bench.srcServer, dst: bench.dstServer, moto: bench.moto, variant,
    count: SMALL_COUNT, objectSize: SMALL_SIZE, tagging, memoryBudget: MEMORY_BUDGET,
  });
  const cpu = cpuSince(snapshot, bench.watched);
  const ratio = result.replicatorMs / result.rawGetPutMs;
  const label = tagging ? `tagged (${tagging})` : 'untagged';
  const requests = SERVICES.map((service) => {
    const commands = Object.entries(result.commandsPerObject[service]).map(([command, n]) => `${command.replace(/Command$/, '')} ${round(n)}`).join(', ');
    return `${service} ${round(result.requestsPerObject[service])}${commands ? ` (${commands})` : ''}`;
  }).join('; ');
  const timeInServices = SERVICES.filter((service) => result.serviceMsPerObject[service] > 0)
    .map((service) => `${service} ${ms(result.serviceMsPerObject[service])}`).join(', ');
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
      notes: `time inside requests per object: ${timeInServices}; ${formatCpu(cpu)} (whole step incl. upload)`,
    },
    { measurement: `Requests per object, ${label} (steady state)`, result: requests },
  );
}

/**
 * The cores are shared with whatever else runs here (CI jobs, editors' linters): wait up to
 * BENCH_QUIET_WAIT_S (default 300) seconds for the machine to be idle, then measure anyway and say so.
 */
async function waitForQuietMachine(): Promise<string> {
  const limitMs = Number(process.env.BENCH_QUIET_WAIT_S ?? 300) * 1000;
  const start = performance.now();
  let busy = await machineBusy(3_000);
  while (busy > 20 && performance.now() - start < limitMs) {
    progress(`machine busy with other jobs (${busy} % of a core); waiting for it to be idle`);
    busy = await machineBusy(10_000);
  }
  const waited = ((performance.now() - start) / 1000).toFixed(0);
  return busy > 20
    ? `WARNING: other jobs kept the machine busy (${busy} % of a core) after ${waited} s of waiting: numbers are low and noisy`
    : `Machine idle before the run (${busy} % of a core busy; waited ${waited} s)`;
}

function round(n: number): string {
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
