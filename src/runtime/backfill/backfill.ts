import { createHash, randomUUID } from 'crypto';
import { createInterface } from 'readline';
import { Readable } from 'stream';
import { createGunzip } from 'zlib';
import { GetObjectCommand, ListObjectVersionsCommand, S3Client } from '@aws-sdk/client-s3';
import { SendMessageBatchCommand, SQSClient } from '@aws-sdk/client-sqs';
import { BACKFILL_MODES, BackfillMode, groupPageByKey, KeyListing, ListedEntry, planKey, shouldReadOutcomes } from './backfill-plan';
import { ReportTally, writeReport } from './backfill-report';
import { BackfillCounts, BackfillRun, BackfillRuns, InventoryPart, NO_COUNTS, OUTCOME_SHARDS, OutcomeRecord, versionKey } from './backfill-runs';
import { listDestinationRange, probeDestinationListing } from './destination-listing';
import { InventoryManifest, inventoryEntry, parseManifest, parseS3Location, splitChunk } from './inventory';
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
  /** Keys (versions) per listing page: S3's maximum by default (and inventory lines per chunk). */
  readonly pageSize?: number;
  /** The queue of backfill steps: an inventory run queues one step per file there. */
  readonly backfillQueueUrl?: string;
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

  /** Starts a run; validates the mode (and an inventory run's manifest). */
  async start(request: { mode?: unknown; runId?: unknown; manifest?: unknown }, defaultMode: BackfillMode): Promise<BackfillRun> {
    const mode = request.mode ?? defaultMode;
    if (!BACKFILL_MODES.includes(mode as BackfillMode)) {
      throw new InvalidMessageError(`backfill mode ${JSON.stringify(mode)} is not one of ${BACKFILL_MODES.join(', ')}`);
    }
    const runId = typeof request.runId === 'string' && /^[\w.-]{1,64}$/.test(request.runId)
      ? request.runId
      : `${new Date(this.now()).toISOString().replace(/[:.]/g, '-')}-${randomUUID().slice(0, 8)}`;
    // Reconcile lists the destination: say now, to the caller, if it cannot.
    if (mode === 'reconcile') await this.destination().clients.run((s3) => probeDestinationListing(s3, this.destination().bucket, this.settings.scope));
    // An inventory run: its manifest must be readable and an inventory of all versions of this bucket, now.
    let inventory: BackfillRun['inventory'];
    if (mode === 'inventory') {
      const location = parseS3Location(request.manifest);
      const manifest = await this.readManifest(`s3://${location.bucket}/${location.key}`);
      inventory = { manifest: `s3://${location.bucket}/${location.key}`, files: manifest.files.length };
    }
    const run: BackfillRun = {
      ...(inventory ? { inventory } : {}),
      runId,
      mode: mode as BackfillMode,
      status: 'listing',
      counts: NO_COUNTS,
      startedAt: new Date(this.now()).toISOString(),
      revision: 0,
      outcomeShards: OUTCOME_SHARDS,
    };
    await this.runs.create(run);
    return run;
  }

  /**
   * Does as much of the run as the remaining time allows: of one inventory file when `part` is
   * given, else of the run (an inventory run's coordination: queuing its files' steps, then
   * waiting for them and for the replicator).
   */
  async step(runId: string, remaining: RemainingTime, part?: number): Promise<StepReport> {
    const start = await this.runs.get(runId);
    if (!start) throw new InvalidMessageError(`backfill run ${runId} does not exist`);
    if (part !== undefined) return this.inventoryStep(start, part, remaining);
    let run = start;
    if (run.inventory && run.status === 'listing') {
      run = await this.coordinateInventory(run);
      if (run.status === 'listing') return { result: 'wait', counts: run.counts, listed: 0, enqueued: 0 };
    }
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

  /** Reads and validates an inventory run's manifest. */
  private async readManifest(manifest: string): Promise<InventoryManifest> {
    const { bucket, key } = parseS3Location(manifest);
    const object = await this.clients.s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    return parseManifest(await object.Body!.transformToString(), this.settings.sourceBucket);
  }

  /** Queues one step per inventory file (once), then, when every file is done, moves the run on to waiting. */
  private async coordinateInventory(run: BackfillRun): Promise<BackfillRun> {
    const inventory = run.inventory!;
    if (!inventory.fannedOut) {
      if (!this.settings.backfillQueueUrl) throw new Error('an inventory run needs the backfill queue, which this backfill was not given');
      for (let part = 0; part < inventory.files; part += 10) {
        const parts = Array.from({ length: Math.min(10, inventory.files - part) }, (_, i) => part + i);
        const result = await this.clients.sqs.send(new SendMessageBatchCommand({
          QueueUrl: this.settings.backfillQueueUrl,
          Entries: parts.map((n) => ({ Id: String(n), MessageBody: JSON.stringify({ runId: run.runId, part: n }) })),
        }));
        if (result.Failed && result.Failed.length > 0) throw new Error(`the backfill queue refused ${result.Failed.length} inventory steps`);
      }
      // Queued twice after a crash here: the second step on a file loses its checkpoint and stops.
      run = await this.runs.checkpoint(run, { ...run, inventory: { ...inventory, fannedOut: true } });
    }
    const parts = await this.runs.parts().all(run.runId, inventory.files);
    if (parts.some((part) => part.status !== 'done')) return run;
    const sum = (count: keyof InventoryPart['counts']) => parts.reduce((total, part) => total + part.counts[count], 0);
    return this.runs.checkpoint(run, {
      ...run,
      status: 'waiting',
      listedAt: new Date(this.now()).toISOString(),
      // One read of each file (its MD5 check aside).
      counts: { ...run.counts, listed: sum('listed'), enqueued: sum('enqueued'), alreadyPresent: sum('alreadyPresent'), skippedByFilter: sum('skippedByFilter'), listRequests: inventory.files },
    });
  }

  /**
   * Reads one inventory file from where its last step stopped: its MD5 checked first (a file that
   * differs from the manifest is not read, and the report says so), then its lines a chunk at a
   * time, planned and enqueued as a listing page is, with a checkpoint after each chunk.
   */
  private async inventoryStep(run: BackfillRun, part: number, remaining: RemainingTime): Promise<StepReport> {
    const parts = this.runs.parts();
    let state = await parts.get(run.runId, part);
    const report = (result: StepResult, before: InventoryPart): StepReport => ({
      result, counts: run.counts, listed: state.counts.listed - before.counts.listed, enqueued: state.counts.enqueued - before.counts.enqueued,
    });
    const initial = state;
    if (state.status === 'done' || !run.inventory) return report('done', initial);
    const manifest = await this.readManifest(run.inventory.manifest);
    const file = manifest.files[part];
    if (!file) throw new InvalidMessageError(`inventory run ${run.runId} has no file ${part}`);
    if (!state.verified) {
      const md5 = await md5Of(this.clients.s3, manifest.bucket, file.key);
      if (md5 !== file.md5) {
        state = await parts.complete(run.runId, state, {
          ...state,
          error: `inventory file s3://${manifest.bucket}/${file.key} has MD5 ${md5}, the manifest says ${file.md5}: not read (is the file incomplete or replaced?)`,
        });
        return report('done', initial);
      }
      state = await parts.checkpoint(run.runId, state, { ...state, verified: true });
    }
    const object = await this.clients.s3.send(new GetObjectCommand({ Bucket: manifest.bucket, Key: file.key }));
    const body = object.Body as Readable;
    const lines = createInterface({ input: body.pipe(createGunzip()), crlfDelay: Infinity });
    let line = 0;
    let pending: ListedEntry[] = [];
    try {
      for await (const text of lines) {
        line += 1;
        if (line <= state.offset || text === '') continue;
        pending.push(inventoryEntry(text, manifest.columns));
        if (pending.length < (this.settings.pageSize ?? PAGE_SIZE)) continue;
        const { now, heldBack } = splitChunk(pending, false);
        state = await this.inventoryChunk(run, state, now, line - heldBack.length);
        pending = heldBack;
        if (remaining() <= SAFETY_MARGIN_MS) return report('continue', initial);
      }
    } finally {
      lines.close();
      body.destroy();
    }
    state = await this.inventoryChunk(run, state, pending, line);
    state = await parts.complete(run.runId, state, state);
    return report('done', initial);
  }

  /** Plans, records and enqueues one chunk of an inventory file, then checkpoints the file after its lines. */
  private async inventoryChunk(run: BackfillRun, state: InventoryPart, entries: readonly ListedEntry[], offset: number): Promise<InventoryPart> {
    const { complete } = groupPageByKey(entries.filter((e) => e.kind === 'object'), entries.filter((e) => e.kind === 'deleteMarker'), false);
    const plan = await this.planPage(run, complete, {});
    await this.runs.recordOutcomes(run, [
      ...plan.present.map((entry) => outcome(entry, 'already-present')),
      ...plan.filtered.map((entry) => outcome(entry, 'skipped-by-filter')),
      ...plan.toEnqueue.map(({ entry }) => outcome(entry, 'enqueued')),
    ]);
    // No listing positions: a key's versions may sit in two files, whose steps run side by side,
    // so the replicator orders such versions by the source's listing.
    await this.enqueue(run.runId, plan.toEnqueue, undefined);
    return this.runs.parts().checkpoint(run.runId, state, {
      ...state,
      offset,
      counts: {
        listed: state.counts.listed + plan.listed,
        enqueued: state.counts.enqueued + plan.toEnqueue.length,
        alreadyPresent: state.counts.alreadyPresent + plan.present.length,
        skippedByFilter: state.counts.skippedByFilter + plan.filtered.length,
      },
    });
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

  private async finishWhenReplicated(started: BackfillRun): Promise<{ result: StepResult; outcomes?: Readonly<Record<string, number>> }> {
    let run = started;
    const waitedOut = this.now() - Date.parse(run.listedAt ?? run.startedAt) > this.settings.outcomeWaitMs;
    // A sharded run counts the replicator's outcomes: one read of the counter decides whether to read them.
    if (run.outcomeShards && !waitedOut) {
      const { resolved } = await this.runs.counters(run.runId);
      const check = {
        resolved, enqueued: run.counts.enqueued, lastResolved: run.resolvedAtLastCheck, outcomesReadAt: run.outcomesReadAt, now: this.now(),
      };
      if (!shouldReadOutcomes(check)) {
        if (resolved !== run.resolvedAtLastCheck) await this.runs.checkpoint(run, { ...run, resolvedAtLastCheck: resolved });
        return { result: 'wait' };
      }
      run = resolved === run.resolvedAtLastCheck ? run : await this.runs.checkpoint(run, { ...run, resolvedAtLastCheck: resolved });
    }
    // First pass: counts only, so memory stays flat whatever the number of versions.
    const tally = new ReportTally();
    for await (const record of this.runs.outcomes(run)) tally.add(record);
    if (tally.pending > 0 && !waitedOut) {
      if (run.outcomeShards) await this.runs.checkpoint(run, { ...run, outcomesReadAt: new Date(this.now()).toISOString() });
      return { result: 'wait' };
    }
    const finishedAt = new Date(this.now()).toISOString();
    // An inventory run names its manifest, and the files it could not read (and why).
    const unread = run.inventory ? (await this.runs.parts().all(run.runId, run.inventory.files)).filter((part) => part.error) : [];
    const summary = {
      ...tally.summary(run, this.settings.scope, finishedAt),
      ...(run.inventory ? {
        manifest: run.inventory.manifest,
        inventoryFiles: run.inventory.files,
        unreadFiles: unread.map(({ part, error }) => ({ file: part, error })),
      } : {}),
    };
    await writeReport(this.clients.s3, this.settings.reportBucket, `${this.settings.reportPrefix}${run.runId}/`, this.runs.outcomes(run), summary);
    await this.runs.checkpoint(run, { ...run, status: 'done', finishedAt });
    return { result: 'done', outcomes: summary.outcomes };
  }
}

/** The MD5 (hex) of an object's bytes, streamed. */
async function md5Of(s3: S3Client, bucket: string, key: string): Promise<string> {
  const object = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  const hash = createHash('md5');
  for await (const chunk of object.Body as Readable) hash.update(chunk as Buffer);
  return hash.digest('hex');
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
