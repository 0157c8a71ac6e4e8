import { GetObjectTaggingCommand, S3Client } from '@aws-sdk/client-s3';
import { InvalidMessageError } from '../contract/replication-message';
import { hasTagFilter, inScope, matchesTagFilter, ReplicationScope } from '../contract/replication-scope';
import { keyVersionPages } from '../engine/key-listing';
import { FailureRecord, FailureRecords } from '../replication/key-state/failure-records';
import { claimStatus, KeyClaim } from '../replication/key-state/replica-claim';
import { oldestFirst } from '../replication/key-state/version-order';
import { VersionTable } from '../replication/key-state/version-table';
import { KeyHead, VersionRecord } from '../replication/replication-decision';

/** `{"mode": "status", "key": "...", "versionId": "..."}`: the version asked about (none: the key's current one). */
export interface StatusRequest {
  readonly key: string;
  readonly versionId?: string;
}

const WHAT_TO_SEND = 'send {"mode": "status", "key": "<object key>", "versionId": "<version id; optional, default: the key\'s current version>"}';

/** Reads a status request; a bad one throws, saying what to send. */
export function parseStatusRequest(request: Record<string, unknown>): StatusRequest {
  const { key, versionId } = request;
  if (typeof key !== 'string' || key.length === 0) {
    throw new InvalidMessageError(`status needs "key" as a non-empty string (got ${JSON.stringify(key)}): ${WHAT_TO_SEND}`);
  }
  if (versionId !== undefined && (typeof versionId !== 'string' || versionId.length === 0)) {
    throw new InvalidMessageError(`status "versionId", when given, must be a non-empty string (got ${JSON.stringify(versionId)}): ${WHAT_TO_SEND}`);
  }
  return versionId === undefined ? { key } : { key, versionId };
}

/** What the source bucket's version listing says of the version asked about. */
export interface SourceFacts {
  readonly kind: 'object' | 'deleteMarker';
  /** The versions and delete markers of the key that are newer than this one, newest first. */
  readonly newerVersionIds: readonly string[];
  /** Whether the version's tags pass the scope's tag filter; undefined: not tested (no filter, or already replicated). */
  readonly matchesTagFilter?: boolean;
}

/** Everything the answer is decided from: the version map's items and the source's listing. */
export interface StatusFacts {
  readonly key: string;
  /** The version asked about, or the source's current one; undefined: the source has no version of the key. */
  readonly versionId?: string;
  /** Whether the key is in the replication scope (the construct's `prefixes`). */
  readonly inScope: boolean;
  /** The version map's record of the version. */
  readonly record?: VersionRecord;
  /** The key's newest replicated version. */
  readonly head?: KeyHead;
  /** The key's claim, when a delivery holds or held it. */
  readonly claim?: KeyClaim;
  /** The replicator dead-lettered the version's message. */
  readonly failure?: FailureRecord;
  /** Undefined: the source bucket has no such version (never had, or deleted for good). */
  readonly source?: SourceFacts;
  /** The time now (ms), to tell a live claim from an abandoned one. */
  readonly now: number;
}

interface Asked {
  readonly key: string;
  readonly versionId?: string;
}

/** The answer of the `status` mode: one of seven, each with what an operator needs next. */
export type ReplicationStatus =
  | Asked & {
    readonly status: 'replicated';
    readonly kind: 'object' | 'deleteMarker';
    readonly destinationVersionId?: string;
    /** When the replica was recorded (ISO 8601). */
    readonly replicatedAt?: string;
  }
  | Asked & { readonly status: 'source-deleted'; readonly kind: 'object' | 'deleteMarker'; readonly recordedAt?: string; readonly detail: string }
  | Asked & {
    readonly status: 'failed';
    readonly reason: string;
    readonly failedAt: string;
    readonly attempts: number;
    readonly hint: string;
  }
  | Asked & { readonly status: 'pending'; readonly kind: 'object' | 'deleteMarker'; readonly copyingSince?: string; readonly detail: string }
  | Asked & { readonly status: 'superseded'; readonly newerReplicatedVersionId: string; readonly detail: string }
  | Asked & { readonly status: 'outside-scope'; readonly detail: string }
  | Asked & { readonly status: 'not-found'; readonly detail: string };

export const REDRIVE_HINT = 'fix the cause, then invoke the backfill function with {"mode": "redrive"} to replicate it again';

/**
 * Where a source version stands, from the version map and the source's listing. A record in the
 * version map outranks a failure record (a later delivery replicated what an earlier one
 * dead-lettered); a failure outranks what the listing says; a version the source still has is
 * either superseded (a newer version of its key is already replicated, so it is skipped by design:
 * no replica is ever older than one already written) or pending.
 */
