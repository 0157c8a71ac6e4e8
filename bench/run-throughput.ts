// The throughput group of the benchmark on its own (bench/measure-throughput.ts: raw limits, raw
// copy, engine, rclone, with CPU per GiB), without the memory, small-object and interruption groups:
// a few minutes instead of the whole run. BENCH_PROFILE=1 then also copies the large object once in
// a child process under `node --cpu-prof` (profile in .bench/profile/) and prints where its CPU went.
// Run: NODE_NO_WARNINGS=1 npx ts-node --project tsconfig.dev.json bench/run-throughput.ts   (BENCH_TLS=0: plain http)
import * as fs from 'node:fs';
import * as path from 'node:path';
import { withBench } from './bench-servers';
import { deleteAllVersions } from './engine-copy';
import type { EngineCopyWorkerArgs, EngineCopyWorkerResult } from './engine-copy-worker';
import {
  Bench, CONCURRENCY, DST_BUCKET, LARGE, LARGE_KEY, MEMORY_BUDGET, PART_SIZE, SRC_BUCKET, TABLE, address, progress,
} from './harness';
import { chooseDataDir } from './machine-context';
import { measureThroughput } from './measure-throughput';
import { measurePeakMemory } from './peak-memory';
import { markdownTable, Row } from './report';
import { benchTls, rerunTrustingBenchCa } from './s3-servers';
import { GiB, formatBytes, putRandomObject } from './test-data';

const PROFILE_DIR = path.join(__dirname, '..', '.bench', 'profile');

async function main(): Promise<void> {
  const data = chooseDataDir(4 * GiB);
  process.env.BENCH_DATA_DIR = data.dir;
  process.env.MINIO_API_DELETE_CLEANUP_INTERVAL = '5s';
  progress(`server data in ${data.dir}; servers speak ${benchTls() ? 'TLS (https)' : 'plain http'}`);
  await withBench(async (bench) => {
    progress(`uploading the ${formatBytes(LARGE)} source object`);
    bench.largeVersionId = (await putRandomObject(bench.src, SRC_BUCKET, LARGE_KEY, LARGE, { partSize: PART_SIZE, concurrency: CONCURRENCY }))!;
    if (process.env.BENCH_PROFILE === '1') await profileEngine(bench);
    if (process.env.BENCH_PROFILE_ONLY === '1') return;
    const rows: Row[] = [];
    await measureThroughput(bench, rows);
    console.log(`## Throughput and CPU per GiB (${benchTls() ? 'TLS' : 'plain http'}; C = ${CONCURRENCY}, P = ${formatBytes(PART_SIZE)})\n\n${markdownTable(rows)}`);
  });
}

/** One engine copy in a child under --cpu-prof; prints the functions with the most self time. */
async function profileEngine(bench: Bench): Promise<void> {
  fs.rmSync(PROFILE_DIR, { recursive: true, force: true });
  const args: EngineCopyWorkerArgs = {
    src: { ...address(bench.srcServer), bucket: SRC_BUCKET, key: LARGE_KEY, versionId: bench.largeVersionId },
    dst: { ...address(bench.dstServer), bucket: DST_BUCKET },
    moto: { endpoint: bench.moto.endpoint },
    tableName: TABLE,
    memoryBudget: MEMORY_BUDGET,
    maxSockets: 64,
  };
  progress('engine copy under --cpu-prof');
  const run = await measurePeakMemory<EngineCopyWorkerResult>(path.join(__dirname, 'engine-copy-worker.ts'), args, {
    nodeOptions: ['--cpu-prof', `--cpu-prof-dir=${PROFILE_DIR}`],
  });
  await deleteAllVersions(bench.dst, DST_BUCKET, LARGE_KEY);
  progress(`profiled copy: ${run.result.seconds.toFixed(2)} s`);
  const file = fs.readdirSync(PROFILE_DIR).find((name) => name.endsWith('.cpuprofile'))!;
  console.log(summarizeProfile(path.join(PROFILE_DIR, file)));
}

interface ProfileNode { id: number; callFrame: { functionName: string; url: string; lineNumber: number }; children?: number[] }

/** Self time by function (and by file), as shares of the sampled time, idle excluded. */
export function summarizeProfile(file: string, top = 25): string {
  const profile = JSON.parse(fs.readFileSync(file, 'utf8')) as { nodes: ProfileNode[]; samples: number[]; timeDeltas: number[] };
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const selfUs = new Map<number, number>();
  profile.samples.forEach((id, i) => selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)));
  const byFunction = new Map<string, number>();
  const byFile = new Map<string, number>();
  let busy = 0;
  for (const [id, us] of selfUs) {
    const { functionName, url, lineNumber } = byId.get(id)!.callFrame;
    if (functionName === '(idle)') continue;
    busy += us;
    const where = url ? `${path.basename(url)}:${lineNumber + 1}` : '';
    const name = `${functionName || '(anonymous)'} ${where}`.trim();
    byFunction.set(name, (byFunction.get(name) ?? 0) + us);
    const module = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url)?.[1] ?? (url ? path.basename(url) : functionName);
    byFile.set(module, (byFile.get(module) ?? 0) + us);
  }
  const list = (entries: Map<string, number>) => [...entries].sort((a, b) => b[1] - a[1]).slice(0, top)
    .map(([name, us]) => `  ${(100 * us / busy).toFixed(1).padStart(5)} %  ${(us / 1e6).toFixed(2).padStart(6)} s  ${name}`).join('\n');
  return `CPU profile ${file}: ${(busy / 1e6).toFixed(2)} s busy (idle excluded; "(program)" is native work outside JS frames: TLS, sockets)\nby function (self time):\n${list(byFunction)}\nby module:\n${list(byFile)}`;
}

if (require.main === module && !rerunTrustingBenchCa()) {
  main().catch((err: unknown) => {
    console.error(err);
    process.exitCode = 1;
  });
}
