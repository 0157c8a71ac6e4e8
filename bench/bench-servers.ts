import { serverProcesses, WatchedProcesses } from './cpu-usage';
import { annotateErrors } from './engine-copy';
import { Bench, DST_BUCKET, SRC_BUCKET, TABLE } from './harness';
import { MotoServices, createTable, dynamoDbFor, startMoto } from './moto-services';
import { S3Server, createVersionedBucket, s3ClientFor, startS3Servers, stopAll } from './s3-servers';
import { UploadCheckpoints } from '../src/runtime/engine/multipart/upload-checkpoints';

/** The servers a bench entry point measures against: two MinIO servers, moto, and their processes. */
export interface BenchServers {
  readonly srcServer: S3Server;
  readonly dstServer: S3Server;
  readonly moto: MotoServices;
  /** The servers' processes, whose CPU the bench reports. */
  readonly watched: WatchedProcesses;
}

/** Runs `fn` with the bench's servers and stops them afterwards, whether `fn` succeeds or throws. */
export async function withBenchServers<T>(fn: (servers: BenchServers) => Promise<T>): Promise<T> {
  let s3Servers: S3Server[] = [];
  let moto: MotoServices | undefined;
  try {
    s3Servers = await startS3Servers(2);
    moto = await startMoto();
    const [srcServer, dstServer] = s3Servers;
    return await fn({ srcServer, dstServer, moto, watched: serverProcesses(srcServer, dstServer, moto) });
  } finally {
    await moto?.stop();
    await stopAll(s3Servers);
  }
}

/**
 * Runs `fn` with the copy benchmark's setting on the bench's servers: a client per server, the
 * checkpoint table on moto and both versioned buckets; closes the clients and stops the servers
 * afterwards.
 */
export async function withBench<T>(fn: (bench: Bench) => Promise<T>): Promise<T> {
  return withBenchServers(async (servers) => {
    await createTable(servers.moto, TABLE);
    const dynamodb = dynamoDbFor(servers.moto);
    const bench: Bench = {
      ...servers,
      src: annotateErrors(s3ClientFor(servers.srcServer, 64), 'source'),
      dst: annotateErrors(s3ClientFor(servers.dstServer, 64), 'destination'),
      dynamodb,
      checkpoints: new UploadCheckpoints(dynamodb, TABLE),
      largeVersionId: '',
    };
    try {
      await createVersionedBucket(bench.src, SRC_BUCKET);
      await createVersionedBucket(bench.dst, DST_BUCKET);
      return await fn(bench);
    } finally {
      bench.src.destroy();
      bench.dst.destroy();
      dynamodb.destroy();
    }
  });
}
