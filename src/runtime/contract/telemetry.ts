import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { METRICS_NAMESPACE, MetricPoint } from './metrics';

export interface Telemetry {
  readonly logger: Logger;
  readonly metrics: Metrics;
}

/**
 * Structured JSON logs and EMF metrics (Powertools). The log level comes from POWERTOOLS_LOG_LEVEL
 * (default INFO) unless given.
 */
export function createTelemetry(serviceName: string, logLevel?: 'DEBUG' | 'INFO' | 'WARN' | 'ERROR'): Telemetry {
  return {
    logger: new Logger({ serviceName, ...(logLevel ? { logLevel } : {}) }),
    metrics: new Metrics({ namespace: METRICS_NAMESPACE, serviceName }),
  };
}

/** Adds data points by their contract names (published with the invocation's other metrics). */
export function addMetrics(telemetry: Telemetry, ...points: readonly MetricPoint[]): void {
  for (const point of points) telemetry.metrics.addMetric(point.name, point.unit, point.value);
}
