import {
  ChangeMessageVisibilityBatchCommand,
  DeleteMessageBatchCommand,
  Message,
  ReceiveMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { sqsEventOf } from './sqs-event';

/**
 * The Lambda SQS poller as the replication fixture plays it: receive a batch, invoke the replicator,
 * delete what succeeded, make the reported failures visible again, and stand in for the queue's
 * redrive policy after too many failed rounds.
 */

export interface DrainResult {
  processed: number;
  failures: number;
  /** Message bodies that ended in the dead-letter queue (sent there by the replicator, or by `drain` playing the redrive policy). */
  deadLettered?: string[];
}

export type ReplicatorHandler = (event: SQSEvent, context?: Context) => Promise<SQSBatchResponse>;

/** A batch as the poller receives it: the replicator's event and the messages behind it. */
export interface ReceivedBatch {
  event: SQSEvent;
  messages: Message[];
}

/** The queue a poller reads: its client and URL. */
export interface PolledQueue {
  readonly sqs: SQSClient;
  readonly queueUrl: string;
}

/** Each replicator invocation's time and the clock it is judged by (the fixture's `invocation` option). */
export interface InvocationClock {
  readonly timeMs: number;
  readonly now: () => number;
}

/** One caller at a time. */
export class Mutex {
  private tail: Promise<unknown> = Promise.resolve();

  run<T>(work: () => Promise<T>): Promise<T> {
    const result = this.tail.then(work);
    this.tail = result.catch(() => undefined);
    return result;
  }
}

/**
 * Receives up to 10 messages as the Lambda SQS poller does, with their system attributes, and
 * shapes them as the replicator's event. `visibilityTimeout` unset: the queue's own.
 */
export async function receiveBatch(queue: PolledQueue, queueArn: string, receiving: Mutex, visibilityTimeout?: number): Promise<ReceivedBatch> {
  // moto's server answers concurrent receives without a lock, so two could take the same message
  // group; SQS's receive is atomic, and serialising the receives (not the processing) restores that.
  const received = await receiving.run(() => queue.sqs.send(new ReceiveMessageCommand({
    QueueUrl: queue.queueUrl,
    MaxNumberOfMessages: 10,
    MessageSystemAttributeNames: ['All'],
    VisibilityTimeout: visibilityTimeout,
  })));
  const messages = received.Messages ?? [];
  return { event: sqsEventOf(messages, queueArn), messages };
}

/** Takes (receives and deletes) what a dead-letter queue holds; returns the bodies. */
export async function takeDeadLetters(sqs: SQSClient, deadLetterQueueUrl: string): Promise<string[]> {
  const bodies: string[] = [];
  for (;;) {
    const { Messages: messages = [] } = await sqs.send(new ReceiveMessageCommand({
      QueueUrl: deadLetterQueueUrl, MaxNumberOfMessages: 10, VisibilityTimeout: 30,
    }));
    if (messages.length === 0) return bodies;
    bodies.push(...messages.map((message) => message.Body!));
    await deleteMessages({ sqs, queueUrl: deadLetterQueueUrl }, messages);
  }
}

/**
 * Receives (through `receive`) and hands batches to `handler` until the queue is empty or
 * `maxReceives` rounds of failures have passed; then the failed messages are deleted and returned
 * as dead-lettered, as the redrive policy would move them.
 */
export async function drainQueue(
  queue: PolledQueue,
  maxReceives: number,
  handler: ReplicatorHandler,
  receive: (visibilityTimeout: number) => Promise<ReceivedBatch>,
  context: () => Context | undefined,
): Promise<DrainResult> {
  const result: DrainResult = { processed: 0, failures: 0 };
  let failedRounds = 0;
  for (;;) {
    const { event, messages } = await receive(30);
    if (messages.length === 0) return result;
    const response = await handler(event, context());
    const failed = new Set(response.batchItemFailures.map((failure) => failure.itemIdentifier));
    const succeeded = messages.filter((message) => !failed.has(message.MessageId!));
    result.processed += succeeded.length;
    if (succeeded.length > 0) await deleteMessages(queue, succeeded);
    if (failed.size > 0) {
      result.failures += failed.size;
      failedRounds += 1;
      const retry = messages.filter((message) => failed.has(message.MessageId!));
      if (retry.length === 0) throw new Error(`reported failures ${[...failed].join(', ')} match no received message (${messages.map((m) => m.MessageId).join(', ')})`);
      if (failedRounds >= maxReceives) {
        // What the redrive policy would move to the dead-letter queue.
        result.deadLettered = retry.map((message) => message.Body!);
        await deleteMessages(queue, retry);
        return result;
      }
      await queue.sqs.send(new ChangeMessageVisibilityBatchCommand({
        QueueUrl: queue.queueUrl,
        Entries: retry.map((message, index) => ({ Id: String(index), ReceiptHandle: message.ReceiptHandle!, VisibilityTimeout: 0 })),
      }));
    }
  }
}

/** A Lambda context whose remaining time runs down on the invocation clock, when one is set. */
export function invocationContext(invocation: InvocationClock | undefined): Context | undefined {
  if (!invocation) return undefined;
  const deadline = invocation.now() + invocation.timeMs;
  return { getRemainingTimeInMillis: () => deadline - invocation.now() } as Context;
}

/** The results of several drains added up (dead letters only when some drain had them). */
export function sumDrainResults(results: DrainResult[]): DrainResult {
  return results.reduce((total, result) => ({
    processed: total.processed + result.processed,
    failures: total.failures + result.failures,
    ...(total.deadLettered || result.deadLettered ? { deadLettered: [...total.deadLettered ?? [], ...result.deadLettered ?? []] } : {}),
  }), { processed: 0, failures: 0 } as DrainResult);
}

async function deleteMessages(queue: PolledQueue, messages: Message[]): Promise<void> {
  await queue.sqs.send(new DeleteMessageBatchCommand({
    QueueUrl: queue.queueUrl,
    Entries: messages.map((message, index) => ({ Id: String(index), ReceiptHandle: message.ReceiptHandle! })),
  }));
}
