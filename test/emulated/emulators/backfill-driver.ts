import { CreateBucketCommand, GetObjectCommand } from '@aws-sdk/client-s3';
import { CreateQueueCommand, DeleteMessageCommand, ReceiveMessageCommand, SendMessageBatchCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { SQSEvent } from 'aws-lambda';
import { sourceClientConfig } from './partitions';
import { ReplicationFixture } from './replication-fixture';
import { createBackfillHandler } from '../../../src/runtime/backfill/backfill-handler';
import { OutcomeRecord } from '../../../src/runtime/backfill/backfill-runs';
import { createTelemetry } from '../../../src/runtime/contract/telemetry';

/** A Lambda context whose remaining time allows `pages` listing pages, then runs out. */
export function budgetOfPages(pages: number): { getRemainingTimeInMillis(): number } {
  let checks = 0;
  return { getRemainingTimeInMillis: () => (checks++ < pages ? 15 * 60 * 1000 : 1000) };
}

/**
 * The backfill on the emulated source partition, as the construct deploys it: the backfill
 * function's real handler, its driver queue and the report bucket. `drive` plays the SQS trigger
 * of the driver queue and, between steps, the replicator draining the replication queue.
 */
export class BackfillDriver {
  static async create(fixture: ReplicationFixture, sqs?: SQSClient): Promise<BackfillDriver> {
    const driver = new BackfillDriver(fixture, sqs);
    await fixture.sourceS3.send(new CreateBucketCommand({ Bucket: driver.reportBucket }));
    const queue = await fixture.sqs.send(new CreateQueueCommand({ QueueName: `${fixture.id}-backfill` }));
    driver.queueUrl = queue.QueueUrl!;
    // The router's dead-letter queue (standard), where failed backfill steps go and `redrive` reads.
    const routerDeadLetters = await fixture.sqs.send(new CreateQueueCommand({ QueueName: `${fixture.id}-router-dlq` }));
    driver.routerDeadLetterQueueUrl = routerDeadLetters.QueueUrl!;
    return driver;
  }

  readonly reportBucket: string;
  queueUrl = '';
  routerDeadLetterQueueUrl = '';

  private constructor(private readonly fixture: ReplicationFixture, private readonly sqs?: SQSClient) {
    this.reportBucket = `${fixture.id}-reports`;
  }

  /** The backfill handler; `sqs` replaces its SQS client (to inject a crash). */
  handler(sqs = this.sqs) {
    const config = sourceClientConfig(this.fixture.emulators.sourceEndpoint, this.fixture.emulators.sourceAdmin);
    return createBackfillHandler(
      {
        ...this.fixture.settings,
        queueUrl: this.fixture.queueUrl,
        backfillQueueUrl: this.queueUrl,
        backfillMode: 'all-versions',
        reportBucket: this.reportBucket,
        reportPrefix: 'reports/',
        // The replicator's dead-letter queue comes with the fixture's settings.
        routerDeadLetterQueueUrl: this.routerDeadLetterQueueUrl,
      },
      { s3: this.fixture.sourceS3, sqs: sqs ?? new SQSClient(config), dynamodb: this.fixture.dynamodb, secretsManager: this.fixture.secretsManager },
      createTelemetry('backfill', { logLevel: 'ERROR' }),
      // Small pages keep moto's queue short: its SQS slows down with every message it holds.
      { pollDelaySeconds: 0, pageSize: 200, redriveWaitSeconds: 0 },
    );
  }

  /** Starts a run the documented way: invoking the function with `{"mode": ...}`. */
  async start(mode?: string): Promise<string> {
    const started = await this.handler()(mode ? { mode } : {});
    return (started as { runId: string }).runId;
  }

  /**
   * Runs the backfill's queued steps until the run is done: each step with `context` as its Lambda
   * context, followed by the replicator draining what the step enqueued. Returns the steps taken.
   */
  async drive(options: {
    context?: () => { getRemainingTimeInMillis(): number };
    between?: () => Promise<void>;
    maxSteps?: number;
    /** The step (1-based) whose invocation crashes after this many enqueue requests. */
    crash?: { step: number; afterEnqueueRequests: number };
  } = {}) {
    let steps = 0;
    for (;;) {
      const { Messages: [message] = [] } = await this.fixture.sqs.send(new ReceiveMessageCommand({
        QueueUrl: this.queueUrl, MaxNumberOfMessages: 1, VisibilityTimeout: 0, WaitTimeSeconds: 0,
      }));
      if (!message) return steps;
      if (++steps > (options.maxSteps ?? 1000)) throw new Error('the backfill did not finish');
      const event = { Records: [{ messageId: message.MessageId, body: message.Body }] } as unknown as SQSEvent;
      const crashing = options.crash?.step === steps ? crashingSqs(this.fixture, options.crash.afterEnqueueRequests) : undefined;
      let crashed = false;
      try {
        await this.handler(crashing)(event, options.context?.());
      } catch (error) {
        // The invocation died: Lambda does not delete the message, so the step is redelivered.
        if (!crashing) throw error;
        crashed = true;
      }
      if (!crashed) await this.fixture.sqs.send(new DeleteMessageCommand({ QueueUrl: this.queueUrl, ReceiptHandle: message.ReceiptHandle! }));
      await options.between?.();
      await this.fixture.drainConcurrently(4);
    }
  }

  /** The run's report: the per-version lines and the summary. */
  async report(runId: string): Promise<{ lines: OutcomeRecord[]; summary: any }> {
    const read = async (name: string) => {
      const object = await this.fixture.sourceS3.send(new GetObjectCommand({ Bucket: this.reportBucket, Key: `reports/${runId}/${name}` }));
      return object.Body!.transformToString();
    };
    const lines = (await read('objects.jsonl')).split('\n').filter(Boolean).map((line) => JSON.parse(line) as OutcomeRecord);
    return { lines, summary: JSON.parse(await read('summary.json')) };
  }
}

/**
 * An SQS client that dies after `after` SendMessageBatch requests: the crash of an invocation in
 * the middle of a page (a Lambda timeout or out-of-memory kill), a fault no server produces.
 */
function crashingSqs(fixture: ReplicationFixture, after: number): SQSClient {
  const real = new SQSClient(sourceClientConfig(fixture.emulators.sourceEndpoint, fixture.emulators.sourceAdmin));
  let batches = 0;
  const send = real.send.bind(real) as (command: unknown) => Promise<unknown>;
  return new Proxy(real, {
    get(target, property, receiver) {
      if (property !== 'send') return Reflect.get(target, property, receiver);
      return async (command: unknown) => {
        if (command instanceof SendMessageBatchCommand && ++batches > after) throw new Error('simulated crash of the invocation');
        return send(command);
      };
    },
  });
}
