// The engine's copy of one object in a child process of its own (see peak-memory.ts), so its peak
// RSS is the engine's alone: it builds every client from plain JSON and runs copyVersion to completion.
import { annotateErrors, engineCopy } from './engine-copy';
import { MotoAddress, dynamoDbFor } from './moto-services';
import { S3ServerAddress, s3ClientFor } from './s3-servers';
import { UploadCheckpoints } from '../src/runtime/engine/multipart/upload-checkpoints';
import { CopyResult } from '../src/runtime/engine/object-copy';

export interface EngineCopyWorkerArgs {
  readonly src: S3ServerAddress & { bucket: string; key: string; versionId: string };
  readonly dst: S3ServerAddress & { bucket: string };
  readonly moto: MotoAddress;
  readonly tableName: string;
  readonly memoryBudget: number;
  /** Socket pool per S3 client; the engine never has more than C requests in flight per side. */
  readonly maxSockets: number;
}

export interface EngineCopyWorkerResult {
  readonly seconds: number;
  readonly bytesPerSecond: number;
  readonly result: CopyResult;
  /** Highest values process.memoryUsage() showed while copying (sampled every 10 ms): where the RSS went. */
  readonly maxMemory: { readonly arrayBuffers: number; readonly heapUsed: number; readonly heapTotal: number };
  /**
   * JS heap and ArrayBuffers still reachable after the copy, once a full GC ran (with --expose-gc):
   * what the copy keeps, as opposed to garbage the GC had not collected yet when the peak was taken.
   */
  readonly afterFullGc?: { readonly heapUsed: number; readonly arrayBuffers: number; readonly rss: number };
}

export async function runWorker(args: EngineCopyWorkerArgs): Promise<EngineCopyWorkerResult> {
  const source = annotateErrors(s3ClientFor(args.src, args.maxSockets), 'source');
  const destination = annotateErrors(s3ClientFor(args.dst, args.maxSockets), 'destination');
  const dynamodb = dynamoDbFor(args.moto);
  const maxMemory = { arrayBuffers: 0, heapUsed: 0, heapTotal: 0 };
  const sample = () => {
    const usage = process.memoryUsage();
    maxMemory.arrayBuffers = Math.max(maxMemory.arrayBuffers, usage.arrayBuffers);
    maxMemory.heapUsed = Math.max(maxMemory.heapUsed, usage.heapUsed);
    maxMemory.heapTotal = Math.max(maxMemory.heapTotal, usage.heapTotal);
  };
  const sampler = setInterval(sample, 10);
  try {
    const run = await engineCopy({
      source: { client: source, bucket: args.src.bucket, key: args.src.key, versionId: args.src.versionId },
      destination,
      destinationBucket: args.dst.bucket,
      checkpoints: new UploadCheckpoints(dynamodb, args.tableName),
      memoryBudget: args.memoryBudget,
    });
    if (run.result.status !== 'completed') throw new Error(`copy without a deadline ended ${run.result.status}`);
    sample();
    const gc = (globalThis as { gc?: () => void }).gc;
    let afterFullGc: EngineCopyWorkerResult['afterFullGc'];
    if (gc) {
      // ArrayBuffers are freed by a sweeper after the GC: let it run, then collect once more.
      gc();
      await new Promise((resolve) => setTimeout(resolve, 200));
      gc();
      const usage = process.memoryUsage();
      afterFullGc = { heapUsed: usage.heapUsed, arrayBuffers: usage.arrayBuffers, rss: usage.rss };
    }
    return { seconds: run.seconds, bytesPerSecond: (run.result.written.size ?? 0) / run.seconds, result: run.result, maxMemory, afterFullGc };
  } finally {
    clearInterval(sampler);
    source.destroy();
    destination.destroy();
    dynamodb.destroy();
  }
}
