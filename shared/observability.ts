/**
 * One logger and one metrics instance per container. Both are quiet in tests:
 * POWERTOOLS_LOG_LEVEL=SILENT and POWERTOOLS_METRICS_DISABLED=true.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';

export const SERVICE_NAME = 'session-improvement';

export const logger = new Logger({ serviceName: SERVICE_NAME });

export const METRICS_NAMESPACE = 'SessionImprovement';

export const metrics = new Metrics({ namespace: METRICS_NAMESPACE, serviceName: SERVICE_NAME });

export const countMetric = (
  name:
    | 'SessionScheduled'
    | 'SessionAlreadyScheduled'
    | 'BatchReleased'
    | 'SessionsPaged'
    | 'SessionsExported'
    | 'PartsExported'
    | 'SessionsIngested'
    | 'EventsIngested'
    | 'LinesRejected',
  value = 1,
) => metrics.addMetric(name, MetricUnit.Count, value);

/**
 * Failures and skips are counted per error code or reason. The dimension goes
 * on the invocation's own metric set (it holds nothing else on those paths),
 * so logMetrics always has something to publish and never warns.
 */
export function countFailure(code: string): void {
  metrics.addDimension('code', code);
  metrics.addMetric('RequestFailed', MetricUnit.Count, 1);
}

export function countSkip(reason: string): void {
  metrics.addDimension('reason', reason);
  metrics.addMetric('SessionSkipped', MetricUnit.Count, 1);
}
