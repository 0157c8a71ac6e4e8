import { randomUUID } from 'crypto';
import { ListObjectVersionsCommand, S3Client } from '@aws-sdk/client-s3';
import { SendMessageBatchCommand, SQSClient } from '@aws-sdk/client-sqs';
import { BACKFILL_MODES, BackfillMode, groupPageByKey, KeyListing, ListedEntry, planKey } from './backfill-plan';
import { ReportTally, writeReport } from './backfill-report';
import { BackfillCounts, BackfillRun, BackfillRuns, NO_COUNTS, OUTCOME_SHARDS, OutcomeRecord, versionKey } from './backfill-runs';
import { listDestinationRange, probeDestinationListing } from './destination-listing';
import { extrasOnDestination, reconcileVersion } from './reconcile';
import { InvalidMessageError, messageDeduplicationId, messageGroupId, ReplicationMessage } from '../contract/replication-message';
import { ReplicationScope } from '../contract/replication-scope';
import { DestinationClients } from '../destination/destination-client';

export interface BackfillSettings {
  readonly sourceBucket: string;
  readonly scope: ReplicationScope;
  readonly replicationQueueUrl: string;
  readonly reportBucket: string;
  /** Reports go to `<reportPrefix><run id>/`. */
  readonly reportPrefix: string;
  /** How long to wait for the replicator's outcomes before reporting the rest as failed. */
  readonly outcomeWaitMs: number;
  /** Keys (versions) per listing page: S3's maximum by default. */
  readonly pageSize?: number;
}

export interface BackfillClients {
  readonly s3: S3Client;
  readonly sqs: SQSClient;
  /** The destination, for reconcile runs: its clients (credentials from the secret) and bucket. */
  readonly destination?: { readonly clients: DestinationClients; readonly bucket: string };
}

/** A version to enqueue; from a reconcile, with what was found wrong and the replica it replaces. */
interface ToEnqueue {
  readonly entry: ListedEntry;
  readonly drift?: string;
  readonly staleReplica?: string;
}

/** What one page's versions come to, before anything is written. */
interface PagePlan {
  /** Versions listed under the run's mode (whatever becomes of them). */
  readonly listed: number;
  readonly toEnqueue: readonly ToEnqueue[];
  readonly present: readonly ListedEntry[];
  readonly filtered: readonly ListedEntry[];
  readonly extras: readonly OutcomeRecord[];
  readonly destinationListRequests: number;
}

/** The remaining time of the invocation, in milliseconds (Lambda's `context.getRemainingTimeInMillis`). */
export type RemainingTime = () => number;

/** What a step leaves to do: list more now, wait for the replicator, or nothing. */
export type StepResult = 'continue' | 'wait' | 'done';

/** A step's result, with the run's counts after it and what this step added to them. */
export interface StepReport {
  readonly result: StepResult;
  /** When this step finished the run: the report's counts by outcome. */
  readonly outcomes?: Readonly<Record<string, number>>;
  readonly counts: BackfillCounts;
  readonly listed: number;
  readonly enqueued: number;
}

/** Stop listing with this much of the invocation left, so the checkpoint is always written. */
export const SAFETY_MARGIN_MS = 60_000;
const PAGE_SIZE = 1000;

/**
 * The backfill: lists the source bucket and feeds the replication FIFO queue the same messages the
 * router does (so the replicator copies and its ordering guard applies), checkpointing its position
 * after every page in the table, so a fresh invocation (or one after a crash or redeploy) continues
 * where the last stopped. Versions the version map already knows are not enqueued: a second run
 * enqueues nothing. When the listing is done it waits for the replicator's outcomes, then writes
 * the report.
 */
export class Backfill {
  constructor(
    private readonly settings: BackfillSettings,
    private readonly clients: BackfillClients,
    private readonly runs: BackfillRuns,
    private readonly now: () => number = Date.now,
  ) {}

