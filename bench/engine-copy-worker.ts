// The engine's copy of one object in a child process of its own (see peak-memory.ts), so its peak
// RSS is the engine's alone: it builds every client from plain JSON and runs copyVersion to completion.
import { CopyResult } from '../src/runtime/object-copy';
import { UploadCheckpoints } from '../src/runtime/upload-checkpoints';
import { engineCopy } from './engine-copy';
import { MotoAddress, dynamoDbFor } from './moto-services';
import { S3ServerAddress, s3ClientFor } from './s3-servers';

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
}

export async function runWorker(args: EngineCopyWorkerArgs): Promise<EngineCopyWorkerResult> {
  const source = s3ClientFor(args.src, args.maxSockets);
  const destination = s3ClientFor(args.dst, args.maxSockets);
  const dynamodb = dynamoDbFor(args.moto);
  try {
    const run = await engineCopy({
      source: { client: source, bucket: args.src.bucket, key: args.src.key, versionId: args.src.versionId },
      destination,
      destinationBucket: args.dst.bucket,
      checkpoints: new UploadCheckpoints(dynamodb, args.tableName),
      memoryBudget: args.memoryBudget,
    });
    if (run.result.status !== 'completed') throw new Error(`copy without a deadline ended ${run.result.status}`);
    return { seconds: run.seconds, bytesPerSecond: (run.result.written.size ?? 0) / run.seconds, result: run.result };
  } finally {
    source.destroy();
    destination.destroy();
    dynamodb.destroy();
  }
}
