import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { DIMENSION_NAMES, metricDimensions, METRICS_NAMESPACE, MetricPoint, MetricReplication, MetricService } from './metrics';

export interface Telemetry {
  readonly logger: Logger;
  readonly metrics: Metrics;
}

export interface TelemetryOptions {
  /** The replication the metrics belong to; without it (the router, which publishes none), only `service`. */
  readonly replication?: MetricReplication;
  readonly logLevel?: 'DEBUG' | 'INFO' | 'WARN' | 'ERROR';
}

/**
 * Structured JSON logs and EMF metrics (Powertools), the metrics with the dimensions of
 * `metricDimensions`. The log level comes from POWERTOOLS_LOG_LEVEL (default INFO) unless given.
 */
export function createTelemetry(service: MetricService, options: TelemetryOptions = {}): Telemetry {
  const { logLevel, replication } = options;
  const { [DIMENSION_NAMES.service]: serviceName, ...defaultDimensions } = replication
    ? metricDimensions(service, replication)
    : { [DIMENSION_NAMES.service]: service };
  return {
    logger: new Logger({ serviceName, ...(logLevel ? { logLevel } : {}) }),
    // Powertools adds `service` from serviceName itself.
    metrics: new Metrics({ namespace: METRICS_NAMESPACE, serviceName, defaultDimensions }),
  };
}

/** Adds data points by their contract names (published with the invocation's other metrics). */
export function addMetrics(telemetry: Telemetry, ...points: readonly MetricPoint[]): void {
  for (const point of points) telemetry.metrics.addMetric(point.name, point.unit, point.value);
}
