// What every measurement of the benchmark shares: the sizes, buckets and servers of the run, its
// progress lines on stderr, and the waits and retries that keep a shared machine from skewing it.
import { performance } from 'node:perf_hooks';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import { WatchedProcesses, machineBusy } from './cpu-usage';
import { waitForFreeSpace } from './memory-available';
import { emptyMinioTrash } from './minio-trash';
import { MotoServices } from './moto-services';
import { S3Server, S3ServerAddress } from './s3-servers';
import { GiB, MiB, formatBytes } from './test-data';
import { UploadCheckpoints } from '../src/runtime/engine/multipart/upload-checkpoints';

export const QUICK = process.env.BENCH_SCALE === 'small';
export const CONCURRENCY = 8; // C: parts in flight
export const PART_SIZE = 8 * MiB; // P
export const MEMORY_BUDGET = CONCURRENCY * PART_SIZE;
export const LARGE = QUICK ? 64 * MiB : GiB;

export const SRC_BUCKET = 'bench-src';
export const DST_BUCKET = 'bench-dst';
export const LARGE_KEY = `large/object-${formatBytes(LARGE).replace(/[ .]/g, '')}`;
export const TABLE = 'bench-checkpoints';

export interface Bench {
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
export async function waitForRoom(bench: { srcServer: S3Server; dstServer: S3Server }, bytes: number): Promise<void> {
  const dir = process.env.BENCH_DATA_DIR!;
  const needed = bytes + 4 * GiB;
  const emptied = emptyMinioTrash(bench.srcServer.dataDir) + emptyMinioTrash(bench.dstServer.dataDir);
  const free = await waitForFreeSpace(dir, needed, 30_000);
  if (free < needed) progress(`WARNING: only ${formatBytes(free)} free in ${dir} (wanted ${formatBytes(needed)})`);
  else if (emptied > GiB) progress(`emptied ${formatBytes(emptied)} of deleted objects from the servers' trash`);
}

/** Engine failures met during the run (each step is retried once): printed under the table. */
export const failures: string[] = [];

/**
 * Runs a step; if it throws, records the error, abandons the copy's upload (a failed copy keeps it
 * for the retry, which would then measure only the rest) and runs the step once more from scratch.
 */
export async function retriedOnce<T>(label: string, step: () => Promise<T>, abandon: () => Promise<unknown>): Promise<T> {
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

/** When the run started: progress lines and the total time count from here. */
export const started = performance.now();
export function progress(message: string): void {
  process.stderr.write(`[${((performance.now() - started) / 1000).toFixed(0).padStart(4)} s] ${message}\n`);
}

/**
 * The cores are shared with whatever else runs here (CI jobs, editors' linters): wait up to
 * BENCH_QUIET_WAIT_S (default 300) seconds for the machine to be idle, then measure anyway and say so.
 */
export async function waitForQuietMachine(limitMs = Number(process.env.BENCH_QUIET_WAIT_S ?? 300) * 1000): Promise<string> {
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

/** Only the JSON part of a server: a child process gets no stop() to call. */
export function address(server: S3ServerAddress): S3ServerAddress {
  return { endpoint: server.endpoint, accessKeyId: server.accessKeyId, secretAccessKey: server.secretAccessKey, caFile: server.caFile };
}
