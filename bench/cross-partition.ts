// The cross-partition measurement alone (bench/measure-cross-partition.ts), with only the servers it
// needs: two MinIO servers and moto on loopback. `npx projen bench` runs it as part of the whole run.
// Run: NODE_NO_WARNINGS=1 npx ts-node --project tsconfig.dev.json bench/cross-partition.ts   (BENCH_SCALE=small: 100 objects)
import { withBenchServers } from './bench-servers';
import { QUICK, progress } from './harness';
import { chooseDataDir } from './machine-context';
import { measureCrossPartition } from './measure-cross-partition';
import { Row, markdownTable } from './report';
import { rerunTrustingBenchCa } from './s3-servers';
import { GiB } from './test-data';

async function main(): Promise<void> {
  const data = chooseDataDir(2 * GiB);
  process.env.BENCH_DATA_DIR = data.dir;
  progress(`server data in ${data.dir} (${data.why})${QUICK ? '; BENCH_SCALE=small' : ''}`);
  await withBenchServers(async (servers) => {
    const rows: Row[] = [];
    const context: string[] = [];
    await measureCrossPartition(servers, rows, context);
    console.log([markdownTable(rows), '', ...context.map((line) => `- ${line}`)].join('\n'));
  });
}

// With TLS (BENCH_TLS, default on) the run goes on in a child that trusts the servers' CA: the
// replicator's bundle builds its own clients.
if (!rerunTrustingBenchCa()) {
  main().catch((err: unknown) => {
    console.error(err);
    process.exitCode = 1;
  });
}
