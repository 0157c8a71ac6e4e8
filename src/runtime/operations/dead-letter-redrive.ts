import {
  ChangeMessageVisibilityBatchCommand,
  DeleteMessageCommand,
  GetQueueAttributesCommand,
  Message,
  ReceiveMessageCommand,
  SendMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { RouterSettings } from '../contract/replication-environment';
import { InvalidMessageError, messageGroupId, parseReplicationMessage } from '../contract/replication-message';
import { FailureRecords } from '../replication/key-state/failure-records';
import { routeS3Event } from '../replication/router-handler';

/** The dead-letter queues `redrive` empties: the replicator's FIFO one and the router's standard one. */
export type RedriveQueue = 'replication' | 'router';
export const REDRIVE_QUEUES: readonly RedriveQueue[] = ['replication', 'router'];

/** `{"mode": "redrive", "queue"?: "replication" | "router"}`: the queues to empty (default both). */
export function parseRedriveRequest(request: Record<string, unknown>): readonly RedriveQueue[] {
  const { queue } = request;
  if (queue === undefined) return REDRIVE_QUEUES;
  if (!REDRIVE_QUEUES.includes(queue as RedriveQueue)) {
    throw new InvalidMessageError(
      `redrive "queue" must be "replication" or "router" (got ${JSON.stringify(queue)}), or left out for both: ` +
      'send {"mode": "redrive"} or {"mode": "redrive", "queue": "replication"}',
    );
  }
  return [queue as RedriveQueue];
}

/**
 * The FIFO deduplication id of a redriven replication message: from the dead-letter message's own
 * id, so it never equals the original's (the router's and the backfill's ids are SHA-256 hex digests,
 * the replicator's continuations too), and a redrive repeated after a crash between the send and the
 * delete sends the same id, which SQS drops within its five-minute window.
 */
export function redriveDeduplicationId(deadLetterMessageId: string): string {
  return `redrive-${deadLetterMessageId}`;
}

/** What a message of the router's dead-letter queue is, and so where it goes back to. */
export type RouterDeadLetter =
  | { readonly kind: 's3-event'; readonly event: Record<string, unknown> }
  | { readonly kind: 'backfill-step'; readonly runId: string }
  | { readonly kind: 'unrecognised'; readonly why: string };

/**
 * Classifies a body of the router's dead-letter queue: an EventBridge event the rule could not
 * deliver and a failed asynchronous invocation of the router both have the S3 event as the body;
 * a backfill step that kept failing has `{"runId": "..."}`. Anything else is left where it is.
 */
export function classifyRouterDeadLetter(body: string | undefined): RouterDeadLetter {
  let value: unknown;
  try {
    value = JSON.parse(body ?? '');
  } catch {
    return { kind: 'unrecognised', why: 'the body is not JSON' };
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return { kind: 'unrecognised', why: 'the body is not a JSON object' };
  const fields = value as Record<string, unknown>;
  const keys = Object.keys(fields);
  if (keys.length === 1 && typeof fields.runId === 'string' && fields.runId.length > 0) return { kind: 'backfill-step', runId: fields.runId };
  if (fields.source === 'aws.s3' && typeof fields.detail === 'object' && fields.detail !== null) return { kind: 's3-event', event: fields };
  return { kind: 'unrecognised', why: 'neither an S3 event nor a backfill step' };
}

export interface RedriveTargets {
  readonly sqs: SQSClient;
  /** The replicator's FIFO dead-letter queue. */
  readonly deadLetterQueueUrl: string;
  /** The router's standard dead-letter queue. */
  readonly routerDeadLetterQueueUrl: string;
  /** Where S3 events are routed to: the replication FIFO queue, the source bucket and the scope. */
  readonly router: RouterSettings;
  /** The queue that drives backfill runs. */
  readonly backfillQueueUrl: string;
  readonly failures: FailureRecords;
  /** Seconds a receive waits for messages before the queue is taken as empty (long polling asks every SQS server). */
  readonly waitTimeSeconds?: number;
}

export interface ReplicationQueueRedrive {
  /** Messages put back on the replication queue. */
  readonly redriven: number;
  /** Messages still in the dead-letter queue (approximate, SQS's count) when the invocation stopped. */
  readonly remaining: number;
}

export interface RouterQueueRedrive {
  /** S3 events routed onto the replication queue again. */
  readonly events: number;
  /** S3 events of keys outside the replication scope: removed, as the router drops them. */
  readonly outOfScope: number;
  /** Backfill steps put back on the backfill queue. */
  readonly backfillSteps: number;
  /** Messages that are neither: left in the queue. */
  readonly unrecognised: number;
  readonly remaining: number;
}

export interface RedriveResult {
  readonly replication?: ReplicationQueueRedrive;
  readonly router?: RouterQueueRedrive;
  /** False when the invocation's time ran low before the queues were empty: invoke again. */
  readonly complete: boolean;
}

/** Time kept back to finish a message and answer. */
const RESERVE_MS = 20_000;
/** How long a received message stays hidden: far longer than one message takes. */
const VISIBILITY_SECONDS = 120;

/**
 * Moves dead letters back where they can succeed, until the queues are empty or the time runs
 * low. Each message is sent first and deleted only then, so a crash in between leaves it in the
 * dead-letter queue: the next redrive sends it again (a duplicate, which replication tolerates, and
 * which SQS drops within five minutes on the FIFO queue). Unrecognised messages are never deleted.
 */
export async function redriveDeadLetters(
  targets: RedriveTargets,
  queues: readonly RedriveQueue[],
  remainingMs: () => number,
  onRedriven: (count: number) => void = () => undefined,
): Promise<RedriveResult> {
  const timeLeft = () => remainingMs() > RESERVE_MS;
  let replication: ReplicationQueueRedrive | undefined;
  let router: RouterQueueRedrive | undefined;
  let complete = true;
  if (queues.includes('replication')) {
    const { redriven, emptied } = await redriveReplicationQueue(targets, timeLeft, onRedriven);
    complete &&= emptied;
    replication = { redriven, remaining: await depth(targets.sqs, targets.deadLetterQueueUrl) };
  }
  if (queues.includes('router')) {
    const { counts, emptied } = await redriveRouterQueue(targets, timeLeft, onRedriven);
    complete &&= emptied;
    router = { ...counts, remaining: await depth(targets.sqs, targets.routerDeadLetterQueueUrl) };
  }
  return { ...(replication ? { replication } : {}), ...(router ? { router } : {}), complete };
}

/**
 * The replicator's FIFO dead-letter queue: each message back on the replication queue in its own
 * message group (the one it had; derived from its body when SQS did not say), then deleted, then its
 * failure record removed unless a newer failure replaced it.
 */
async function redriveReplicationQueue(targets: RedriveTargets, timeLeft: () => boolean, onRedriven: (count: number) => void) {
  let redriven = 0;
  for (;;) {
    if (!timeLeft()) return { redriven, emptied: false };
    const messages = await receive(targets, targets.deadLetterQueueUrl);
    if (messages.length === 0) return { redriven, emptied: true };
    for (const message of messages) {
      const parsed = parseOrUndefined(message.Body);
      const group = message.Attributes?.MessageGroupId ?? (parsed ? messageGroupId(parsed.bucket, parsed.key) : 'unknown-group');
      await targets.sqs.send(new SendMessageCommand({
        QueueUrl: targets.router.queueUrl,
        MessageBody: message.Body ?? '',
        MessageGroupId: group,
        MessageDeduplicationId: redriveDeduplicationId(message.MessageId!),
      }));
      await targets.sqs.send(new DeleteMessageCommand({ QueueUrl: targets.deadLetterQueueUrl, ReceiptHandle: message.ReceiptHandle! }));
      if (parsed) {
        // The replicator records the id of the message it dead-lettered; a message the queue's
        // redrive policy moved keeps its id.
        const failedMessageId = message.MessageAttributes?.SourceMessageId?.StringValue ?? message.MessageId!;
        await targets.failures.clear(parsed.key, parsed.versionId, { messageId: failedMessageId });
      }
      redriven += 1;
      onRedriven(1);
    }
  }
}

function parseOrUndefined(body: string | undefined) {
  try {
    return parseReplicationMessage(body ?? '');
  } catch {
    // A malformed message goes back too (the replicator dead-letters it again at once, saying why).
    return undefined;
  }
}

/**
 * The router's standard dead-letter queue: S3 events through the router's own routing onto the
 * replication queue, backfill steps onto the backfill queue; the rest stays, visible again at the end.
 */
async function redriveRouterQueue(targets: RedriveTargets, timeLeft: () => boolean, onRedriven: (count: number) => void) {
  const counts = { events: 0, outOfScope: 0, backfillSteps: 0, unrecognised: 0 };
  const left: Message[] = [];
  let emptied = false;
  try {
    while (timeLeft()) {
      const messages = await receive(targets, targets.routerDeadLetterQueueUrl);
      if (messages.length === 0) {
        emptied = true;
        break;
      }
      for (const message of messages) {
        const outcome = await putBack(targets, classifyRouterDeadLetter(message.Body));
        counts[outcome] += 1;
        if (outcome === 'unrecognised') {
          left.push(message);
          continue;
        }
        await targets.sqs.send(new DeleteMessageCommand({ QueueUrl: targets.routerDeadLetterQueueUrl, ReceiptHandle: message.ReceiptHandle! }));
        // An out-of-scope event is removed (the router drops those), not moved.
        if (outcome !== 'outOfScope') onRedriven(1);
      }
    }
  } finally {
    // Hidden while this invocation ran (so it did not read them twice); visible again for whoever looks next.
    for (let start = 0; start < left.length; start += 10) {
      await targets.sqs.send(new ChangeMessageVisibilityBatchCommand({
        QueueUrl: targets.routerDeadLetterQueueUrl,
        Entries: left.slice(start, start + 10).map((message, index) => ({
          Id: String(index), ReceiptHandle: message.ReceiptHandle!, VisibilityTimeout: 0,
        })),
      }));
    }
  }
  return { counts, emptied };
}

/** Sends a router dead letter where it goes back to; says which it was ("unrecognised": sent nowhere). */
async function putBack(targets: RedriveTargets, letter: RouterDeadLetter): Promise<keyof Omit<RouterQueueRedrive, 'remaining'>> {
  switch (letter.kind) {
    case 's3-event':
      try {
        return (await routeS3Event(targets.router, targets.sqs, letter.event)).routed ? 'events' : 'outOfScope';
      } catch (error) {
        // Not an event of this bucket, or malformed: the router would reject it again.
        if (error instanceof InvalidMessageError) return 'unrecognised';
        throw error;
      }
    case 'backfill-step':
      await targets.sqs.send(new SendMessageCommand({ QueueUrl: targets.backfillQueueUrl, MessageBody: JSON.stringify({ runId: letter.runId }) }));
      return 'backfillSteps';
    default:
      return 'unrecognised';
  }
}

async function receive(targets: RedriveTargets, queueUrl: string): Promise<Message[]> {
  const { Messages: messages = [] } = await targets.sqs.send(new ReceiveMessageCommand({
    QueueUrl: queueUrl,
    MaxNumberOfMessages: 10,
    VisibilityTimeout: VISIBILITY_SECONDS,
    WaitTimeSeconds: targets.waitTimeSeconds ?? 1,
    MessageSystemAttributeNames: ['MessageGroupId'],
    MessageAttributeNames: ['All'],
  }));
  return messages;
}

/** Messages in the queue, visible or in flight (SQS's approximate counts). */
async function depth(sqs: SQSClient, queueUrl: string): Promise<number> {
  const { Attributes: attributes = {} } = await sqs.send(new GetQueueAttributesCommand({
    QueueUrl: queueUrl, AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
  }));
  return Number(attributes.ApproximateNumberOfMessages ?? 0) + Number(attributes.ApproximateNumberOfMessagesNotVisible ?? 0);
}
