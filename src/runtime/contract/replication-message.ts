import { createHash } from 'crypto';
import { normalizeSequencer } from './sequencer';

/**
 * The message the router puts on the FIFO queue and the replicator takes off it: the facts of one
 * S3 event that replication needs, in one versioned shape, whatever produced it.
 */
export type ReplicationMessage = ObjectCreatedMessage | ObjectDeletedMessage | ObjectTagsChangedMessage;

interface MessageBase {
  /** Shape version, so a later release can read messages an older one queued. */
  readonly v: 1;
  readonly bucket: string;
  readonly key: string;
  readonly versionId: string;
  /** When S3 says the event happened (ISO 8601). */
  readonly time: string;
  /** S3's request id: distinguishes two events of the same version (two tag changes, say). */
  readonly requestId: string;
  /** Set on messages a backfill run enqueued: the replicator records each outcome for the run's report. */
  readonly backfillRun?: string;
  /** The version's position in its run's listing (oldest first); orders one run's versions of a key exactly. */
  readonly backfillIndex?: number;
}

/**
 * Where a version stands in its key's history. Live events carry S3's `sequencer`; a backfill,
 * which reads a listing, carries the version's `lastModified` instead. At least one is present.
 */
interface VersionOrder {
  readonly sequencer?: string;
  readonly lastModified?: string;
  /**
   * Set by the replicator when the key's newest replicated version was deleted for good at the
   * source: that version's id. This version (the source's current one now) is written and becomes
   * the key's newest while that deleted version still is, although it is older, so the destination
   * does not stay without the object the source still has.
   */
  readonly supersedes?: string;
}

export interface ObjectCreatedMessage extends MessageBase, VersionOrder {
  readonly kind: 'ObjectCreated';
  readonly size?: number;
  readonly eTag?: string;
  /** PutObject, POST Object, CopyObject, CompleteMultipartUpload; Backfill. */
  readonly reason: string;
  /**
   * Set by a reconcile run: the destination version the version map records for this source
   * version, which the destination lost or changed. The replicator copies the version again only
   * while that is still its recorded replica and it is still the key's newest, so a repeated
   * message repairs once and never puts an older version over a newer one.
   */
  readonly staleReplica?: string;
  /**
   * Set by the replicator when a large copy needed another invocation: how many times it has
   * continued. The copy resumes from the parts recorded in the table.
   */
  readonly continuation?: number;
}

export const DELETE_MARKER_CREATED = 'Delete Marker Created';
export const PERMANENTLY_DELETED = 'Permanently Deleted';
export const LIFECYCLE_EXPIRATION = 'Lifecycle Expiration';

export interface ObjectDeletedMessage extends MessageBase, VersionOrder {
  readonly kind: 'ObjectDeleted';
  /** DeleteObject or Lifecycle Expiration. */
  readonly reason: string;
  readonly deletionType: typeof DELETE_MARKER_CREATED | typeof PERMANENTLY_DELETED;
}

export interface ObjectTagsChangedMessage extends MessageBase {
  readonly kind: 'ObjectTagsChanged';
}

/** A backfill's place for the message's version (its run and listing position), when a run enqueued it. */
export function backfillPlaceOf(message: ReplicationMessage): { readonly run: string; readonly index: number } | undefined {
  const { backfillRun: run, backfillIndex: index } = message;
  return run !== undefined && index !== undefined ? { run, index } : undefined;
}

/** A message (or event) that cannot be replicated as it is; it ends in a dead-letter queue. */
export class InvalidMessageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InvalidMessageError';
  }
}

/**
 * The FIFO message group of an object: a hash, because S3 keys are up to 1024 bytes of any UTF-8
 * while a MessageGroupId is at most 128 characters of a restricted set.
 */
export function messageGroupId(bucket: string, key: string): string {
  return sha256(`${bucket}\n${key}`);
}

/**
 * The FIFO deduplication id: the same S3 event delivered twice (EventBridge and S3 are
 * at-least-once) gets the same id, and different events never share one.
 */
export function messageDeduplicationId(message: ReplicationMessage): string {
  const sequencer = message.kind === 'ObjectTagsChanged' ? '' : message.sequencer ?? '';
  const parts = [message.kind, message.bucket, message.key, message.versionId, sequencer, message.requestId];
  // A continuation is a new message of the same event: within FIFO's five-minute window too.
  if (message.kind === 'ObjectCreated' && message.continuation !== undefined) parts.push(`continuation ${message.continuation}`);
  return sha256(parts.join('\n'));
}

