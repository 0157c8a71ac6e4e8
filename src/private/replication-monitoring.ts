import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { MetricName } from '../runtime/contract/metrics';

/** What the alarms of a `PartitionReplicatedBucket` watch. */
export interface MonitoredReplication {
  /** The replication FIFO queue (the backlog). */
  readonly queue: sqs.IQueue;
  /** The FIFO dead-letter queue of the replication queue (failed replications). */
  readonly deadLetterQueue: sqs.IQueue;
  /** The router's standard dead-letter queue (undeliverable events, failed backfill steps). */
  readonly routerDeadLetterQueue: sqs.IQueue;
  readonly replicator: lambda.IFunction;
  readonly router: lambda.IFunction;
  /** The handlers' metrics of this replication (see `replicationMetric`). */
  readonly metric: (name: MetricName, options?: cloudwatch.MetricOptions) => cloudwatch.Metric;
  /** The replication SLO: how late a replica may be. */
  readonly slo: Duration;
  /** Where every alarm sends its ALARM and OK notifications, if anywhere. */
  readonly alarmTopic?: sns.ITopic;
}

/** The alarms, `deadLetterAlarm` among them. */
export interface ReplicationAlarms {
  readonly deadLetterAlarm: cloudwatch.Alarm;
  readonly alarms: cloudwatch.Alarm[];
}

/** A dead letter this old has four days left before SQS deletes it (14-day retention). */
export const DEAD_LETTER_EXPIRY_WARNING = Duration.days(10);

const ONE_MINUTE = Duration.minutes(1);
const FIVE_MINUTES = Duration.minutes(5);
/** In alarm on any data point of 1 or more. */
const AT_LEAST_ONCE = { threshold: 1, comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD, evaluationPeriods: 1 };

/**
 * The alarms of a replication: the backlog's age and the latency against the SLO, failures, the
 * dead-letter queues (non-empty, new arrivals, about to expire), the unfilled credentials secret
 * and the functions' errors and throttles. With `alarmTopic`, each notifies it of ALARM and OK.
 */