export function replicationStatus(facts: StatusFacts): ReplicationStatus {
  const asked: Asked = facts.versionId === undefined ? { key: facts.key } : { key: facts.key, versionId: facts.versionId };
  const { record, failure, source, head, claim } = facts;
  if (record?.state === 'replicated') {
    return { ...asked, status: 'replicated', kind: record.kind, destinationVersionId: record.destinationVersionId, replicatedAt: record.recordedAt };
  }
  if (record?.state === 'deleted') {
    return {
      ...asked,
      status: 'source-deleted',
      kind: record.kind,
      recordedAt: record.recordedAt,
      detail: 'the source version was deleted for good; it is not (or no longer) replicated',
    };
  }
  if (failure) {
    return { ...asked, status: 'failed', reason: failure.reason, failedAt: failure.failedAt, attempts: failure.attempts, hint: REDRIVE_HINT };
  }
  if (!source || facts.versionId === undefined) {
    return { ...asked, status: 'not-found', detail: 'neither the source bucket nor the version map knows this version' };
  }
  if (!facts.inScope) {
    return { ...asked, status: 'outside-scope', detail: 'the key is outside the replicated prefixes: it is never replicated' };
  }
  if (source.matchesTagFilter === false) {
    return {
      ...asked,
      status: 'outside-scope',
      detail: 'the version\'s tags do not include every pair of tagFilter: it is not replicated (tagging it later does not replicate it; a backfill run does)',
    };
  }
  if (head && head.sourceVersionId !== facts.versionId && source.newerVersionIds.includes(head.sourceVersionId)) {
    return {
      ...asked,
      status: 'superseded',
      newerReplicatedVersionId: head.sourceVersionId,
      detail: 'a newer version of the key is already replicated, so this older one is skipped by design (no replica is ever older than one already written)',
    };
  }
  if (claim && claim.intent.sourceVersionId === facts.versionId) {
    const since = new Date(claim.claimedAt).toISOString();
    return claimStatus(claim, facts.now) === 'held'
      ? { ...asked, status: 'pending', kind: source.kind, copyingSince: since, detail: `being copied since ${since}` }
      : { ...asked, status: 'pending', kind: source.kind, detail: `a copy started at ${since} did not finish; the replicator retries it` };
  }
  return { ...asked, status: 'pending', kind: source.kind, detail: 'queued or being copied: the source has this version and no replica is recorded yet' };
}

/** What `lookUpReplicationStatus` reads. */
export interface StatusSources {
  readonly s3: S3Client;
  readonly sourceBucket: string;
  readonly scope: ReplicationScope;
  readonly versions: VersionTable;
  readonly failures: FailureRecords;
  readonly now?: () => number;
}

/**
 * The status of one source version: lists the key's versions at the source (newest first, until
 * the one asked about; without a version id, the key's current one), then reads its record, the
 * key's head and claim, and its failure record.
 */
export async function lookUpReplicationStatus(sources: StatusSources, request: StatusRequest): Promise<ReplicationStatus> {
  const { key } = request;
  const listed = await findAtSource(sources, key, request.versionId);
  const versionId = request.versionId ?? listed?.versionId;
  const [state, failure] = versionId === undefined
    ? [{}, undefined]
    : await Promise.all([sources.versions.load(key, versionId), sources.failures.read(key, versionId)]);
  const record = 'version' in state ? state.version : undefined;
  // A version not replicated yet may be one the tag filter skips: its tags tell (a replica stays whatever its tags).
  const tagsDecide = listed?.facts.kind === 'object' && hasTagFilter(sources.scope) && record?.state !== 'replicated';
  const source = listed && tagsDecide
    ? { ...listed.facts, matchesTagFilter: matchesTagFilter(sources.scope, await readVersionTags(sources, key, listed.versionId)) }
    : listed?.facts;
  return replicationStatus({
    key,
    versionId,
    inScope: inScope(sources.scope, key),
    record,
    head: 'head' in state ? state.head : undefined,
    claim: 'claim' in state ? state.claim : undefined,
    failure,
    source,
    now: (sources.now ?? Date.now)(),
  });
}

async function readVersionTags(sources: StatusSources, key: string, versionId: string) {
  const result = await sources.s3.send(new GetObjectTaggingCommand({ Bucket: sources.sourceBucket, Key: key, VersionId: versionId }));
  return result.TagSet ?? [];
}

/** The version (or, without an id, the key's newest entry) in the source's listing, with the ids newer than it. */
async function findAtSource(sources: StatusSources, key: string, versionId: string | undefined) {
  const newer: string[] = [];
  for await (const page of keyVersionPages(sources.s3, sources.sourceBucket, key)) {
    // A page lists the key's versions and delete markers apart: merged newest first as S3 orders them.
    const listed = (entries: typeof page.versions, kind: 'object' | 'deleteMarker') => entries
      .filter((entry) => entry.VersionId && entry.LastModified)
      .map((entry) => ({ versionId: entry.VersionId!, lastModified: entry.LastModified!, isLatest: entry.IsLatest, kind }));
    const entries = oldestFirst(listed(page.versions, 'object'), listed(page.deleteMarkers, 'deleteMarker')).reverse();
    for (const entry of entries) {
      if (versionId === undefined || entry.versionId === versionId) {
        return { versionId: entry.versionId, facts: { kind: entry.kind, newerVersionIds: [...newer] } };
      }
      newer.push(entry.versionId);
    }
  }
  return undefined;
}
