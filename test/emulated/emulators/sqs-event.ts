import type { Message } from '@aws-sdk/client-sqs';
import type { SQSEvent } from 'aws-lambda';
import { SOURCE_REGION } from './partitions';

/** Received messages (with their system attributes) in the shape the Lambda SQS poller hands a function. */
export function sqsEventOf(messages: Message[], eventSourceArn: string): SQSEvent {
  return {
    Records: messages.map((message) => ({
      messageId: message.MessageId!,
      receiptHandle: message.ReceiptHandle!,
      body: message.Body!,
      attributes: message.Attributes as unknown as SQSEvent['Records'][number]['attributes'],
      messageAttributes: {},
      md5OfBody: message.MD5OfBody!,
      eventSource: 'aws:sqs',
      eventSourceARN: eventSourceArn,
      awsRegion: SOURCE_REGION,
    })),
  };
}
