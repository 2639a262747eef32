/**
 * One CloudWatch dashboard for the service: traffic, errors and p99 latency
 * per route (one function per route), throttles, what the handlers did
 * (sessions scheduled and skipped, batches released, failures by code), and
 * the release workflow's executions.
 */
import { Duration } from 'aws-cdk-lib';
import type * as apigw from 'aws-cdk-lib/aws-apigatewayv2';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { METRICS_NAMESPACE, SERVICE_NAME } from '../../shared/observability';

export interface OperationsDashboardProps {
  /** Handler functions by route name. */
  functions: Record<string, lambda.IFunction>;
  apiStage: apigw.IHttpStage;
  stateMachine: sfn.IStateMachine;
}

const PERIOD = Duration.minutes(5);

/** A metric the handlers publish through Powertools (service is its default dimension). */
const handlerMetric = (metricName: string) =>
  new cloudwatch.Metric({
    namespace: METRICS_NAMESPACE,
    metricName,
    dimensionsMap: { service: SERVICE_NAME },
    statistic: 'Sum',
    period: PERIOD,
  });

/** Every series of a handler metric split by one more dimension (failures by code, skips by reason). */
const handlerMetricBy = (metricName: string, dimension: string, label: string) =>
  new cloudwatch.MathExpression({
    expression: `SEARCH('{${METRICS_NAMESPACE},service,${dimension}} MetricName="${metricName}"', 'Sum', ${PERIOD.toSeconds()})`,
    label,
    period: PERIOD,
  });

export class OperationsDashboard extends Construct {
  readonly dashboard: cloudwatch.Dashboard;

  constructor(scope: Construct, id: string, props: OperationsDashboardProps) {
    super(scope, id);
    const functions = Object.entries(props.functions);
    const perRoute = (title: string, metric: (fn: lambda.IFunction, name: string) => cloudwatch.IMetric) =>
      new cloudwatch.GraphWidget({ title, width: 8, left: functions.map(([name, fn]) => metric(fn, name)) });

    this.dashboard = new cloudwatch.Dashboard(this, 'Dashboard', {
      defaultInterval: Duration.hours(3),
      widgets: [
        [
          new cloudwatch.GraphWidget({
            title: 'API requests and errors',
            width: 12,
            left: [props.apiStage.metricCount({ period: PERIOD, statistic: 'Sum', label: 'requests' })],
            right: [
              props.apiStage.metricClientError({ period: PERIOD, label: '4xx' }),
              props.apiStage.metricServerError({ period: PERIOD, label: '5xx' }),
            ],
          }),
          new cloudwatch.GraphWidget({
            title: 'API latency p99 (ms)',
            width: 12,
            left: [props.apiStage.metricLatency({ period: PERIOD, statistic: 'p99', label: 'p99' })],
          }),
        ],
        [
          perRoute('Requests per route', (fn, name) => fn.metricInvocations({ period: PERIOD, statistic: 'Sum', label: name })),
          perRoute('Crashes per route', (fn, name) => fn.metricErrors({ period: PERIOD, statistic: 'Sum', label: name })),
          perRoute('Duration p99 per route (ms)', (fn, name) => fn.metricDuration({ period: PERIOD, statistic: 'p99', label: name })),
        ],
        [
          perRoute('Lambda throttles', (fn, name) => fn.metricThrottles({ period: PERIOD, statistic: 'Sum', label: name })),
          new cloudwatch.GraphWidget({
            title: 'Handler failures by code',
            width: 8,
            left: [handlerMetricBy('RequestFailed', 'code', 'failed')],
          }),
          new cloudwatch.GraphWidget({
            title: 'Sessions and releases',
            width: 8,
            left: [
              handlerMetric('SessionScheduled').with({ label: 'scheduled' }),
              handlerMetric('SessionAlreadyScheduled').with({ label: 'already scheduled' }),
              handlerMetricBy('SessionSkipped', 'reason', 'skipped'),
            ],
            right: [handlerMetric('BatchReleased').with({ label: 'batches released' })],
          }),
        ],
        [
          new cloudwatch.GraphWidget({
            title: 'Release workflow executions',
            width: 12,
            left: [
              props.stateMachine.metricStarted({ period: PERIOD, label: 'started' }),
              props.stateMachine.metricSucceeded({ period: PERIOD, label: 'succeeded' }),
              props.stateMachine.metricFailed({ period: PERIOD, label: 'failed' }),
              props.stateMachine.metricTimedOut({ period: PERIOD, label: 'timed out' }),
            ],
          }),
        ],
      ],
    });
  }
}
