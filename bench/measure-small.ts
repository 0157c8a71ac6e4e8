// 5: small objects, untagged or tagged: the rows of bench/small-objects.ts.
import { cpuSince, cpuSnapshot, formatCpu } from './cpu-usage';
import { Bench, MEMORY_BUDGET, QUICK, progress, waitForRoom } from './harness';
import { SERVICES } from './replicator-end-to-end';
import { Row, ms } from './report';
import { SmallObjectsResult, measureSmallObjects } from './small-objects';
import { GiB, formatBytes } from './test-data';

const SMALL_COUNT = QUICK ? 100 : 1000;
const SMALL_SIZE = 4 * 1024;

/** 5. Small objects: raw GET + PUT, copyVersion alone and the replicator end to end. */
export async function measureSmall(bench: Bench, rows: Row[], tagging: string | undefined): Promise<void> {
  const variant = tagging ? 'tagged' : 'untagged';
  await waitForRoom(bench, GiB);
  progress(`small objects, ${variant}: ${SMALL_COUNT} × ${formatBytes(SMALL_SIZE)} (upload, raw GET+PUT, copyVersion, replicator)`);
  const snapshot = cpuSnapshot(bench.watched);
  const result: SmallObjectsResult = await measureSmallObjects({
    src: bench.srcServer,
    dst: bench.dstServer,
    moto: bench.moto,
    variant,
    count: SMALL_COUNT,
    objectSize: SMALL_SIZE,
    tagging,
    memoryBudget: MEMORY_BUDGET,
  });
  const cpu = cpuSince(snapshot, bench.watched);
  const ratio = result.replicatorMs / result.rawGetPutMs;
  const label = tagging ? `tagged (${tagging})` : 'untagged';
  const requests = SERVICES.map((service) => {
    const commands = Object.entries(result.commandsPerObject[service]).map(([command, n]) => `${command.replace(/Command$/, '')} ${roundCount(n)}`).join(', ');
    return `${service} ${roundCount(result.requestsPerObject[service])}${commands ? ` (${commands})` : ''}`;
  }).join('; ');
  const timeInServices = SERVICES.filter((service) => result.serviceMsPerObject[service] > 0)
    .map((service) => `${service} ${ms(result.serviceMsPerObject[service])}`).join(', ');
  const dynamoDbMs = result.serviceMsPerObject.DynamoDB;
  const requestMs = SERVICES.reduce((sum, service) => sum + result.serviceMsPerObject[service], 0);
  rows.push(
    {
      measurement: `${SMALL_COUNT} × 4 KiB, ${label}: raw GET (A) + PUT (B), sequential`,
      result: `${ms(result.rawGetPutMs)} per object`,
      notes: tagging ? 'the raw pair copies no tags' : undefined,
    },
    {
      measurement: `${SMALL_COUNT} × 4 KiB, ${label}: copyVersion alone (no table)`,
      result: `${ms(result.copyVersionMs)} per object (${(result.copyVersionMs / result.rawGetPutMs).toFixed(2)}× raw)`,
      notes: 'destination client configured as the replicator builds it (SDK defaults)',
    },
    {
      measurement: `${SMALL_COUNT} × 4 KiB, ${label}: bundled replicator end to end (table on moto), events of 10`,
      result: `${ms(result.replicatorMs)} per object (**${ratio.toFixed(2)}× raw**)`,
      target: '≤ 1.3× raw GET + PUT',
      met: ratio <= 1.3,
      notes: 'assets/handlers/replicator.lambda with the construct\'s environment (default memory and timeout, INFO logs and metrics collected); '
        + `time in HTTP requests per object: ${timeInServices}, DynamoDB ${percent(dynamoDbMs, requestMs)} of it `
        + '(the keys of a batch are copied side by side, so these times overlap and add up to more than the time per object). '
        + `moto alone, sequential: PutItem ${ms(result.motoPutItemMs)}, `
        + `BatchGetItem ${ms(result.motoBatchGetItemMs)}. ${formatCpu(cpu)} (whole step incl. upload)`,
    },
    { measurement: `Requests per object, ${label} (steady state)`, result: requests, notes: 'HTTP requests seen by Node\'s http client (a retry counts)' },
  );
}

function roundCount(n: number): string {
  return Number.isInteger(n) ? String(n) : n.toFixed(2);
}

function percent(part: number, whole: number): string {
  return whole > 0 ? `${Math.round((100 * part) / whole)} %` : 'n/a';
}
