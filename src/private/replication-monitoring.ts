import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';

/** The dead-letter queues of a `PartitionReplicatedBucket` that its alarm watches. */
export interface DeadLetterQueues {
  /** The FIFO dead-letter queue of the replication queue (failed replications). */
  readonly replication: sqs.IQueue;
  /** The router's standard dead-letter queue (undeliverable events, failed backfill steps). */
  readonly router: sqs.IQueue;
}

/**
 * The alarm `DeadLetterAlarm` in `scope`: in alarm while either dead-letter queue holds a message,
 * with no actions (the construct's user adds theirs).
 */
export function deadLetterAlarm(scope: Construct, queues: DeadLetterQueues): cloudwatch.Alarm {
  const depth = (queue: sqs.IQueue) => queue.metricApproximateNumberOfMessagesVisible({
    period: Duration.minutes(1),
    statistic: cloudwatch.Stats.MAXIMUM,
  });
  return new cloudwatch.Alarm(scope, 'DeadLetterAlarm', {
    alarmDescription: 'Cross-partition replication: a dead-letter queue holds messages (failed replications, undeliverable events or failed backfill steps)',
    // FILL: an idle queue publishes no data points, and a sum with a missing term is missing.
    metric: new cloudwatch.MathExpression({
      expression: 'FILL(fifoDlq, 0) + FILL(routerDlq, 0)',
      usingMetrics: { fifoDlq: depth(queues.replication), routerDlq: depth(queues.router) },
      label: 'Messages in the dead-letter queues',
      period: Duration.minutes(1),
    }),
    threshold: 1,
    comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
    evaluationPeriods: 1,
    treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
  });
}