/** Parses and validates a queue message body; throws InvalidMessageError saying what is wrong. */
export function parseReplicationMessage(body: string): ReplicationMessage {
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch {
    throw new InvalidMessageError('queue message body is not JSON');
  }
  const fields = asObject(value, 'queue message');
  if (fields.v !== 1) throw new InvalidMessageError(`queue message has unsupported shape version ${JSON.stringify(fields.v)}`);
  const base = {
    v: 1 as const,
    bucket: requireString(fields, 'bucket'),
    key: requireString(fields, 'key'),
    versionId: requireString(fields, 'versionId'),
    time: requireString(fields, 'time'),
    requestId: requireString(fields, 'requestId'),
    ...optional<string>(fields, 'backfillRun', isNonEmptyString, 'a non-empty string'),
    ...optional<number>(fields, 'backfillIndex', isWholeNumberFrom(0), 'a whole number from 0'),
  };
  switch (fields.kind) {
    case 'ObjectCreated':
      return {
        ...base,
        kind: 'ObjectCreated',
        ...requireOrder(fields),
        reason: requireString(fields, 'reason'),
        size: optionalNumber(fields, 'size'),
        eTag: optionalString(fields, 'eTag'),
        ...optional<string>(fields, 'staleReplica', isNonEmptyString, 'a non-empty string'),
        ...optional<number>(fields, 'continuation', isWholeNumberFrom(1), 'a whole number from 1'),
      };
    case 'ObjectDeleted':
      return {
        ...base,
        kind: 'ObjectDeleted',
        ...requireOrder(fields),
        reason: requireString(fields, 'reason'),
        deletionType: requireDeletionType(fields.deletionType),
      };
    case 'ObjectTagsChanged':
      return { ...base, kind: 'ObjectTagsChanged' };
    default:
      throw new InvalidMessageError(`queue message has unknown kind ${JSON.stringify(fields.kind)}`);
  }
}

/**
 * An optional field of a queue message: absent is fine, present must be valid. Each one changes what
 * the replicator does (repair, resume, report to a run), so a wrong one is an error, never ignored.
 */
function optional<T>(fields: Record<string, unknown>, name: string, isValid: (value: unknown) => boolean, what: string): { [name: string]: T } {
  const value = fields[name];
  if (value === undefined) return {};
  if (!isValid(value)) throw new InvalidMessageError(`${name} is ${JSON.stringify(value)}; when present it must be ${what}`);
  return { [name]: value as T };
}

const isNonEmptyString = (value: unknown) => typeof value === 'string' && value.length > 0;
const isWholeNumberFrom = (min: number) => (value: unknown) => Number.isInteger(value) && (value as number) >= min;

/** A message's place in its key's history: a sequencer, or (from a backfill) a last-modified time. */
function requireOrder(fields: Record<string, unknown>): VersionOrder {
  return { ...requireSequencerOrTime(fields), ...optional<string>(fields, 'supersedes', isNonEmptyString, 'a non-empty string') };
}

function requireSequencerOrTime(fields: Record<string, unknown>): VersionOrder {
  if (fields.sequencer === undefined && typeof fields.lastModified === 'string' && !Number.isNaN(Date.parse(fields.lastModified))) {
    return { lastModified: fields.lastModified };
  }
  return { sequencer: requireSequencer(fields) };
}

export function requireDeletionType(value: unknown): ObjectDeletedMessage['deletionType'] {
  if (value === DELETE_MARKER_CREATED || value === PERMANENTLY_DELETED) return value;
  throw new InvalidMessageError(
    `deletion type ${JSON.stringify(value)} is neither "${DELETE_MARKER_CREATED}" nor "${PERMANENTLY_DELETED}"`,
  );
}

export function asObject(value: unknown, what: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new InvalidMessageError(`${what} is not a JSON object`);
  }
  return value as Record<string, unknown>;
}

export function requireString(fields: Record<string, unknown>, name: string, where = name): string {
  const value = fields[name];
  if (typeof value !== 'string' || value.length === 0) {
    throw new InvalidMessageError(`${where} is missing or not a non-empty string`);
  }
  return value;
}

export function optionalString(fields: Record<string, unknown>, name: string): string | undefined {
  const value = fields[name];
  return typeof value === 'string' ? value : undefined;
}

export function optionalNumber(fields: Record<string, unknown>, name: string): number | undefined {
  const value = fields[name];
  return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
}

export function requireSequencer(fields: Record<string, unknown>, where = 'sequencer'): string {
  const raw = requireString(fields, 'sequencer', where);
  try {
    return normalizeSequencer(raw);
  } catch (error) {
    throw new InvalidMessageError(`${where}: ${(error as Error).message}`);
  }
}

function sha256(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}
