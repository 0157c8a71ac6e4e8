import { PutObjectCommand } from '@aws-sdk/client-s3';
import { captureOutput, emittedMetrics } from '../../../support/capture-output';
import { ReplicationFixture } from '../../emulators/replication-fixture';

// What the replicator tells operators: replication latency, failure records, an unfilled
// credentials secret, and a destination that throttles. Run against the moto partitions.

/** The values of one EMF metric among captured lines, in order. */
function metricValues(lines: string[], name: string): number[] {
  return lines.filter((line) => line.startsWith('{')).map((line) => JSON.parse(line) as Record<string, unknown>)
    .filter((entry) => entry._aws !== undefined && name in entry)
    .flatMap((entry) => ([] as unknown[]).concat(entry[name]).map(Number));
}

describe('ReplicationLatency', () => {
  test('a replicated version publishes the milliseconds from its S3 event to the commit, on the handler\'s clock', async () => {
    // The handler's clock, set by the test: the commit happens 4.321 s after the event.
    let clock = Date.now();
    const fixture = await ReplicationFixture.create({ invocation: { timeMs: 900_000, now: () => clock, reserveMs: 0 } });
    const created = await fixture.events.put('timed.txt', 'x');
    const deleted = await fixture.events.deleteMarker('timed.txt');
    clock = Date.parse(created.time) + 4321;

    const { lines } = await captureOutput(() => fixture.replicate([created]));
    expect(metricValues(lines, 'ReplicationLatency')).toEqual([4321]);

    clock = Date.parse(deleted.time) + 60_000;
    const { lines: deleteLines } = await captureOutput(() => fixture.replicate([deleted]));
    expect(metricValues(deleteLines, 'ReplicationLatency')).toEqual([60_000]);
  });

  test('on the real clock the latency is plausible: not negative, and no longer than the test took', async () => {
    const fixture = await ReplicationFixture.create();
    const created = await fixture.events.put('real-clock.txt', 'x');
    const { lines } = await captureOutput(() => fixture.replicate([created]));

    const [latency, ...others] = metricValues(lines, 'ReplicationLatency');
    expect(others).toEqual([]);
    expect(latency).toBeGreaterThanOrEqual(0);
    expect(latency).toBeLessThanOrEqual(Date.now() - Date.parse(created.time));
    expect(emittedMetrics(lines)).toMatchObject({ ObjectsReplicated: 1 });
  });

  test('a message a backfill enqueued publishes none', async () => {
    const fixture = await ReplicationFixture.create();
    const put = await fixture.sourceS3.send(new PutObjectCommand({ Bucket: fixture.sourceBucket, Key: 'listed.txt', Body: 'old' }));
    await fixture.enqueueBackfillCopy('listed.txt', put.VersionId!, 'run-1', { backfillRun: 'run-1', backfillIndex: 0 });
    const { result, lines } = await captureOutput(() => fixture.drain());

    expect(result).toEqual({ processed: 1, failures: 0 });
    expect(emittedMetrics(lines)).toMatchObject({ ObjectsReplicated: 1 });
    expect(emittedMetrics(lines).ReplicationLatency).toBeUndefined();
  });
});