  /** Starts a run; validates the mode. */
  async start(request: { mode?: unknown; runId?: unknown }, defaultMode: BackfillMode): Promise<BackfillRun> {
    const mode = request.mode ?? defaultMode;
    if (!BACKFILL_MODES.includes(mode as BackfillMode)) {
      throw new InvalidMessageError(`backfill mode ${JSON.stringify(mode)} is not one of ${BACKFILL_MODES.join(', ')}`);
    }
    const runId = typeof request.runId === 'string' && /^[\w.-]{1,64}$/.test(request.runId)
      ? request.runId
      : `${new Date(this.now()).toISOString().replace(/[:.]/g, '-')}-${randomUUID().slice(0, 8)}`;
    // Reconcile lists the destination: say now, to the caller, if it cannot.
    if (mode === 'reconcile') await this.destination().clients.run((s3) => probeDestinationListing(s3, this.destination().bucket, this.settings.scope));
    const run: BackfillRun = {
      runId, mode: mode as BackfillMode, status: 'listing', counts: NO_COUNTS, startedAt: new Date(this.now()).toISOString(), revision: 0, outcomeShards: OUTCOME_SHARDS,
    };
    await this.runs.create(run);
    return run;
  }

  /** Does as much of the run as the remaining time allows. */
  async step(runId: string, remaining: RemainingTime): Promise<StepReport> {
    const start = await this.runs.get(runId);
    if (!start) throw new InvalidMessageError(`backfill run ${runId} does not exist`);
    let run = start;
    while (run.status === 'listing' && remaining() > SAFETY_MARGIN_MS) {
      run = await this.listPage(run);
    }
    const { result, outcomes } = run.status === 'listing' ? { result: 'continue' as const }
      : run.status === 'done' ? { result: 'done' as const } : await this.finishWhenReplicated(run);
    return {
      result,
      outcomes,
      counts: run.counts,
      listed: run.counts.listed - start.counts.listed,
      enqueued: run.counts.enqueued - start.counts.enqueued,
    };
  }

  private async listPage(run: BackfillRun): Promise<BackfillRun> {
    const page = await this.clients.s3.send(new ListObjectVersionsCommand({
      Bucket: this.settings.sourceBucket,
      KeyMarker: run.keyMarker,
      VersionIdMarker: run.versionIdMarker,
      MaxKeys: this.settings.pageSize ?? PAGE_SIZE,
    }));
    const truncated = page.IsTruncated === true;
    // S3 starts after the key marker; some S3-compatible stores (moto among them) start at it. The
    // marker's key was handled in full, so its entries are dropped either way.
    const handled = (entry: ListedEntry) => run.versionIdMarker === undefined && entry.key === run.keyMarker;
    const { complete, heldBack } = groupPageByKey(
      (page.Versions ?? []).map((v) => listed(v, 'object')).filter((entry) => !handled(entry)),
      (page.DeleteMarkers ?? []).map((m) => listed(m, 'deleteMarker')).filter((entry) => !handled(entry)),
      truncated,
    );
    // A page with nothing new (only the marker's own key, re-listed by a store that restarts at the
    // marker) must still move the cursor, by S3's own next markers.
    const splitKey = truncated && ((!heldBack && page.NextVersionIdMarker !== undefined) || complete.length === 0);
    // Resume after the last key handled in full; a key with more versions than a page, by version marker.
    const lastKey = complete.length > 0 ? complete[complete.length - 1].key : run.keyMarker;
    const done = !truncated;
    // The destination range this page covers: its keys, through to the end after the last page.
    const plan = await this.planPage(run, complete, { after: run.keyMarker, upTo: done ? undefined : lastKey });

    // Outcomes first: the replicator overwrites "enqueued" with what it did.
    await this.runs.recordOutcomes(run, [
      ...plan.present.map((entry) => outcome(entry, 'already-present')),
      ...plan.filtered.map((entry) => outcome(entry, 'skipped-by-filter')),
      ...plan.toEnqueue.map(({ entry, drift }) => ({ ...outcome(entry, 'enqueued'), drift })),
      ...plan.extras,
    ]);
    // Positions continue across pages; a key split over pages (newest page first) gets none, so the
    // replicator orders it by the source's listing instead.
    await this.enqueue(run.runId, plan.toEnqueue, splitKey ? undefined : run.counts.listed);

    const counts: BackfillCounts = {
      listed: run.counts.listed + plan.listed,
      enqueued: run.counts.enqueued + plan.toEnqueue.length,
      alreadyPresent: run.counts.alreadyPresent + plan.present.length,
      skippedByFilter: run.counts.skippedByFilter + plan.filtered.length,
      listRequests: run.counts.listRequests + 1,
      extraOnDestination: (run.counts.extraOnDestination ?? 0) + plan.extras.length,
      destinationListRequests: (run.counts.destinationListRequests ?? 0) + plan.destinationListRequests,
    };
    return this.runs.checkpoint(run, {
      ...run,
      counts,
      keyMarker: splitKey ? page.NextKeyMarker : lastKey,
      versionIdMarker: splitKey ? page.NextVersionIdMarker : undefined,
      status: done ? 'waiting' : 'listing',
      listedAt: done ? new Date(this.now()).toISOString() : undefined,
    });
  }

