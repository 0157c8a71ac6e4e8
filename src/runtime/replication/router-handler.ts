import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { RouterSettings } from '../contract/replication-environment';
import { InvalidMessageError, messageDeduplicationId, messageGroupId } from '../contract/replication-message';
import { inScope } from '../contract/replication-scope';
import { parseS3EventBridgeEvent } from '../contract/s3-eventbridge-event';
import { Telemetry } from '../contract/telemetry';

/**
 * The router: EventBridge cannot give an SQS FIFO target a per-key message group (and EventBridge
 * Pipes, which can, is not offered in every partition), so this function puts each S3 event on the
 * FIFO queue grouped by object key. A malformed event throws: Lambda retries it and then sends it
 * to the router's dead-letter queue, so nothing is dropped silently.
 */
export function createRouterHandler(settings: RouterSettings, sqs: SQSClient, telemetry: Telemetry) {
  const { logger } = telemetry;
  return async (event: unknown): Promise<{ routed: boolean }> => {
    let message;
    try {
      message = parseS3EventBridgeEvent(event);
      if (message.bucket !== settings.sourceBucket) {
        throw new InvalidMessageError(`event is for bucket "${message.bucket}", this router serves "${settings.sourceBucket}"`);
      }
    } catch (error) {
      logger.error('S3 event rejected', { error: (error as Error).message, eventId: (event as { id?: unknown })?.id });
      throw error;
    }
    // The rule already filters by prefix; this guards against a hand-edited rule.
    if (!inScope(settings.scope, message.key)) return { routed: false };
    await sqs.send(new SendMessageCommand({
      QueueUrl: settings.queueUrl,
      MessageBody: JSON.stringify(message),
      MessageGroupId: messageGroupId(message.bucket, message.key),
      MessageDeduplicationId: messageDeduplicationId(message),
    }));
    logger.info('S3 event routed', { kind: message.kind, key: message.key, versionId: message.versionId });
    return { routed: true };
  };
}
