// 6: small objects across partitions. The destination (MinIO B) behind a simulated link of 35 ms
// each way (bench/latency-proxy.ts); source S3, DynamoDB and Secrets Manager stay on loopback, as in
// Lambda they are in the function's own region. The bundled replicator (bench/replicator-end-to-end.ts)
// copies the same objects four times, each into a replica bucket of its own, and every replica is checked:
// - sequential design: the same handler fed events of ONE record, invocations back to back. That is
//   what the replicator did before parallel batches (a batch's records one after another), measured
//   in the same run; it is also the best a one-record-at-a-time loop can do, as a batch of ten
//   processed in turn pays the same round trips per record.
// - parallel batches: events of ten records of ten distinct keys (ten message groups), which the
//   handler replicates side by side.
// each with one replicator (objects per second per concurrent replicator) and with several
// replicators sharing the events (end to end, as the Lambda poller runs concurrent batches).
import { performance } from 'node:perf_hooks';
import { BatchGetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { HeadBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { cpuSince, cpuSnapshot, formatCpu } from './cpu-usage';
import { Bench, QUICK, progress, waitForRoom } from './harness';
import { LatencyProxy, measureRoundTrip, startLatencyProxy } from './latency-proxy';
import { MotoAddress, createTable, dynamoDbFor } from './moto-services';
import { ReplicatorResult, SERVICES, SmallObject, throughReplicator } from './replicator-end-to-end';
import { Row, ms } from './report';
import { S3ServerAddress, createVersionedBucket, s3ClientFor } from './s3-servers';
import { uploadSmallObjects } from './small-objects';
import { GiB } from './test-data';

/** Half the round trip between partitions (e.g. us-east-1 to us-gov-west-1 is about 60–80 ms). */
export const ONE_WAY_MS = 35;
const COUNT = QUICK ? 100 : 1000;
const OBJECT_SIZE = 4 * 1024;
/** Concurrent replicators for the end-to-end rows: sandboxes the poller runs at once. */
const REPLICATORS = 4;
const TARGET_RATIO = 5;
const SRC_BUCKET = 'bench-xp-src';

interface Variant {
  readonly name: string;
  readonly recordsPerEvent: 1 | 10;
  readonly replicators: number;
  readonly label: string;
}

const VARIANTS: readonly Variant[] = [
  { name: 'xp-seq-1', recordsPerEvent: 1, replicators: 1, label: 'one replicator, sequential design (events of 1 record, invocations back to back)' },
  { name: 'xp-par-1', recordsPerEvent: 10, replicators: 1, label: 'one replicator, parallel batches (events of 10 distinct keys)' },
  {
    name: `xp-seq-${REPLICATORS}`,
    recordsPerEvent: 1,
    replicators: REPLICATORS,
    label: `${REPLICATORS} replicators at once, sequential design (events of 1 record)`,
  },
  { name: `xp-par-${REPLICATORS}`, recordsPerEvent: 10, replicators: REPLICATORS, label: `${REPLICATORS} replicators at once, parallel batches (events of 10 distinct keys)` },
];

type Measured = ReplicatorResult & { readonly cpu: string };

/** 6. Small objects over a 35 ms link: sequential versus parallel batches, one and several replicators. */
export async function measureCrossPartition(
  bench: Pick<Bench, 'srcServer' | 'dstServer' | 'moto' | 'watched'>, rows: Row[], context: string[],
): Promise<void> {
  await waitForRoom(bench, GiB);
  const target = new URL(bench.dstServer.endpoint);
  const proxy = await startLatencyProxy({ host: target.hostname, port: Number(target.port), protocol: target.protocol }, ONE_WAY_MS);
  const source = s3ClientFor(bench.srcServer, 16);
  try {
    const link = await checkLink(proxy, bench.dstServer);
    context.push(link.line);
    await createVersionedBucket(source, SRC_BUCKET);
    progress(`cross-partition: ${COUNT} × 4 KiB through the replicator, destination behind ${ONE_WAY_MS} ms each way (${link.line})`);
    // A warm-up event per replicator, replicated before the timing starts (cold start, secret, and as
    // many destination connections as its batches use: a steady-state sandbox has them open).
    const warmUpCount = 10 * REPLICATORS;
    const uploaded = await uploadSmallObjects(source, SRC_BUCKET, 'xp/', warmUpCount + COUNT, OBJECT_SIZE);
    const warmUps = uploaded.slice(0, warmUpCount);
    const objects = uploaded.slice(warmUpCount);
    const results = new Map<string, Measured>();
    for (const variant of VARIANTS) {
      progress(`cross-partition: ${variant.label}`);
      results.set(variant.name, await measureVariant(bench, proxy, variant, warmUps, objects));
    }
    const ceiling = await motoDynamoDbCeiling(bench.moto);
    rows.push(...crossPartitionRows(results, link.roundTripMs, proxy, ceiling));
  } finally {
    source.destroy();
    await proxy.stop();
  }
}

async function measureVariant(
  bench: Pick<Bench, 'srcServer' | 'dstServer' | 'moto' | 'watched'>, proxy: LatencyProxy, variant: Variant,
  warmUps: SmallObject[], objects: SmallObject[],
): Promise<Measured> {
  const snapshot = cpuSnapshot(bench.watched);
  const result = await throughReplicator({
    src: bench.srcServer,
    dst: bench.dstServer,
    moto: bench.moto,
    variant: variant.name,
    destinationEndpoint: proxy.endpoint,
    recordsPerEvent: variant.recordsPerEvent,
    replicators: variant.replicators,
  }, SRC_BUCKET, warmUps, objects);
  return { ...result, cpu: formatCpu(cpuSince(snapshot, bench.watched), 'node', 'replicator processes') };
}

function crossPartitionRows(results: Map<string, Measured>, roundTripMs: number, proxy: LatencyProxy, motoRequestsPerSecond: number): Row[] {
  const rate = (result: Measured) => 1000 / result.replicatorMs;
  const rows: Row[] = [];
  const seq1 = results.get('xp-seq-1')!;
  const par1 = results.get('xp-par-1')!;
  // Where one replicator's time goes: the destination's round trips (the link) and the rest, per object.
  const destinationRequests = seq1.requestsPerObject['S3 destination'];
  const linkFloorSeq = destinationRequests * roundTripMs;
  const parBatchMs = par1.replicatorMs * 10;
  // A service that serves one request at a time makes each request wait for the others in flight:
  // its time per request grows with the keys in flight, where a service that scales keeps it flat.
  const perRequest = (result: Measured, service: string) => result.serviceMsPerObject[service] / Math.max(1e-9, result.requestsPerObject[service]);
  const growth = SERVICES.filter((service) => seq1.requestsPerObject[service] > 0 && par1.requestsPerObject[service] > 0)
    .map((service) => ({ service, seq: perRequest(seq1, service), par: perRequest(par1, service), perKey: par1.serviceMsPerObject[service] }))
    .sort((a, b) => b.perKey - a.perKey);
  const limiting = growth[0];
  const where = (result: Measured) => SERVICES.filter((service) => result.serviceMsPerObject[service] > 0)
    .map((service) => `${service} ${ms(result.serviceMsPerObject[service])} (${roundCount(result.requestsPerObject[service])} req)`).join(', ');
  for (const variant of VARIANTS) {
    const result = results.get(variant.name)!;
    const sequential = results.get(variant.name.replace('par', 'seq'))!;
    const ratio = rate(result) / rate(sequential);
    const parallel = variant.recordsPerEvent === 10;
    const notes = [
      variant.replicators === 1
        ? `per object, time inside each service's requests: ${where(result)}`
        : `invocations per replicator: ${result.invocations.join(', ')} (each a process of its own, sharing the events)`,
      parallel && variant.replicators === 1
        ? `a batch of 10 takes ${ms(parBatchMs)}; ten keys side by side, each at its sequential ${ms(seq1.replicatorMs)}, would take that once: 10×, `
          + `and the link alone needs ${ms(linkFloorSeq)} per batch (its keys' round trips overlap). `
          + `Most time per key with 10 keys in flight: ${limiting.service} (${ms(limiting.perKey)}); time per request, sequential → 10 keys in flight: `
          + growth.map((g) => `${g.service} ${ms(g.seq)} → ${ms(g.par)} (${(g.par / g.seq).toFixed(1)}×)`).join(', ')
        : undefined,
      !parallel && variant.replicators === 1
        ? `the link's floor: ${roundCount(destinationRequests)} destination requests × ${ms(roundTripMs)} round trip = ${ms(linkFloorSeq)} per object`
        : undefined,
      result.cpu,
    ].filter(Boolean).join('; ');
    rows.push({
      measurement: `${COUNT} × 4 KiB over a ${ONE_WAY_MS} ms link (each way): ${variant.label}`,
      result: `**${rate(result).toFixed(1)} objects/s**${variant.replicators > 1 ? ' end to end' : ' per replicator'} (${ms(result.replicatorMs)} per object)`
        + (parallel ? `, **${ratio.toFixed(1)}× the sequential design**` : ''),
      target: parallel ? `≥ ${TARGET_RATIO}× sequential` : undefined,
      met: parallel ? ratio >= TARGET_RATIO : undefined,
      notes,
    });
  }
  const dynamoDbPerObject = seq1.requestsPerObject.DynamoDB;
  rows[rows.length - 1] = {
    ...rows[rows.length - 1],
    notes: `${rows[rows.length - 1].notes}; the link proxy accepted ${proxy.connections()} connections in all. `
      + `The emulator's ceiling: moto's DynamoDB served ${motoRequestsPerSecond.toFixed(0)} requests/s with ${MOTO_IN_FLIGHT} in flight, `
      + `so at ${roundCount(dynamoDbPerObject)} requests per object at most ${(motoRequestsPerSecond / dynamoDbPerObject).toFixed(1)} objects/s end to end here, whatever the replicator does`,
  };
  return rows;
}

/**
 * The link is checked before it is used: one TCP round trip through a proxy of the same kind must
 * take at least 2 × ONE_WAY_MS (a proxy that forwards without delay would pass every figure off as
 * cross-partition), and a HeadBucket to MinIO B over a warm connection, through the proxy and direct.
 */
async function checkLink(proxy: LatencyProxy, dst: S3ServerAddress): Promise<{ roundTripMs: number; line: string }> {
  const { medianMs: roundTripMs, minMs } = await measureRoundTrip(ONE_WAY_MS);
  if (minMs < 2 * ONE_WAY_MS) {
    throw new Error(`the latency proxy is broken: a round trip through it took ${minMs.toFixed(1)} ms, expected ≥ ${2 * ONE_WAY_MS} ms`);
  }
  const throughProxy = await headBucketMs({ ...dst, endpoint: proxy.endpoint });
  const direct = await headBucketMs(dst);
  return {
    roundTripMs,
    line: `Cross-partition link: a delaying TCP proxy on loopback (bench/latency-proxy.ts), ${ONE_WAY_MS} ms each way, `
      + `a new connection also paying one round trip for the handshake; a TCP round trip through it ${ms(roundTripMs)} `
      + `(median of 7; least ${ms(minMs)}, must be ≥ ${2 * ONE_WAY_MS} ms); an S3 HeadBucket to MinIO B ${ms(throughProxy)} through it, ${ms(direct)} direct`,
  };
}

/** One HeadBucket over a connection already open (the first request opens it). */
async function headBucketMs(server: S3ServerAddress): Promise<number> {
  const client: S3Client = s3ClientFor(server, 1);
  try {
    const head = () => client.send(new HeadBucketCommand({ Bucket: SRC_BUCKET })).catch(() => undefined);
    await head();
    const start = performance.now();
    await head();
    return performance.now() - start;
  } finally {
    client.destroy();
  }
}

const MOTO_IN_FLIGHT = 40;

/**
 * The most DynamoDB requests per second moto serves, the replicator's mix (a BatchGetItem and two
 * PutItems per object) with MOTO_IN_FLIGHT at once, as 4 replicators of 10 keys send them: in AWS
 * the table scales, here one emulator process on shared cores bounds every end-to-end figure.
 */
async function motoDynamoDbCeiling(moto: MotoAddress): Promise<number> {
  const tableName = 'bench-xp-ceiling';
  await createTable(moto, tableName);
  const client = dynamoDbFor(moto);
  const perWorker = QUICK ? 3 : 10;
  const item = (i: number) => ({ pk: { S: `object#ceiling/${i}` }, sk: { S: 'head' }, sourceVersionId: { S: `v${i}` }, eTag: { S: '"0123456789abcdef"' } });
  try {
    const worker = async (w: number) => {
      for (let j = 0; j < perWorker; j++) {
        const i = w * perWorker + j;
        const keys = [{ pk: { S: `object#ceiling/${i}` }, sk: { S: 'head' } }, { pk: { S: `object#ceiling/${i}` }, sk: { S: 'version#v' } }];
        await client.send(new BatchGetItemCommand({ RequestItems: { [tableName]: { Keys: keys, ConsistentRead: true } } }));
        await client.send(new PutItemCommand({ TableName: tableName, Item: item(i), ConditionExpression: 'attribute_not_exists(pk)' }));
        await client.send(new PutItemCommand({ TableName: tableName, Item: { ...item(i), sk: { S: 'version#v' } } }));
      }
    };
    const start = performance.now();
    await Promise.all(Array.from({ length: MOTO_IN_FLIGHT }, (_, w) => worker(w)));
    return (MOTO_IN_FLIGHT * perWorker * 3) / ((performance.now() - start) / 1000);
  } finally {
    client.destroy();
  }
}

function roundCount(n: number): string {
  return Number.isInteger(n) ? String(n) : n.toFixed(2);
}