  /**
   * Which of the page's versions to enqueue: those the version map does not know or, in a
   * reconcile, those whose replica is missing or differs on the destination (whose listing of the
   * same key range also gives the extra objects).
   */
  private async planPage(run: BackfillRun, complete: readonly KeyListing[], range: { after?: string; upTo?: string }): Promise<PagePlan> {
    const items = complete.flatMap((listing) => planKey(listing, run.mode, this.settings.scope));
    const candidates = items.filter((item) => item.action === 'enqueue').map((item) => item.entry);
    const filtered = items.filter((item) => item.action === 'skip-filter').map((item) => item.entry);
    const records = await this.runs.versionRecords(candidates);
    const recordOf = (entry: ListedEntry) => records.get(versionKey(entry.key, entry.versionId));

    let toEnqueue: ToEnqueue[];
    let extras: OutcomeRecord[] = [];
    let destinationListRequests = 0;
    if (run.mode === 'reconcile') {
      const { objects, requests } = await this.listDestination(range.after, range.upTo);
      const onDestination = new Map(objects.map((object) => [object.key, object]));
      toEnqueue = candidates.flatMap((entry) => {
        const verdict = reconcileVersion(entry, recordOf(entry), onDestination.get(entry.key));
        return verdict.action === 'enqueue' ? [{ entry, drift: verdict.reason, staleReplica: verdict.staleReplica }] : [];
      });
      extras = extrasOnDestination(objects, complete).map(({ key, size, reason }) => ({ key, outcome: 'extra-on-destination', reason, bytes: size }));
      destinationListRequests = requests;
    } else {
      toEnqueue = candidates.filter((entry) => !recordOf(entry)).map((entry) => ({ entry }));
    }
    const enqueued = new Set(toEnqueue.map(({ entry }) => entry));
    const presentBefore = candidates.filter((entry) => !enqueued.has(entry));
    // After a crash a page is listed again: what this run already replicated stays "replicated".
    const replicatedHere = presentBefore.length > 0 ? await this.runs.replicatedInRun(run, presentBefore) : new Set<string>();
    const present = presentBefore.filter((entry) => !replicatedHere.has(versionKey(entry.key, entry.versionId)));
    return { listed: items.length, toEnqueue, present, filtered, extras, destinationListRequests };
  }

  /** The destination's current objects in (`after`, `upTo`] under the prefixes. */
  private async listDestination(after: string | undefined, upTo: string | undefined) {
    const { clients, bucket } = this.destination();
    return clients.run((s3) => listDestinationRange(s3, bucket, { after, upTo, scope: this.settings.scope }));
  }

  private destination() {
    if (!this.clients.destination) throw new Error('reconcile needs the destination bucket and credentials, which this backfill was not given');
    return this.clients.destination;
  }

