import { replicationLatency } from '../../../../../src/runtime/replication/outcomes/outcome-metrics';
import type { Outcome } from '../../../../../src/runtime/replication/replication-decision';

const eventTime = '2026-11-30T10:00:00Z';
const at = (iso: string) => Date.parse(iso);
const live = { time: eventTime };

describe('replicationLatency', () => {
  test.each<Outcome['action']>(['copy', 'create-delete-marker'])('%s publishes the milliseconds from the event to the commit', (action) => {
    expect(replicationLatency(live, { action }, at('2026-11-30T10:00:02.500Z')))
      .toStrictEqual({ name: 'ReplicationLatency', unit: 'Milliseconds', value: 2500 });
  });

  test('the last continuation of a copy measures from the original event\'s time', () => {
    // A continuation keeps the message's `time`: the latency covers every invocation of the copy.
    const continued = { ...live, continuation: 3 };
    expect(replicationLatency(continued, { action: 'copy' }, at('2026-11-30T10:20:00Z'))?.value).toBe(20 * 60 * 1000);
  });

  test.each<Outcome['action']>([
    'copy-continued', 'skip', 'sync-tags', 'repair-replica', 'delete-destination-version', 'remember-source-deleted', 'forget-version',
  ])('%s publishes none: it makes no new destination version for the event', (action) => {
    expect(replicationLatency(live, { action }, at('2026-11-30T10:00:05Z'))).toBeUndefined();
  });

  test('a backfill\'s message publishes none: its time is the listing\'s, not an S3 event\'s', () => {
    expect(replicationLatency({ ...live, backfillRun: 'run-1' }, { action: 'copy' }, at('2026-11-30T10:00:05Z'))).toBeUndefined();
  });

  test.each(['', 'yesterday', '2026-13-45T99:00:00Z'])('a time that does not parse (%p) publishes none', (time) => {
    expect(replicationLatency({ time }, { action: 'copy' }, at('2026-11-30T10:00:05Z'))).toBeUndefined();
  });

  test('a clock behind the event\'s time reports 0, never a negative latency', () => {
    expect(replicationLatency(live, { action: 'copy' }, at('2026-11-30T09:59:59Z'))?.value).toBe(0);
  });
});
