import {
  asObject,
  InvalidMessageError,
  optionalNumber,
  optionalString,
  ReplicationMessage,
  requireDeletionType,
  requireSequencer,
  requireString,
} from './replication-message';

/** The EventBridge detail types of object versions being created and deleted. */
export const OBJECT_DETAIL_TYPES = ['Object Created', 'Object Deleted'] as const;
/** The EventBridge detail types of tag changes. */
export const TAG_DETAIL_TYPES = ['Object Tags Added', 'Object Tags Deleted'] as const;
/** Every detail type the replication understands. */
export const REPLICATED_DETAIL_TYPES = [...OBJECT_DETAIL_TYPES, ...TAG_DETAIL_TYPES] as const;

/**
 * Turns an S3 event as EventBridge delivers it into a replication message.
 *
 * The key is used exactly as the event carries it: unlike S3's classic notifications, EventBridge
 * events are not URL-encoded (AWS's EventBridge examples, and moto, which encodes keys only for the
 * classic SQS/SNS/Lambda notifications). The runtime tests replicate keys with spaces and `+`.
 *
 * Throws InvalidMessageError naming the field that is wrong; the router then fails and the event
 * ends in the router's dead-letter queue instead of being dropped.
 */
export function parseS3EventBridgeEvent(event: unknown): ReplicationMessage {
  const envelope = asObject(event, 'event');
  if (envelope.source !== 'aws.s3') {
    throw new InvalidMessageError(`event source ${JSON.stringify(envelope.source)} is not "aws.s3"`);
  }
  const detailType = requireString(envelope, 'detail-type');
  const detail = asObject(envelope.detail, 'event detail');
  const object = asObject(detail.object, 'detail.object');
  const base = {
    v: 1 as const,
    bucket: requireString(asObject(detail.bucket, 'detail.bucket'), 'name', 'detail.bucket.name'),
    key: requireString(object, 'key', 'detail.object.key'),
    versionId: requireVersionId(object),
    time: requireString(envelope, 'time'),
    requestId: requireString(detail, 'request-id', 'detail.request-id'),
  };
  switch (detailType) {
    case 'Object Created':
      return {
        ...base,
        kind: 'ObjectCreated',
        sequencer: requireSequencer(object, 'detail.object.sequencer'),
        reason: requireString(detail, 'reason', 'detail.reason'),
        size: optionalNumber(object, 'size'),
        eTag: optionalString(object, 'etag'),
      };
    case 'Object Deleted':
      return {
        ...base,
        kind: 'ObjectDeleted',
        sequencer: requireSequencer(object, 'detail.object.sequencer'),
        reason: requireString(detail, 'reason', 'detail.reason'),
        deletionType: requireDeletionType(detail['deletion-type']),
      };
    case 'Object Tags Added':
    case 'Object Tags Deleted':
      return { ...base, kind: 'ObjectTagsChanged' };
    default:
      throw new InvalidMessageError(
        `detail-type "${detailType}" is not replicated (expected one of ${REPLICATED_DETAIL_TYPES.join(', ')})`,
      );
  }
}

function requireVersionId(object: Record<string, unknown>): string {
  const versionId = object['version-id'];
  if (typeof versionId !== 'string' || versionId.length === 0) {
    throw new InvalidMessageError(
      'detail.object.version-id is missing: the source bucket must have versioning enabled so each event names an exact version',
    );
  }
  return versionId;
}
