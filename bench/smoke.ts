// Smoke test of the bench harness: every measurement once, on a 64 MiB object, in well under a minute.
// Run: npx ts-node --project tsconfig.dev.json bench/smoke.ts (after bash scripts/setup-bench.sh)
import * as path from 'node:path';
import { NaiveCopyResult, NaiveCopyWorkerArgs, naiveCopy } from './naive-copy';
import { measurePeakMemory } from './peak-memory';
import { measureRangedGetThroughput, measureSmallObjectLatency, measureUploadPartThroughput } from './raw-throughput';
import { rcloneCopy, rcloneVersion } from './rclone';
import { createVersionedBucket, s3ClientFor, withS3Servers } from './s3-servers';
import { MiB, formatBytes, formatRate, putRandomObject } from './test-data';

const OBJECT_SIZE = 64 * MiB;
const CONCURRENCY = 8;
const PART_SIZE = 8 * MiB;
const SMALL_ITERATIONS = 50;
const SRC_BUCKET = 'bench-src';
const DST_BUCKET = 'bench-dst';
const KEY = 'smoke/object-64MiB';

async function main(): Promise<void> {
  await withS3Servers(2, async ([srcServer, dstServer]) => {
    console.log(`servers: src ${srcServer.endpoint}, dst ${dstServer.endpoint}; ${await rcloneVersion()}`);
    const src = s3ClientFor(srcServer, CONCURRENCY * 2);
    const dst = s3ClientFor(dstServer, CONCURRENCY * 2);
    try {
      await createVersionedBucket(src, SRC_BUCKET);
      await createVersionedBucket(dst, DST_BUCKET);
      await putRandomObject(src, SRC_BUCKET, KEY, OBJECT_SIZE, { partSize: PART_SIZE });
      console.log(`object: ${formatBytes(OBJECT_SIZE)}, C=${CONCURRENCY}, P=${formatBytes(PART_SIZE)}`);

      const get = await measureRangedGetThroughput(src, SRC_BUCKET, KEY, { concurrency: CONCURRENCY, partSize: PART_SIZE });
      row('raw ranged GET (src)', get.seconds, get.bytesPerSecond);
      const put = await measureUploadPartThroughput(dst, DST_BUCKET, 'smoke/raw-upload', OBJECT_SIZE,
        { concurrency: CONCURRENCY, partSize: PART_SIZE });
      row('raw UploadPart (dst)', put.seconds, put.bytesPerSecond, `with create+complete ${put.totalSeconds.toFixed(3)} s`);

      const small = await measureSmallObjectLatency(src, SRC_BUCKET, { iterations: SMALL_ITERATIONS });
      console.log(`${'small 4 KiB (src)'.padEnd(24)} PUT ${small.putMeanMs.toFixed(2)} ms, GET ${small.getMeanMs.toFixed(2)} ms (mean of ${small.iterations})`);

      const rclone = await rcloneCopy(
        { server: srcServer, bucket: SRC_BUCKET, key: KEY },
        { server: dstServer, bucket: DST_BUCKET, key: 'smoke/rclone' },
        { concurrency: CONCURRENCY, partSize: PART_SIZE },
      );
      row('rclone copyto', rclone.seconds, rclone.bytesPerSecond);

      const naive = await naiveCopy(src, { bucket: SRC_BUCKET, key: KEY }, dst, { bucket: DST_BUCKET, key: 'smoke/naive' });
      row('naive GET+PUT', naive.seconds, naive.bytesPerSecond);

      const workerArgs: NaiveCopyWorkerArgs = {
        src: { ...address(srcServer), bucket: SRC_BUCKET, key: KEY },
        dst: { ...address(dstServer), bucket: DST_BUCKET, key: 'smoke/naive-child' },
      };
      const measured = await measurePeakMemory<NaiveCopyResult>(path.join(__dirname, 'naive-copy.ts'), workerArgs);
      row('naive GET+PUT (child)', measured.result.seconds, measured.result.bytesPerSecond,
        `peak RSS ${formatBytes(measured.peakRssBytes)}, baseline ${formatBytes(measured.baselineRssBytes)}`);
    } finally {
      src.destroy();
      dst.destroy();
    }
  });
}

function row(label: string, seconds: number, bytesPerSecond: number, extra = ''): void {
  console.log(`${label.padEnd(24)} ${seconds.toFixed(3).padStart(8)} s ${formatRate(bytesPerSecond).padStart(14)}${extra ? `  ${extra}` : ''}`);
}

/** Only the JSON part of a server: the child process gets no stop() to call. */
function address(server: { endpoint: string; accessKeyId: string; secretAccessKey: string }) {
  return { endpoint: server.endpoint, accessKeyId: server.accessKeyId, secretAccessKey: server.secretAccessKey };
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
