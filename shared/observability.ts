/**
 * One logger and one metrics instance per container. Both are quiet in tests:
 * POWERTOOLS_LOG_LEVEL=SILENT and POWERTOOLS_METRICS_DISABLED=true.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';

export const SERVICE_NAME = 'session-improvement';

export const logger = new Logger({ serviceName: SERVICE_NAME });

export const metrics = new Metrics({ namespace: 'SessionImprovement', serviceName: SERVICE_NAME });

export const countMetric = (
  name: 'SessionScheduled' | 'SessionAlreadyScheduled' | 'BatchReleased' | 'SessionsPaged',
  value = 1,
) => metrics.addMetric(name, MetricUnit.Count, value);

/** Failed requests are counted per error code (invalid_request, session_not_found, service_unavailable…). */
export function countFailure(code: string): void {
  const single = metrics.singleMetric();
  single.addDimension('code', code);
  single.addMetric('RequestFailed', MetricUnit.Count, 1);
}

/** Skips are counted per reason, so a dashboard can tell payload searches from empty sessions. */
export function countSkip(reason: string): void {
  const single = metrics.singleMetric();
  single.addDimension('reason', reason);
  single.addMetric('SessionSkipped', MetricUnit.Count, 1);
}