  private async enqueue(runId: string, entries: readonly ToEnqueue[], firstIndex: number | undefined): Promise<void> {
    const time = new Date(this.now()).toISOString();
    const indexOf = (i: number) => (firstIndex === undefined ? undefined : firstIndex + i);
    const messages = entries.map(({ entry, staleReplica }, i) => toMessage(this.settings.sourceBucket, runId, entry, time, indexOf(i), staleReplica));
    for (let i = 0; i < messages.length; i += 10) {
      const batch = messages.slice(i, i + 10);
      const result = await this.clients.sqs.send(new SendMessageBatchCommand({
        QueueUrl: this.settings.replicationQueueUrl,
        Entries: batch.map((message, index) => ({
          Id: String(index),
          MessageBody: JSON.stringify(message),
          MessageGroupId: messageGroupId(message.bucket, message.key),
          MessageDeduplicationId: messageDeduplicationId(message),
        })),
      }));
      if (result.Failed && result.Failed.length > 0) {
        throw new Error(`the replication queue refused ${result.Failed.length} backfill messages: ${result.Failed[0].Message ?? result.Failed[0].Code}`);
      }
    }
  }

  private async finishWhenReplicated(run: BackfillRun): Promise<{ result: StepResult; outcomes?: Readonly<Record<string, number>> }> {
    const waitedOut = this.now() - Date.parse(run.listedAt ?? run.startedAt) > this.settings.outcomeWaitMs;
    // A sharded run counts the replicator's outcomes: while fewer than it enqueued, one read says so.
    // (More than enqueued can be counted after a crash re-enqueued a page: the outcomes then decide.)
    if (run.outcomeShards && !waitedOut && (await this.runs.counters(run.runId)).resolved < run.counts.enqueued) return { result: 'wait' };
    // First pass: counts only, so memory stays flat whatever the number of versions.
    const tally = new ReportTally();
    for await (const record of this.runs.outcomes(run)) tally.add(record);
    if (tally.pending > 0 && !waitedOut) return { result: 'wait' };
    const finishedAt = new Date(this.now()).toISOString();
    const summary = tally.summary(run, this.settings.scope, finishedAt);
    await writeReport(this.clients.s3, this.settings.reportBucket, `${this.settings.reportPrefix}${run.runId}/`, this.runs.outcomes(run), summary);
    await this.runs.checkpoint(run, { ...run, status: 'done', finishedAt });
    return { result: 'done', outcomes: summary.outcomes };
  }
}

function listed(entry: { Key?: string; VersionId?: string; IsLatest?: boolean; LastModified?: Date; Size?: number; ETag?: string },
  kind: ListedEntry['kind']): ListedEntry {
  return {
    key: entry.Key ?? '',
    versionId: entry.VersionId ?? 'null',
    kind,
    isLatest: entry.IsLatest === true,
    lastModified: entry.LastModified ?? new Date(0),
    size: entry.Size,
    eTag: entry.ETag?.replace(/"/g, ''),
  };
}

function outcome(entry: ListedEntry, result: OutcomeRecord['outcome']): OutcomeRecord {
  return { key: entry.key, versionId: entry.versionId, outcome: result };
}

/** The replication message for a listed version: what the router would have sent, ordered by time. */
export function toMessage(
  bucket: string, runId: string, entry: ListedEntry, time: string, index?: number, staleReplica?: string,
): ReplicationMessage {
  const base = {
    v: 1 as const,
    bucket,
    key: entry.key,
    versionId: entry.versionId,
    time,
    requestId: `backfill-${runId}`,
    backfillRun: runId,
    ...(index === undefined ? {} : { backfillIndex: index }),
    lastModified: entry.lastModified.toISOString(),
    reason: 'Backfill',
  };
  return entry.kind === 'object'
    ? { ...base, kind: 'ObjectCreated', size: entry.size, eTag: entry.eTag, ...(staleReplica ? { staleReplica } : {}) }
    : { ...base, kind: 'ObjectDeleted', deletionType: 'Delete Marker Created' };
}
