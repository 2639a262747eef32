/**
 * CloudWatch alarms for what needs a human, each one something to act on:
 * what API callers see (5xx answers, and the handlers' own failures by code:
 * a bug, or an outage that lasts), functions that crash or are throttled,
 * failed or timed-out workflow executions, and schedule firings that landed
 * in the dead-letter queue, ingest objects that kept failing or had lines
 * rejected. All of them notify one encrypted SNS topic.
 */
import { Annotations, Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import type * as apigw from 'aws-cdk-lib/aws-apigatewayv2';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { METRICS_NAMESPACE, SERVICE_NAME } from '../../shared/observability';

export interface AlarmedFunction {
  fn: lambda.IFunction;
  /**
   * Whether Lambda's Errors metric means a crash. Not for a function the
   * workflow invokes: its expected outcomes (NoCollectingBatch, a retried
   * ServiceUnavailable) count as errors there, and the workflow's own alarm
   * says when one really failed.
   */
  errorsMeanCrash: boolean;
}

export interface OperationsAlarmsProps {
  /** Handler functions by logical name (the route names). */
  functions: Record<string, AlarmedFunction>;
  /** The API stage whose 5xx answers callers see. */
  apiStage: apigw.IHttpStage;
  stateMachine: sfn.IStateMachine;
  deadLetterQueue: sqs.IQueue;
  /** Releases made over the API that the stream could not hand to the workflow. */
  apiReleaseDeadLetters: sqs.IQueue;
  /** Ingest messages (objects to import) that kept failing. */
  ingestDeadLetters: sqs.IQueue;
  /**
   * An address subscribed to the alarm topic (it must confirm the subscription).
   * @default - no subscription; synth warns that the alarms reach nobody
   */
  alarmEmail?: string;
}

const PERIOD = Duration.minutes(5);

/**
 * Failures per 5 minutes that make an outage worth a human: a 503 now and then
 * (a throttled burst the client retries) is not, a stream of them is. A bug
 * (internal_error) alarms at once.
 */
export const OUTAGE_THRESHOLD = 5;

/** The handlers' failure metric (shared/observability.ts countFailure) with the dimensions Powertools publishes. */
const requestFailed = (code: string) =>
  new cloudwatch.Metric({
    namespace: METRICS_NAMESPACE,
    metricName: 'RequestFailed',
    dimensionsMap: { service: SERVICE_NAME, code },
    period: PERIOD,
    statistic: 'Sum',
  });

/** A count the handlers publish (shared/observability.ts countMetric), summed per period. */
const serviceMetric = (metricName: string) =>
  new cloudwatch.Metric({ namespace: METRICS_NAMESPACE, metricName, dimensionsMap: { service: SERVICE_NAME }, period: PERIOD, statistic: 'Sum' });

export class OperationsAlarms extends Construct {
  readonly topic: sns.Topic;
  readonly alarms: cloudwatch.Alarm[] = [];

  constructor(scope: Construct, id: string, props: OperationsAlarmsProps) {
    super(scope, id);

    // A customer managed key: CloudWatch can publish to a topic encrypted with it
    // (it cannot use the AWS managed alias/aws/sns key).
    const key = new kms.Key(this, 'TopicKey', {
      description: 'Encrypts the alarm topic',
      enableKeyRotation: true,
      // Only in-flight notifications are encrypted with it: nothing needs it once the topic is gone.
      removalPolicy: RemovalPolicy.DESTROY,
    });
    key.addToResourcePolicy(
      new iam.PolicyStatement({
        principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
        resources: ['*'],
        conditions: { StringEquals: { 'aws:SourceAccount': Stack.of(this).account } },
      }),
    );
    this.topic = new sns.Topic(this, 'Topic', { masterKey: key, enforceSSL: true });
    // The topic policy (written for enforceSSL) replaces SNS's default one, so allow CloudWatch explicitly.
    this.topic.addToResourcePolicy(
      new iam.PolicyStatement({
        principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['sns:Publish'],
        resources: [this.topic.topicArn],
        conditions: { StringEquals: { 'aws:SourceAccount': Stack.of(this).account } },
      }),
    );
    if (props.alarmEmail) this.topic.addSubscription(new subscriptions.EmailSubscription(props.alarmEmail));
    else {
      Annotations.of(this).addWarning(
        'Nobody is subscribed to the alarm topic: deploy with -c alarmEmail=you@example.com, or subscribe to the AlarmTopicArn output (README, "Deploying to AWS").',
      );
    }

    this.alarm('Api5xx', props.apiStage.metricServerError({ period: PERIOD }), 'The API answered 5xx', OUTAGE_THRESHOLD);
    this.alarm('HandlerBugs', requestFailed('internal_error'), 'A handler failed on a bug (internal_error)');
    this.alarm(
      'StoreUnavailable',
      requestFailed('service_unavailable'),
      'Handlers keep answering service_unavailable: DynamoDB throttled or unreachable past the retries',
      OUTAGE_THRESHOLD,
    );
    for (const [name, { fn, errorsMeanCrash }] of Object.entries(props.functions)) {
      if (errorsMeanCrash) this.alarm(`${name}Errors`, fn.metricErrors({ period: PERIOD, statistic: 'Sum' }), `${name} crashed`);
      this.alarm(`${name}Throttles`, fn.metricThrottles({ period: PERIOD, statistic: 'Sum' }), `${name} was throttled`);
    }
    this.alarm(
      'WorkflowFailed',
      props.stateMachine.metricFailed({ period: PERIOD, statistic: 'Sum' }),
      'A release workflow execution failed',
    );
    this.alarm(
      'WorkflowTimedOut',
      props.stateMachine.metricTimedOut({ period: PERIOD, statistic: 'Sum' }),
      'A release workflow execution timed out',
    );
    this.alarm(
      'ScheduleDeadLetters',
      props.deadLetterQueue.metricApproximateNumberOfMessagesVisible({ period: PERIOD, statistic: 'Maximum' }),
      'A scheduled release could not start the workflow and went to the dead-letter queue',
    );
    this.alarm(
      'ApiReleaseDeadLetters',
      props.apiReleaseDeadLetters.metricApproximateNumberOfMessagesVisible({ period: PERIOD, statistic: 'Maximum' }),
      'A release made over the API could not start the workflow that announces it (dead-letter queue)',
    );
    this.alarm(
      'IngestDeadLetters',
      props.ingestDeadLetters.metricApproximateNumberOfMessagesVisible({ period: PERIOD, statistic: 'Maximum' }),
      'An object of the ingest bucket could not be imported after every retry (dead-letter queue): see its report and the function logs',
    );
    this.alarm(
      'IngestRejectedLines',
      serviceMetric('LinesRejected'),
      'An object of the ingest bucket had lines the import rejected: its report under reports/ names each one and why',
    );
  }

  private alarm(id: string, metric: cloudwatch.IMetric, description: string, threshold = 1): void {
    const alarm = new cloudwatch.Alarm(this, id, {
      metric,
      threshold,
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      alarmDescription: description,
    });
    alarm.addAlarmAction(new actions.SnsAction(this.topic));
    this.alarms.push(alarm);
  }
}
