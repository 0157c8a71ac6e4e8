import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { RouterSettings } from '../contract/replication-environment';
import { InvalidMessageError, messageDeduplicationId, messageGroupId, ReplicationMessage } from '../contract/replication-message';
import { inScope } from '../contract/replication-scope';
import { parseS3EventBridgeEvent } from '../contract/s3-eventbridge-event';
import { Telemetry } from '../contract/telemetry';

/** What became of one routed event: its replication message, and whether it went on the queue. */
export interface RoutedEvent {
  readonly message: ReplicationMessage;
  /** False: the key is outside the replication scope, so nothing was queued. */
  readonly routed: boolean;
}

/**
 * Routes one S3 EventBridge event: the replication message goes on the FIFO queue in the key's
 * message group, with a deduplication id that makes a second delivery of the same event a no-op.
 * The router runs it for every event; the backfill function's `redrive` mode runs it for the events
 * in the router's dead-letter queue. Throws InvalidMessageError for anything that is not an S3 event
 * of the source bucket.
 */
export async function routeS3Event(settings: RouterSettings, sqs: SQSClient, event: unknown): Promise<RoutedEvent> {
  const message = parseS3EventBridgeEvent(event);
  if (message.bucket !== settings.sourceBucket) {
    throw new InvalidMessageError(`event is for bucket "${message.bucket}", this router serves "${settings.sourceBucket}"`);
  }
  // The rule already filters by prefix; this guards against a hand-edited rule.
  if (!inScope(settings.scope, message.key)) return { message, routed: false };
  await sqs.send(new SendMessageCommand({
    QueueUrl: settings.queueUrl,
    MessageBody: JSON.stringify(message),
    MessageGroupId: messageGroupId(message.bucket, message.key),
    MessageDeduplicationId: messageDeduplicationId(message),
  }));
  return { message, routed: true };
}

/**
 * The router: EventBridge cannot give an SQS FIFO target a per-key message group (and EventBridge
 * Pipes, which can, is not offered in every partition), so this function puts each S3 event on the
 * FIFO queue grouped by object key. A malformed event throws: Lambda retries it and then sends it
 * to the router's dead-letter queue, so nothing is dropped silently.
 */
export function createRouterHandler(settings: RouterSettings, sqs: SQSClient, telemetry: Telemetry) {
  const { logger } = telemetry;
  return async (event: unknown): Promise<{ routed: boolean }> => {
    let result;
    try {
      result = await routeS3Event(settings, sqs, event);
    } catch (error) {
      if (error instanceof InvalidMessageError) {
        logger.error('S3 event rejected', { error: error.message, eventId: (event as { id?: unknown })?.id });
      }
      throw error;
    }
    const { message, routed } = result;
    if (routed) logger.info('S3 event routed', { kind: message.kind, key: message.key, versionId: message.versionId });
    return { routed };
  };
}
