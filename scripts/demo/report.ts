import { createHash } from 'crypto';
import { ListObjectVersionsCommand, S3Client } from '@aws-sdk/client-s3';
import { Delivery } from './deliveries';
import { Deployment } from './emulated-deployment';
import { DELIVERY_ORDER, describeOutcome, expectReplicated, KEYS, SKIPPED_AS_OLDER } from './scenario';
import { currentObject } from '../../test/emulated/emulators/stored-object';

/** Seconds since `since`, as the progress lines show them. */
export function elapsed(since: number): string {
  return `${((Date.now() - since) / 1000).toFixed(1)} s`;
}

/** What was deployed where, and how the handlers' environment differs from what Lambda would give them. */
export function printDeployment({ source, destinationStack, router, replicator, droppedDenies }: Deployment, deployStarted: number): void {
  const sourceEndpoint = router.environment.AWS_ENDPOINT_URL;
  const destinationEndpoint = replicator.environment.DESTINATION_ENDPOINT;
  console.log(`Deployed into the emulators from the templates  [${elapsed(deployStarted)}]:`);
  console.log(`  ${source.name}: bucket ${router.environment.SOURCE_BUCKET_NAME}, table ${replicator.environment.REPLICATION_TABLE_NAME}, ` +
    'FIFO queue and dead-letter queues, the credentials secret, and one IAM user per function carrying the policies synthesized for its role');
  console.log(`  ${destinationStack.name}: bucket ${replicator.environment.DESTINATION_BUCKET_NAME} (versioned), the replication user with its synthesized policy ` +
    `(without ${droppedDenies.join(', ') || 'nothing'}: moto applies a Deny's condition as if it always held), ` +
    'its key copied into the source\'s credentials secret as the README says');
  console.log('  Handler environment: the template\'s variables resolved to those resources, plus AWS_REGION and the role\'s key as Lambda sets them,');
  console.log(`  plus two demo-only overrides: AWS_ENDPOINT_URL=${sourceEndpoint} (the SDK's standard endpoint variable, so the unchanged`);
  console.log(`  bundles reach the emulated source partition) and, for the replicator, DESTINATION_ENDPOINT=${destinationEndpoint} (what the`);
  console.log('  construct sets for destinationEndpoint + allowInsecureEndpoints; the example leaves it unset, so in AWS the SDK resolves it from us-gov-west-1).\n');
}

function printTable(rows: string[][]): void {
  const widths = rows[0].map((_, column) => Math.max(...rows.map((row) => row[column].length)));
  for (const [index, row] of rows.entries()) {
    console.log(`  ${row.map((cell, column) => cell.padEnd(widths[column])).join('  ')}`.trimEnd());
    if (index === 0) console.log(`  ${widths.map((width) => '-'.repeat(width)).join('  ')}`);
  }
}

export function printDeliveries(deliveries: Delivery[]): void {
  console.log('Delivery order (EventBridge into the router in a fixed order, then the FIFO queue into the replicator):');
  printTable([['#', 'at', 'delivered to', 'event', 'key', 'version', 'outcome'], ...deliveries.map((d, index) => [
    String(index + 1), d.at === undefined ? '' : `+${String(d.at).padStart(4)} ms`, d.target, d.event, d.key, d.version, d.outcome,
  ])]);
}

/** A key's version count (versions and delete markers) and its current object, in one line. */
async function describeKey(s3: S3Client, bucket: string, key: string): Promise<{ versions: number; current: string }> {
  const listed = await s3.send(new ListObjectVersionsCommand({ Bucket: bucket, Prefix: key }));
  const versions = (listed.Versions ?? []).filter((v) => v.Key === key).length
    + (listed.DeleteMarkers ?? []).filter((m) => m.Key === key).length;
  const object = await currentObject(s3, bucket, key);
  if (!object) return { versions, current: versions > 0 ? '(deleted)' : '(absent)' };
  const tagText = Object.entries(object.tags).map(([name, value]) => `${name}=${value}`).join(',') || '-';
  const digest = createHash('sha256').update(object.body).digest('hex').slice(0, 10);
  return { versions, current: `${object.body.length} B sha256:${digest} ${object.contentType ?? ''} tags:${tagText}` };
}

/** One side of the comparison: a bucket and a client that may read it. */
export interface BucketSide {
  readonly s3: S3Client;
  readonly bucket: string;
}

/** Prints the scenario's keys on both sides; returns how many differ from what the example should do. */
export async function compareBuckets(source: BucketSide, destination: BucketSide): Promise<number> {
  console.log(`\nSource (${source.bucket}) versus destination (${destination.bucket}):`);
  const table = [['key', 'source (versions | current)', 'destination (versions | current)', 'match']];
  let mismatches = 0;
  for (const key of KEYS) {
    const sourceSide = await describeKey(source.s3, source.bucket, key);
    const replica = await describeKey(destination.s3, destination.bucket, key);
    const replicated = expectReplicated(key);
    const match = replicated ? sourceSide.current === replica.current : replica.current === '(absent)';
    if (!match) mismatches += 1;
    table.push([key, `${sourceSide.versions} | ${sourceSide.current}`, `${replica.versions} | ${replica.current}`,
      match ? (replicated ? 'yes' : 'yes (not replicated: outside the prefixes)') : 'NO']);
  }
  printTable(table);
  return mismatches;
}

/** Explains each version skipped as older than the replica, and whether everything matched. */
export function printFindings(deliveries: Delivery[], mismatches: number): void {
  for (const delivery of deliveries.filter((d) => d.outcome === describeOutcome(SKIPPED_AS_OLDER))) {
    console.log(`\n${delivery.version} of ${delivery.key} arrived after a newer version had been replicated and was skipped: an older version`);
    console.log('is never written over a newer replica, so the destination keeps fewer versions of that key.');
  }
  if (mismatches === 0) console.log('Every replicated key\'s current content, metadata and tags match the source.');
}

export function printTimes(replicatorDeliveries: number, replicationMs: number): void {
  console.log(`\nReplication (${DELIVERY_ORDER.length} events through the router, ${replicatorDeliveries} deliveries to the replicator) took ` +
    `${replicationMs} ms; the demo ${process.uptime().toFixed(1)} s since its process started (synthesis, emulators, deployment included).`);
}

/** What makes the demo fail: sides that differ, no older event skipped, failed deliveries. */
export function problemsOf(outcome: { mismatches: number; skippedAsOlder: number; failures: number }): string[] {
  return [
    ...(outcome.mismatches > 0 ? [`${outcome.mismatches} key(s) differ between source and destination`] : []),
    ...(outcome.skippedAsOlder === 0 ? ['no older event arrived after a newer one and was skipped'] : []),
    ...(outcome.failures > 0 ? [`${outcome.failures} deliveries failed`] : []),
  ];
}

/** Says what failed, and makes the process exit non-zero. */
export function failOnProblems(problems: string[]): void {
  if (problems.length === 0) return;
  console.error(`\nDEMO FAILED: ${problems.join('; ')}`);
  process.exitCode = 1;
}
