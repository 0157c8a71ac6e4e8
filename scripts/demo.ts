/**
 * The local demo: two emulated partitions (moto servers), a handful of objects with versions, a
 * delete and a tag change, replicated by the real router and replicator code, printed as a
 * source-versus-destination table. Run with `npx projen demo`.
 */
import { createHash } from 'crypto';
import { GetObjectCommand, GetObjectTaggingCommand, ListObjectVersionsCommand, S3Client } from '@aws-sdk/client-s3';
import { startEmulatedPartitions } from '../test/emulators/emulated-partitions';
import { DESTINATION_REGION, SOURCE_REGION } from '../test/emulators/partitions';
import { ReplicationFixture } from '../test/emulators/replication-fixture';
import { S3Event } from '../test/emulators/s3-events';

interface Side {
  readonly versions: number;
  readonly current: string;
}

async function describeKey(s3: S3Client, bucket: string, key: string): Promise<Side> {
  const listed = await s3.send(new ListObjectVersionsCommand({ Bucket: bucket, Prefix: key }));
  const versions = (listed.Versions ?? []).filter((v) => v.Key === key).length
    + (listed.DeleteMarkers ?? []).filter((m) => m.Key === key).length;
  try {
    const object = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    const body = await object.Body!.transformToByteArray();
    const tags = await s3.send(new GetObjectTaggingCommand({ Bucket: bucket, Key: key }));
    const tagText = (tags.TagSet ?? []).map((t) => `${t.Key}=${t.Value}`).join(',') || '-';
    const digest = createHash('sha256').update(body).digest('hex').slice(0, 10);
    return { versions, current: `${body.length} B sha256:${digest} ${object.ContentType ?? ''} tags:${tagText}` };
  } catch (error) {
    if ((error as { name?: string }).name === 'NoSuchKey') return { versions, current: '(deleted)' };
    throw error;
  }
}

async function main(): Promise<void> {
  // The EMF metrics lines would drown the table; the tests assert on them.
  process.env.POWERTOOLS_METRICS_DISABLED ??= 'true';
  console.log(`Starting two emulated partitions: source ${SOURCE_REGION} (aws), destination ${DESTINATION_REGION} (aws-us-gov), IAM enforced in both...`);
  const partitions = await startEmulatedPartitions();
  try {
    const fixture = await ReplicationFixture.create({ logLevel: 'ERROR' });
    const { events } = fixture;
    const log: S3Event[] = [];
    log.push(await events.put('reports/2026/q1.csv', 'region,total\neu,10\n', { ContentType: 'text/csv' }));
    log.push(await events.put('reports/2026/q1.csv', 'region,total\neu,10\nus,12\n', { ContentType: 'text/csv' }));
    log.push(await events.put('images/logo v2+final.png', Buffer.alloc(4096, 7), { ContentType: 'image/png', Tagging: 'team=brand' }));
    const notes = await events.put('notes/draft.txt', 'to be deleted', { ContentType: 'text/plain' });
    log.push(notes);
    log.push(await events.deleteMarker('notes/draft.txt'));
    const data = await events.put('data/données.json', '{"ok":true}', { ContentType: 'application/json' });
    log.push(data);
    log.push(await events.tag('data/données.json', data.detail.object['version-id'] as string, [{ Key: 'classification', Value: 'internal' }]));
    // EventBridge does not keep order: deliver the events shuffled.
    const shuffled = [...log].sort((a, b) => createHash('md5').update(a.id).digest('hex').localeCompare(createHash('md5').update(b.id).digest('hex')));
    const started = Date.now();
    const result = await fixture.replicate(shuffled);
    console.log(`Replicated ${log.length} S3 events delivered out of order in ${Date.now() - started} ms ` +
      `(${result.processed} processed, ${result.failures} failed).\n`);

    const keys = ['reports/2026/q1.csv', 'images/logo v2+final.png', 'notes/draft.txt', 'data/données.json'];
    const rows = [['key', 'source (versions | current)', 'destination (versions | current)', 'match']];
    let mismatches = 0;
    for (const key of keys) {
      const source = await describeKey(fixture.sourceS3, fixture.sourceBucket, key);
      const replica = await describeKey(fixture.adminS3, fixture.destinationBucket, key);
      const match = source.current === replica.current;
      if (!match) mismatches += 1;
      rows.push([key, `${source.versions} | ${source.current}`, `${replica.versions} | ${replica.current}`, match ? 'yes' : 'NO']);
    }
    const widths = rows[0].map((_, column) => Math.max(...rows.map((row) => row[column].length)));
    for (const [index, row] of rows.entries()) {
      console.log(row.map((cell, column) => cell.padEnd(widths[column])).join('  '));
      if (index === 0) console.log(widths.map((width) => '-'.repeat(width)).join('  '));
    }
    console.log('\nThe destination keeps fewer versions where an older event arrived after a newer one: an older');
    console.log('version is never written over a newer replica. Current content, metadata and tags match.');
    if (mismatches > 0) {
      console.error(`\n${mismatches} key(s) differ between source and destination`);
      process.exitCode = 1;
    }
  } finally {
    await partitions.stop();
  }
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
