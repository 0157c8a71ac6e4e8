import { Readable } from 'stream';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { BackfillRun, OutcomeRecord } from './backfill-runs';
import { ReplicationScope } from '../contract/replication-scope';

/** What an outcome becomes in the report: a version still "enqueued" after the wait failed. */
export function reportLine(record: OutcomeRecord): OutcomeRecord {
  return record.outcome === 'enqueued'
    ? { ...record, outcome: 'failed', reason: 'no outcome within the wait: see the replication dead-letter queue' }
    : record;
}

/** Counts outcomes as they stream by; the report's summary. */
export class ReportTally {
  private readonly byOutcome: Record<string, number> = {
    'replicated': 0, 'already-present': 0, 'skipped-by-filter': 0, 'skipped': 0, 'failed': 0, 'extra-on-destination': 0,
  };
  private bytes = 0;
  private versions = 0;
  /** Versions still waiting for the replicator's outcome. */
  pending = 0;

  add(record: OutcomeRecord): void {
    // An extra destination object is not a source version.
    if (record.outcome !== 'extra-on-destination') this.versions += 1;
    if (record.outcome === 'enqueued') this.pending += 1;
    const line = reportLine(record);
    this.byOutcome[line.outcome] = (this.byOutcome[line.outcome] ?? 0) + 1;
    if (line.outcome === 'replicated') this.bytes += line.bytes ?? 0;
  }

  summary(run: BackfillRun, scope: ReplicationScope, finishedAt: string) {
    return {
      runId: run.runId,
      mode: run.mode,
      prefixes: scope.prefixes,
      ...(scope.tagFilter ? { tagFilter: scope.tagFilter } : {}),
      startedAt: run.startedAt,
      listedAt: run.listedAt,
      finishedAt,
      versions: this.versions,
      outcomes: this.byOutcome,
      bytesReplicated: this.bytes,
      listRequests: run.counts.listRequests,
      destinationListRequests: run.counts.destinationListRequests ?? 0,
      enqueued: run.counts.enqueued,
    };
  }
}

/**
 * Writes a run's report under `prefix`: `objects.jsonl`, one line per outcome streamed from the
 * table into a multipart upload (memory stays flat whatever the number of versions), then
 * `summary.json`.
 */
export async function writeReport(
  s3: S3Client, bucket: string, prefix: string, outcomes: AsyncIterable<OutcomeRecord>, summary: ReturnType<ReportTally['summary']>,
): Promise<void> {
  const lines = Readable.from((async function* () {
    for await (const record of outcomes) yield `${JSON.stringify(reportLine(record))}\n`;
  })());
  await new Upload({
    client: s3,
    params: { Bucket: bucket, Key: `${prefix}objects.jsonl`, Body: lines, ContentType: 'application/x-ndjson' },
  }).done();
  await s3.send(new PutObjectCommand({
    Bucket: bucket,
    Key: `${prefix}summary.json`,
    Body: JSON.stringify(summary, undefined, 2),
    ContentType: 'application/json',
  }));
}