export function replicationAlarms(scope: Construct, monitored: MonitoredReplication): ReplicationAlarms {
  const { queue, deadLetterQueue, routerDeadLetterQueue, replicator, router, metric, slo } = monitored;
  const sloText = slo.toHumanString();
  const dlqs = { fifoDlq: deadLetterQueue, routerDlq: routerDeadLetterQueue };
  const perDlq = (read: (queue: sqs.IQueue) => cloudwatch.IMetric) =>
    Object.fromEntries(Object.entries(dlqs).map(([id, dlq]) => [id, read(dlq)]));
  // FILL: an idle queue publishes no data points, and a sum with a missing term is missing.
  const sumOverDlqs = (label: string, read: (queue: sqs.IQueue) => cloudwatch.IMetric) => new cloudwatch.MathExpression({
    expression: 'FILL(fifoDlq, 0) + FILL(routerDlq, 0)', usingMetrics: perDlq(read), label, period: ONE_MINUTE,
  });
  const alarm = (id: string, description: string, props: Omit<cloudwatch.AlarmProps, 'alarmDescription'>) =>
    new cloudwatch.Alarm(scope, id, {
      alarmDescription: `Cross-partition replication: ${description}`,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      ...props,
    });

  const deadLetterAlarm = alarm('DeadLetterAlarm',
    'a dead-letter queue holds messages (failed replications, undeliverable events or failed backfill steps). ' +
    'Fix the cause (the FailureReason attribute, the replicator\'s logs), then redrive: invoke the backfill function with {"mode": "redrive"}.', {
      metric: sumOverDlqs('Messages in the dead-letter queues',
        (dlq) => dlq.metricApproximateNumberOfMessagesVisible({ period: ONE_MINUTE, statistic: cloudwatch.Stats.MAXIMUM })),
      ...AT_LEAST_ONCE,
    });

  const alarms = [
    alarm('PendingAgeAlarm',
      `the oldest message waiting in the replication queue is older than the replication SLO (${sloText}): replication is behind. ` +
      'If CredentialsSecretNotFilled is published, fill in the credentials secret; otherwise see the replicator\'s throttles, errors and ' +
      'ReplicationFailures on the dashboard.', {
        metric: queue.metricApproximateAgeOfOldestMessage({ period: ONE_MINUTE, statistic: cloudwatch.Stats.MAXIMUM }),
        threshold: slo.toSeconds(),
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 1,
      }),
    alarm('LatencyAlarm',
      `the 99th percentile of ReplicationLatency (S3 event to replica) over 5 minutes is above the replication SLO (${sloText}).`, {
        metric: metric('ReplicationLatency', { period: FIVE_MINUTES, statistic: cloudwatch.Stats.p(99) }),
        threshold: slo.toMilliseconds(),
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 1,
      }),
    alarm('FailureAlarm',
      'replication attempts failed in each of 3 consecutive 5-minute periods (ReplicationFailures); failed messages are retried and, ' +
      'after maxReceiveCount attempts, dead-lettered. See the replicator\'s logs for the errors.', {
        metric: metric('ReplicationFailures', { period: FIVE_MINUTES }),
        ...AT_LEAST_ONCE,
        evaluationPeriods: 3,
        datapointsToAlarm: 3,
      }),
    deadLetterAlarm,
    alarm('NewDeadLettersAlarm',
      'messages were sent to a dead-letter queue in the last minute. It returns to OK after a quiet minute, so it notifies again ' +
      'for every new batch of failures while the queues stay non-empty (DeadLetterAlarm stays in alarm until they are empty).', {
        // NumberOfMessagesSent counts the replicator's dead-lettering and the deliveries EventBridge
        // and Lambda give up on; the rare moves by a redrive policy (backstops) show in DeadLetterAlarm only.
        metric: sumOverDlqs('Messages sent to the dead-letter queues',
          (dlq) => dlq.metricNumberOfMessagesSent({ period: ONE_MINUTE, statistic: cloudwatch.Stats.SUM })),
        ...AT_LEAST_ONCE,
      }),
    alarm('DeadLetterExpiryAlarm',
      `a dead letter is older than ${DEAD_LETTER_EXPIRY_WARNING.toDays()} days; SQS deletes it at 14 days. Redrive it now: invoke the ` +
      'backfill function with {"mode": "redrive"}.', {
        metric: new cloudwatch.MathExpression({
          expression: 'MAX([FILL(fifoDlq, 0), FILL(routerDlq, 0)])',
          usingMetrics: perDlq((dlq) => dlq.metricApproximateAgeOfOldestMessage({ period: FIVE_MINUTES, statistic: cloudwatch.Stats.MAXIMUM })),
          label: 'Age of the oldest dead letter (seconds)',
          period: FIVE_MINUTES,
        }),
        threshold: DEAD_LETTER_EXPIRY_WARNING.toSeconds(),
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 1,
      }),
    alarm('CredentialsSecretAlarm',
      'the credentials secret is still {} (CredentialsSecretNotFilled): nothing is replicated, the messages wait in the queue. ' +
      'Fill the secret with the destination IAM user\'s access key; the waiting messages then replicate by themselves.', {
        metric: metric('CredentialsSecretNotFilled', { period: FIVE_MINUTES }),
        ...AT_LEAST_ONCE,
      }),
    ...functionAlarms(alarm, 'Replicator', replicator, 'the replicator'),
    ...functionAlarms(alarm, 'Router', router, 'the router'),
  ];

  if (monitored.alarmTopic) {
    const action = new actions.SnsAction(monitored.alarmTopic);
    for (const each of alarms) {
      each.addAlarmAction(action);
      each.addOkAction(action);
    }
  }
  return { deadLetterAlarm, alarms };
}

type AlarmFactory = (id: string, description: string, props: Omit<cloudwatch.AlarmProps, 'alarmDescription'>) => cloudwatch.Alarm;

/** A function's errors (crashes, timeouts) and throttles (no concurrency left), each in any 5 minutes. */
function functionAlarms(alarm: AlarmFactory, idPrefix: string, fn: lambda.IFunction, name: string): cloudwatch.Alarm[] {
  return [
    alarm(`${idPrefix}ErrorsAlarm`,
      `${name} failed invocations (a crash, a function timeout or an error outside the per-message handling) in the last 5 minutes.`,
      { metric: fn.metricErrors({ period: FIVE_MINUTES, statistic: cloudwatch.Stats.SUM }), ...AT_LEAST_ONCE }),
    alarm(`${idPrefix}ThrottlesAlarm`,
      `${name} was throttled in the last 5 minutes: the account or region had no concurrency left for it.`,
      { metric: fn.metricThrottles({ period: FIVE_MINUTES, statistic: cloudwatch.Stats.SUM }), ...AT_LEAST_ONCE }),
  ];
}
