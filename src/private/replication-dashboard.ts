import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { MetricName } from '../runtime/contract/metrics';

/** What the dashboard of a `PartitionReplicatedBucket` shows. */
export interface DashboardSources {
  readonly queue: sqs.IQueue;
  readonly deadLetterQueue: sqs.IQueue;
  readonly routerDeadLetterQueue: sqs.IQueue;
  /** The functions, by the name shown on their widgets. */
  readonly functions: Record<string, lambda.IFunction>;
  readonly metric: (name: MetricName, options?: cloudwatch.MetricOptions) => cloudwatch.Metric;
  /** Drawn on the latency and backlog-age graphs. */
  readonly slo: Duration;
}

const PERIOD = Duration.minutes(5);
const WIDTH = 8;

/** Why a version was not replicated, by the metric that counts it. */
const SKIPS_AND_FAILURES: MetricName[] = [
  'ReplicationFailures', 'MessagesDeadLettered', 'CredentialsSecretNotFilled',
  'StaleEventsSkipped', 'SourceVersionGone', 'ArchivedVersionsSkipped', 'VersionsFilteredByTags',
  'CustomerKeyVersionsSkipped', 'ReplicasSkipped', 'DeleteMarkersAlreadyAtDestination', 'EventsSkipped',
];

/**
 * One dashboard: latency percentiles against the SLO, objects and bytes replicated, the backlog and
 * its age, failures and skips by reason, the dead-letter queues, and each function's errors,
 * throttles, duration and concurrency. Rows of three 8-wide graphs.
 */
export function replicationDashboard(scope: Construct, id: string, sources: DashboardSources): cloudwatch.Dashboard {
  const { queue, deadLetterQueue, routerDeadLetterQueue, metric, slo } = sources;
  const sloLine = (value: number): cloudwatch.HorizontalAnnotation => ({ value, label: `SLO ${slo.toHumanString()}`, color: cloudwatch.Color.RED });
  const graph = (title: string, left: cloudwatch.IMetric[], more: Partial<cloudwatch.GraphWidgetProps> = {}) =>
    new cloudwatch.GraphWidget({ title, left, width: WIDTH, height: 6, period: PERIOD, ...more });
  const count = (name: MetricName) => metric(name, { period: PERIOD, label: name });
  const queueStat = { period: Duration.minutes(1), statistic: cloudwatch.Stats.MAXIMUM };

  const dashboard = new cloudwatch.Dashboard(scope, id, { defaultInterval: Duration.hours(3) });
  dashboard.addWidgets(
    graph('Replication latency (ms), S3 event to replica', ['p50', 'p90', 'p99', 'Maximum'].map((statistic) =>
      metric('ReplicationLatency', { period: PERIOD, statistic: statistic === 'Maximum' ? cloudwatch.Stats.MAXIMUM : statistic, label: statistic })),
    { leftAnnotations: [sloLine(slo.toMilliseconds())] }),
    graph('Objects and bytes replicated', ['ObjectsReplicated', 'DeleteMarkersReplicated', 'TagSetsReplicated'].map((name) => count(name as MetricName)),
      { right: [count('BytesReplicated')] }),
    graph('Backlog: messages waiting, in flight, oldest age (s)', [
      queue.metricApproximateNumberOfMessagesVisible({ ...queueStat, label: 'waiting' }),
      queue.metricApproximateNumberOfMessagesNotVisible({ ...queueStat, label: 'in flight or waiting to retry' }),
    ], { right: [queue.metricApproximateAgeOfOldestMessage({ ...queueStat, label: 'oldest waiting (s)' })], rightAnnotations: [sloLine(slo.toSeconds())] }),
  );
  dashboard.addWidgets(
    graph('Failures and skips by reason', SKIPS_AND_FAILURES.map(count)),
    graph('Dead-letter queues: messages', [
      deadLetterQueue.metricApproximateNumberOfMessagesVisible({ ...queueStat, label: 'replication (FIFO)' }),
      routerDeadLetterQueue.metricApproximateNumberOfMessagesVisible({ ...queueStat, label: 'router' }),
    ]),
    graph('Copy continuations and repairs', [count('CopiesContinued'), count('ReplicasRepaired'), count('VersionDeletesReplicated')]),
  );
  for (const [name, fn] of Object.entries(sources.functions)) {
    const stat = (statistic: string, label: string) => ({ period: PERIOD, statistic, label });
    dashboard.addWidgets(
      graph(`${name}: errors and throttles`, [fn.metricErrors(stat(cloudwatch.Stats.SUM, 'errors')), fn.metricThrottles(stat(cloudwatch.Stats.SUM, 'throttles'))]),
      graph(`${name}: duration (ms)`, [fn.metricDuration(stat(cloudwatch.Stats.p(99), 'p99')), fn.metricDuration(stat(cloudwatch.Stats.AVERAGE, 'average'))]),
      graph(`${name}: concurrent executions`, [fn.metric('ConcurrentExecutions', stat(cloudwatch.Stats.MAXIMUM, 'maximum'))]),
    );
  }
  return dashboard;
}
