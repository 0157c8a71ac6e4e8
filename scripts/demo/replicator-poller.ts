import { DeleteMessageCommand, Message, ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { resourceNaming, SynthesizedFunction } from './cloud-assembly';
import { Delivery } from './deliveries';
import { Deployment } from './emulated-deployment';
import { invoke, jsonLogs } from './lambda-invocation';
import { describeOutcome, SKIPPED_AS_OLDER, versionKey } from './scenario';
import { sourceClientConfig } from '../../test/emulated/emulators/partitions';
import { sqsEventOf } from '../../test/emulated/emulators/sqs-event';
import { Mutex } from '../../test/emulated/emulators/sqs-poller';
import { resolve } from '../../test/emulated/emulators/template-policies';

export interface ReplicatorDeliveries {
  readonly deliveries: Delivery[];
  /** Messages the replicator reported as failed (batch item failures). */
  readonly failures: number;
  /** Messages skipped because a newer version had already been replicated. */
  readonly skippedAsOlder: number;
}

type MessageBody = { key: string; versionId: string; kind: string };

/** How the poller runs; the defaults are the demo's. */
export interface PollerOptions {
  /**
   * Batches in flight at once, each its own invocation, as concurrent Lambda instances of one event
   * source mapping. Receives are serialised (the poller's): moto answers concurrent receives
   * without a lock, so two could take the same message group, which SQS never hands out twice.
   * @default 1
   */
  readonly concurrency?: number;
  /** Runs one invocation of the replicator. @default in this process (`invoke`) */
  readonly invoke?: (event: SQSEvent) => Promise<{ result: unknown; lines: string[] }>;
  /** Receives at most. @default 20 */
  readonly maxBatches?: number;
  /**
   * Asked after an empty receive: whether the run is over. @default two empty receives with no
   * failure so far, else waiting a second for failed messages to come back (up to `maxBatches`)
   */
  readonly finished?: () => Promise<boolean>;
}

/**
 * Plays the Lambda SQS poller (the event source mapping, with the replicator's role): batches of
 * up to 10, partial batch responses, until the queue is empty. `labels` names the versions.
 */
export async function deliverToReplicator(
  replicatorFn: SynthesizedFunction, deployment: Deployment, labels: Map<string, string>, started: number, options: PollerOptions = {},
): Promise<ReplicatorDeliveries> {
  const mapping = resourceNaming(replicatorFn, 'AWS::Lambda::EventSourceMapping', 'FunctionName');
  const { environment } = deployment.replicator;
  const sqs = new SQSClient(sourceClientConfig(environment.AWS_ENDPOINT_URL, {
    accessKeyId: environment.AWS_ACCESS_KEY_ID, secretAccessKey: environment.AWS_SECRET_ACCESS_KEY,
  }));
  const queueUrl = environment.REPLICATION_QUEUE_URL;
  const eventSourceArn = resolve(mapping.Properties.EventSourceArn, deployment.context) as string;
  const run = options.invoke ?? ((event: SQSEvent) => invoke(deployment.replicator, event));
  const maxBatches = options.maxBatches ?? 20;
  const receiving = new Mutex();
  const deliveries: Delivery[] = [];
  let failures = 0;
  let batches = 0;
  const poll = async () => {
    let idle = 0;
    const finished = options.finished ?? (async () => {
      idle += failures > 0 ? 0 : 1;
      if (failures > 0) await new Promise((done) => setTimeout(done, 1000));
      return idle >= 2;
    });
    while (batches < maxBatches) {
      const { Messages: messages = [] } = await receiving.run(() => sqs.send(new ReceiveMessageCommand({
        QueueUrl: queueUrl, MaxNumberOfMessages: mapping.Properties.BatchSize ?? 10, MessageSystemAttributeNames: ['All'],
      })));
      batches += 1;
      if (messages.length === 0) {
        if (await finished()) return;
        continue;
      }
      const batch = batches;
      const { result, lines } = await run(sqsEventOf(messages, eventSourceArn));
      const logs = jsonLogs(lines);
      deliveries.push(...messages.map((message) => deliveryOf(message, logs, batch, labels, started)));
      const failed = new Set((result as SQSBatchResponse).batchItemFailures.map((failure) => failure.itemIdentifier));
      failures += failed.size;
      for (const log of logs.filter((entry) => entry.level === 'ERROR')) console.error(`  replicator: ${log.message} ${JSON.stringify(log.error ?? '')}`);
      // One DeleteMessage per message: moto authorizes DeleteMessageBatch as its own action, which the
      // synthesized policy (rightly, for AWS) does not name.
      for (const message of messages.filter((m) => !failed.has(m.MessageId!))) {
        await sqs.send(new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: message.ReceiptHandle! }));
      }
    }
  };
  await Promise.all(Array.from({ length: options.concurrency ?? 1 }, poll));
  sqs.destroy();
  const skippedAsOlder = deliveries.filter((delivery) => delivery.outcome === describeOutcome(SKIPPED_AS_OLDER)).length;
  return { deliveries, failures, skippedAsOlder };
}

/** The message's delivery, with the outcome the replicator logged for it ("replication event processed"). */
function deliveryOf(message: Message, logs: Array<Record<string, any>>, batch: number, labels: Map<string, string>, started: number): Delivery {
  const body = JSON.parse(message.Body!) as MessageBody;
  const log = logs.find((entry) => entry.message === 'replication event processed'
    && entry.key === body.key && entry.versionId === body.versionId && entry.kind === body.kind);
  const outcome = log?.outcome as { action: string; reason?: string } | undefined;
  const code = outcome ? (outcome.action === 'skip' ? `skip:${outcome.reason}` : outcome.action) : undefined;
  return {
    at: log ? Date.parse(log.timestamp) - started : undefined,
    target: `replicator (batch ${batch})`,
    event: body.kind,
    key: body.key,
    version: labels.get(versionKey(body.key, body.versionId, body.kind === 'ObjectTagsChanged')) ?? body.versionId,
    outcome: describeOutcome(code),
  };
}
