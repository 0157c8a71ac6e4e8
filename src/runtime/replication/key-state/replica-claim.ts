import type { LatestEntry } from '../../engine/key-listing';

/**
 * Exactly one replica per source version. A destination write (PUT, CompleteMultipartUpload, a
 * delete marker) and the version-map write that records it are two systems: a crash, a lost
 * response or a table failure between them leaves a replica nobody recorded. So a writer first
 * claims the key (a lease on its head item naming the version it is about to write); a live claim
 * keeps every other invocation off the key, and a claim left behind (expired, or abandoned by a
 * failed delivery) tells the next one to look at the destination before writing anything: a newest
 * destination version the map does not know is the claimed version's replica, and it is recorded
 * instead of written again. Pure: the table and the destination listing are the replicator's I/O.
 */

/** What a claim holder is about to write: enough to record the replica without the original message. */
export interface ReplicaIntent {
  readonly sourceVersionId: string;
  readonly kind: 'object' | 'deleteMarker';
  /** The source version's size: an unrecorded destination version of another size is not its replica. */
  readonly size?: number;
  readonly sequencer?: string;
  readonly backfill?: { readonly run: string; readonly index: number };
  /** A repair: the destination version it replaces. */
  readonly replacing?: string;
}

export interface KeyClaim {
  /** Random per delivery: only its holder may commit under it. */
  readonly token: string;
  /** When the lease ends (replicator clock, ms); 0 once its holder gave it up after a failure. */
  readonly expiresAt: number;
  /** Wall-clock time of the claim (ms): destination versions older than it were not written under it. */
  readonly claimedAt: number;
  readonly intent: ReplicaIntent;
}

/** Time added to an invocation's remaining time: the lease outlives the invocation that holds it. */
export const CLAIM_MARGIN_MS = 10_000;
/** A lease when the invocation's time is unknown: Lambda's longest timeout. */
export const DEFAULT_LEASE_MS = 15 * 60 * 1000;
/** Clock difference tolerated between the replicator and the destination's LastModified (1 s resolution). */
const CLOCK_TOLERANCE_MS = 2_000;

/**
 * `free`: nobody holds the key. `held`: another delivery may be writing right now: wait (retry).
 * `stale`: its holder is gone (lease over, or given up): what it may have written must be found first.
 */
export function claimStatus(claim: KeyClaim | undefined, now: number): 'free' | 'held' | 'stale' {
  if (!claim) return 'free';
  return claim.expiresAt > now ? 'held' : 'stale';
}

/** When a claim taken now ends: the invocation's end plus a margin. */
export function leaseEnd(now: number, deadline: number | undefined): number {
  return (deadline ?? now + DEFAULT_LEASE_MS) + CLAIM_MARGIN_MS;
}

/**
 * The destination version that a stale claim's holder wrote and never recorded, if any: the key's
 * newest destination entry, when it is not the replica the map holds for the key, is of the claimed
 * kind and size, and is not older than the claim. Only a claim holder writes a key, so nothing else
 * can have put it there.
 */
export function unrecordedReplica(
  claim: KeyClaim, recordedDestinationVersionId: string | undefined, latest: LatestEntry | undefined,
): LatestEntry | undefined {
  if (!latest || latest.versionId === recordedDestinationVersionId) return undefined;
  if (claim.intent.replacing !== undefined && latest.versionId === claim.intent.replacing) return undefined;
  if (latest.isDeleteMarker !== (claim.intent.kind === 'deleteMarker')) return undefined;
  if (claim.intent.kind === 'object' && claim.intent.size !== undefined && latest.size !== claim.intent.size) return undefined;
  if (latest.lastModified && latest.lastModified.getTime() < claim.claimedAt - CLOCK_TOLERANCE_MS) return undefined;
  return latest;
}

/** The claim as stored in the key's head item (one string attribute). */
export function serializeIntent(intent: ReplicaIntent): string {
  return JSON.stringify(intent);
}

export function parseIntent(text: string): ReplicaIntent {
  const value = JSON.parse(text) as ReplicaIntent;
  if (typeof value?.sourceVersionId !== 'string' || (value.kind !== 'object' && value.kind !== 'deleteMarker')) {
    throw new Error(`the version map holds a claim it cannot read: ${text.slice(0, 200)}`);
  }
  return value;
}

/** Another delivery holds the key's claim: the message is retried after it ends. */
export class KeyClaimedError extends Error {
  constructor(key: string, claim: KeyClaim) {
    super(`another delivery is replicating version ${claim.intent.sourceVersionId} of "${key}" (its claim ends at ${new Date(claim.expiresAt).toISOString()}); the message will be retried`);
    this.name = 'KeyClaimedError';
  }
}
