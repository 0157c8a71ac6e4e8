// The copy engine's benchmark, in one run: two MinIO servers and a moto server on loopback, the
// engine against the servers' raw limits, rclone and a naive copy; its memory; small objects
// through the replicator end to end, also with the destination behind a simulated cross-partition
// link (35 ms each way); and a large copy spread over several invocations.
// Prints a Markdown table (also written to .bench/results.md); progress goes to stderr.
// Run: NODE_NO_WARNINGS=1 npx ts-node --project tsconfig.dev.json bench/run.ts   (BENCH_SCALE=small: a quick try)
// Each measurement group is a module of its own (measure-*.ts); this file starts the servers,
// runs the groups in order and prints what they found.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import { withBench } from './bench-servers';
import { cpuSince, cpuSnapshot, formatCpu } from './cpu-usage';
import {
  CONCURRENCY, LARGE, LARGE_KEY, MEMORY_BUDGET, PART_SIZE, QUICK, SRC_BUCKET,
  failures, progress, started, waitForQuietMachine,
} from './harness';
import { chooseDataDir, machineContext } from './machine-context';
import { measureCrossPartition } from './measure-cross-partition';
import { measureInterrupted } from './measure-interrupted';
import { measureEngineMemory, measureNaive } from './measure-memory';
import { measureSmall } from './measure-small';
import { measureThroughput } from './measure-throughput';
import { watchMemAvailable } from './memory-available';
import { rcloneOnPath } from './rclone';
import { Row, markdownTable } from './report';
import { rerunTrustingBenchCa } from './s3-servers';
import { measureSoak } from './soak';
import { GiB, formatBytes, putRandomObject } from './test-data';

/** Largest data the servers hold at once (1 GiB + 4 GiB sources, a 4 GiB replica) plus room for the processes. */
const TMPFS_NEEDED = 12 * GiB;
const RESULTS_FILE = path.join(__dirname, '..', '.bench', 'results.md');

async function main(): Promise<void> {
  const data = chooseDataDir(TMPFS_NEEDED);
  process.env.BENCH_DATA_DIR = data.dir;
  // Deleted objects wait in MinIO's trash (RAM, on tmpfs) until purged: see minio-trash.ts and waitForRoom.
  process.env.MINIO_API_DELETE_CLEANUP_INTERVAL = '5s';
  progress(`server data in ${data.dir} (${data.why})${QUICK ? '; BENCH_SCALE=small' : ''}`);
  if (!rcloneOnPath()) throw new Error('rclone not found: run scripts/setup-bench.sh');
  const context = await machineContext(data.dir);
  context.push(`Before the run: ${await waitForQuietMachine()}`);

  await withBench(async (bench) => {
    const { watched } = bench;
    const wholeRun = cpuSnapshot(watched);
    const stopWatchingMemory = watchMemAvailable(1_000);
    progress(`uploading the ${formatBytes(LARGE)} source object (random, multipart in ${formatBytes(PART_SIZE)} parts)`);
    bench.largeVersionId = (await putRandomObject(bench.src, SRC_BUCKET, LARGE_KEY, LARGE, { partSize: PART_SIZE, concurrency: CONCURRENCY }))!;

    const rows: Row[] = [];
    const throughput = await measureThroughput(bench, rows);
    await measureNaive(bench, rows);
    await measureEngineMemory(bench, rows);
    await measureInterrupted(bench, rows, throughput.engineSeconds);
    for (const tagging of [undefined, 'team=bench']) await measureSmall(bench, rows, tagging);
    await measureCrossPartition(bench, rows, context);
    await measureSoak(rows);

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
  });
}

// With TLS (BENCH_TLS, default on) the run goes on in a child that trusts the servers' CA.
if (!rerunTrustingBenchCa()) {
  main().catch((err: unknown) => {
    console.error(err);
    process.exitCode = 1;
  });
}