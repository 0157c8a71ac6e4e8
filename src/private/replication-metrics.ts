import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import { metricDimensions, MetricName, METRICS_NAMESPACE, metricService, MetricReplication } from '../runtime/contract/metrics';

/** How each published metric is best read by default: its statistic and unit. */
const METRIC_DEFAULTS: Partial<Record<MetricName, { statistic: string; unit: cloudwatch.Unit }>> = {
  // As S3 Replication Time Control reports its ReplicationLatency: the worst in the period.
  ReplicationLatency: { statistic: cloudwatch.Stats.MAXIMUM, unit: cloudwatch.Unit.MILLISECONDS },
  BytesReplicated: { statistic: cloudwatch.Stats.SUM, unit: cloudwatch.Unit.BYTES },
};

/**
 * A metric the handlers publish (EMF) for one replication: the contract's namespace, the name's
 * publishing handler as `service`, and the replication's buckets as dimensions. Counts default to
 * their sum over five minutes. `options` override, as in aws-cdk-lib's own `metricXxx` methods.
 */
export function replicationMetric(name: MetricName, replication: MetricReplication, options: cloudwatch.MetricOptions = {}): cloudwatch.Metric {
  const defaults = METRIC_DEFAULTS[name] ?? { statistic: cloudwatch.Stats.SUM, unit: cloudwatch.Unit.COUNT };
  return new cloudwatch.Metric({
    namespace: METRICS_NAMESPACE,
    metricName: name,
    dimensionsMap: metricDimensions(metricService(name), replication),
    period: Duration.minutes(5),
    ...defaults,
    ...options,
  });
}
