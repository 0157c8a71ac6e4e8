import { Duration } from 'aws-cdk-lib';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';

/** What every queue of the constructs has: SQS-managed encryption, TLS only, the longest retention. */
const queueDefaults: Pick<sqs.QueueProps, 'encryption' | 'enforceSSL' | 'retentionPeriod'> = {
  encryption: sqs.QueueEncryption.SQS_MANAGED,
  enforceSSL: true,
  retentionPeriod: Duration.days(14),
};

/** A queue of the constructs: `props` on top of the defaults every queue has (see `queueDefaults`). */
export function createQueue(scope: Construct, id: string, props: sqs.QueueProps = {}): sqs.Queue {
  return new sqs.Queue(scope, id, { ...queueDefaults, ...props });
}

/**
 * The replication queue's redrive `maxReceiveCount`: a backstop, ten times the replicator's own
 * `maxReceiveCount` (at most SQS's 1000). The replicator dead-letters a message itself after
 * `maxReceiveCount` attempts; SQS also counts the receives on which a message was handed back
 * unattempted behind an earlier failure of its key, so the backstop must leave room for those and
 * catch only what the replicator never sees (a function that cannot start, say).
 */
export function queueReceiveLimit(maxReceiveCount: number): number {
  return Math.min(1000, maxReceiveCount * 10);
}
