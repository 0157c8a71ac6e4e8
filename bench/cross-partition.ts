// The cross-partition measurement alone (bench/measure-cross-partition.ts), with only the servers it
// needs: two MinIO servers and moto on loopback. `npx projen bench` runs it as part of the whole run.
// Run: NODE_NO_WARNINGS=1 npx ts-node --project tsconfig.dev.json bench/cross-partition.ts   (BENCH_SCALE=small: 100 objects)
import { serverProcesses } from './cpu-usage';
import { QUICK, progress } from './harness';
import { chooseDataDir } from './machine-context';
import { measureCrossPartition } from './measure-cross-partition';
import { MotoServices, startMoto } from './moto-services';
import { Row, markdownTable } from './report';
import { S3Server, startS3Servers, stopAll } from './s3-servers';
import { GiB } from './test-data';

async function main(): Promise<void> {
  const data = chooseDataDir(2 * GiB);
  process.env.BENCH_DATA_DIR = data.dir;
  progress(`server data in ${data.dir} (${data.why})${QUICK ? '; BENCH_SCALE=small' : ''}`);
  let servers: S3Server[] = [];
  let moto: MotoServices | undefined;
  try {
    servers = await startS3Servers(2);
    moto = await startMoto();
    const [srcServer, dstServer] = servers;
    const watched = serverProcesses(srcServer, dstServer, moto);
    const rows: Row[] = [];
    const context: string[] = [];
    await measureCrossPartition({ srcServer, dstServer, moto, watched }, rows, context);
    console.log([markdownTable(rows), '', ...context.map((line) => `- ${line}`)].join('\n'));
  } finally {
    await moto?.stop();
    await stopAll(servers);
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
