/**
 * The whole deployment in one stack: the single table, one function and one
 * HTTP API route per entry of the route table (shared/routes.ts), the export
 * bucket and function, the release workflow with its schedule, and the
 * alarms. Physical names are all generated.
 */
import { CfnOutput, Duration, RemovalPolicy, Stack, Validations, type StackProps } from 'aws-cdk-lib';
import * as apigateway from 'aws-cdk-lib/aws-apigateway';
import * as apigw from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpIamAuthorizer } from 'aws-cdk-lib/aws-apigatewayv2-authorizers';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as events from 'aws-cdk-lib/aws-events';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import * as schedulerTargets from 'aws-cdk-lib/aws-scheduler-targets';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import { checkShardCount, DEFAULT_SHARDS } from '../shared/domain/numbering';
import { KEY_ATTRIBUTE_TYPES, TABLE } from '../shared/data/table';
import { EXPORT_FUNCTION } from '../shared/export/export-function';
import { INGEST_FUNCTION } from '../shared/ingest/ingest-function';
import { ROUTES, type Route } from '../shared/routes';
import { ApiReleaseTrigger } from './constructs/api-release-trigger';
import { HandlerFunction } from './constructs/handler-function';
import { IngestPipeline, LOCKED_DOWN_BUCKET } from './constructs/ingest-pipeline';
import { vendedLogGroupName } from './constructs/log-names';
import { checkScheduleExpression } from './schedule-expression';
import { OperationsAlarms } from './constructs/operations-alarms';
import { OperationsDashboard } from './constructs/operations-dashboard';
import { BATCH_RELEASED, ReleaseWorkflow } from './constructs/release-workflow';

/** Daily at 03:00 UTC, when few sessions are being scheduled. */
export const DEFAULT_SCHEDULE_EXPRESSION = 'cron(0 3 * * ? *)';

/** How long the event bus archive keeps announcements for replay. */
export const ARCHIVE_RETENTION_DAYS = 365;

/** How long the export bucket's access logs (who read which export) are kept. */
export const EXPORT_ACCESS_LOG_RETENTION_DAYS = 365;

/** A multipart upload left behind by an export call that was killed holds storage until aborted. */
export const ABORT_INCOMPLETE_UPLOADS_AFTER_DAYS = 1;

/**
 * Stage-wide throttling of the HTTP API (requests per second, burst), above
 * the design's 10,000 schedules per second plus their pages. The account's
 * own API Gateway quota (10,000 requests/s, burst 5,000, per Region) caps
 * first; raise it in Service Quotas to run at the design load.
 */
export const DEFAULT_API_THROTTLE = { rateLimit: 20_000, burstLimit: 10_000 } as const;

/**
 * One JSON line per request, from HTTP API variables (an HTTP API has no
 * $context.resourcePath and friends of REST APIs, which CDK's default format uses).
 */
export const ACCESS_LOG_FIELDS = {
  requestId: '$context.requestId',
  requestTime: '$context.requestTime',
  routeKey: '$context.routeKey',
  path: '$context.path',
  status: '$context.status',
  protocol: '$context.protocol',
  responseLength: '$context.responseLength',
  responseLatency: '$context.responseLatency',
  integrationStatus: '$context.integrationStatus',
  integrationLatency: '$context.integrationLatency',
  integrationError: '$context.integrationErrorMessage',
  error: '$context.error.message',
  sourceIp: '$context.identity.sourceIp',
  caller: '$context.identity.caller',
  userAgent: '$context.identity.userAgent',
} as const;

export interface SessionImprovementStackProps extends StackProps {
  /**
   * EventBridge Scheduler expression (`rate(...)`, `cron(...)` or `at(...)`) that starts the release workflow.
   * @default DEFAULT_SCHEDULE_EXPRESSION (daily at 03:00 UTC)
   */
  scheduleExpression?: string;
  /**
   * What happens to the table when the stack is deleted; RETAIN also turns on deletion protection.
   * @default RemovalPolicy.RETAIN
   */
  tableRemovalPolicy?: RemovalPolicy;
  /**
   * An e-mail address subscribed to the alarm topic (it must confirm the subscription).
   * @default - no subscription; synth warns
   */
  alarmEmail?: string;
  /**
   * Stage-wide throttling of the HTTP API, for all routes together.
   * @default DEFAULT_API_THROTTLE
   */
  apiThrottle?: { rateLimit: number; burstLimit: number };
  /**
   * How many shards a newly opened batch spreads its sessions over (1 to 64):
   * each shard key takes up to 1,000 first schedules per second. Changing it
   * is safe at any time; a batch never loses shards it had.
   * @default DEFAULT_SHARDS (16)
   */
  shardCount?: number;
}

const ATTRIBUTE_TYPES = { S: dynamodb.AttributeType.STRING, N: dynamodb.AttributeType.NUMBER } as const;
const keyAttribute = (name: keyof typeof KEY_ATTRIBUTE_TYPES): dynamodb.Attribute => ({
  name,
  type: ATTRIBUTE_TYPES[KEY_ATTRIBUTE_TYPES[name]],
});

export class SessionImprovementStack extends Stack {
  readonly table: dynamodb.Table;
  readonly functions: Record<Route['name'], HandlerFunction>;
  readonly exportBucket: s3.Bucket;
  readonly exportFunction: HandlerFunction;
  readonly ingest: IngestPipeline;
  readonly api: apigw.HttpApi;
  readonly workflow: ReleaseWorkflow;

  constructor(scope: Construct, id: string, props: SessionImprovementStackProps = {}) {
    super(scope, id, props);
    const removalPolicy = props.tableRemovalPolicy ?? RemovalPolicy.RETAIN;
    const shardCount = checkShardCount(props.shardCount ?? DEFAULT_SHARDS);

    this.table = new dynamodb.Table(this, 'Table', {
      partitionKey: keyAttribute(TABLE.partitionKey),
      sortKey: keyAttribute(TABLE.sortKey),
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      encryption: dynamodb.TableEncryption.AWS_MANAGED,
      // Carries release records to the pipe that announces releases made over the API.
      stream: dynamodb.StreamViewType.NEW_IMAGE,
      removalPolicy,
      deletionProtection: removalPolicy === RemovalPolicy.RETAIN,
    });
    this.table.addGlobalSecondaryIndex({
      indexName: TABLE.gsi1.indexName,
      partitionKey: keyAttribute(TABLE.gsi1.partitionKey),
      sortKey: keyAttribute(TABLE.gsi1.sortKey),
      projectionType: dynamodb.ProjectionType.ALL,
    });

    const accessLogs = new logs.LogGroup(this, 'ApiAccessLogs', {
      logGroupName: vendedLogGroupName(this, 'ApiAccessLogs', 'apigateway'),
      retention: logs.RetentionDays.ONE_MONTH,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    this.api = new apigw.HttpApi(this, 'Api', {
      description: 'Session improvement: schedule sessions, page batches, release batches',
      // Callers sign with SigV4; a route may only opt out explicitly.
      defaultAuthorizer: new HttpIamAuthorizer(),
      createDefaultStage: false,
    });
    const stage = this.api.addStage('DefaultStage', {
      stageName: '$default',
      autoDeploy: true,
      throttle: props.apiThrottle ?? DEFAULT_API_THROTTLE,
      accessLogSettings: {
        destination: new apigw.LogGroupLogDestination(accessLogs),
        format: apigateway.AccessLogFormat.custom(JSON.stringify(ACCESS_LOG_FIELDS)),
      },
    });

    const functions: Partial<Record<Route['name'], HandlerFunction>> = {};
    for (const route of ROUTES) {
      const handler = new HandlerFunction(this, route.name, {
        entry: route.entry,
        timeoutSeconds: route.timeoutSeconds,
        memoryMiB: route.memoryMiB,
        description: `${route.method} ${route.path}`,
        environment: { SHARD_COUNT: String(shardCount) },
      });
      handler.bindTable(this.table, route.tableAccess);

      this.api.addRoutes({
        path: route.path,
        methods: [apigw.HttpMethod[route.method]],
        integration: new HttpLambdaIntegration(`${route.name}Integration`, handler.function),
      });
      functions[route.name] = handler;
    }
    this.functions = functions as Record<Route['name'], HandlerFunction>;

    const eventBus = new events.EventBus(this, 'ReleaseEvents', {
      description: 'BatchReleased announcements for the training pipeline',
    });
    // A consumer added later can replay every announcement it missed.
    eventBus.archive('ReleaseEventsArchive', {
      description: 'Every BatchReleased announcement, for consumers to replay',
      eventPattern: { source: [BATCH_RELEASED.source] },
      retention: Duration.days(ARCHIVE_RETENTION_DAYS),
    });
    // Who read which export or ingest object: the training data's audit trail.
    const exportAccessLogs = new s3.Bucket(this, 'ExportAccessLogs', {
      encryption: s3.BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      lifecycleRules: [{ expiration: Duration.days(EXPORT_ACCESS_LOG_RETENTION_DAYS) }],
      removalPolicy,
    });
    Validations.of(exportAccessLogs).acknowledge({
      id: 'AwsSolutions-S1',
      reason: 'This bucket receives the export bucket\'s access logs; logging access to it would only log the log delivery.',
    });
    this.exportBucket = new s3.Bucket(this, 'ExportBucket', {
      ...LOCKED_DOWN_BUCKET,
      // No versions: an export is redone from the table at will, and a re-export rewrites the same bytes.
      versioned: false,
      lifecycleRules: [{ abortIncompleteMultipartUploadAfter: Duration.days(ABORT_INCOMPLETE_UPLOADS_AFTER_DAYS) }],
      serverAccessLogsBucket: exportAccessLogs,
      serverAccessLogsPrefix: 'export-bucket/',
      removalPolicy,
    });
    this.exportFunction = new HandlerFunction(this, EXPORT_FUNCTION.name, {
      entry: EXPORT_FUNCTION.entry,
      timeoutSeconds: EXPORT_FUNCTION.timeoutSeconds,
      memoryMiB: EXPORT_FUNCTION.memoryMiB,
      description: EXPORT_FUNCTION.description,
      // It pages released batches as the page handler does: the same shard count.
      environment: { SHARD_COUNT: String(shardCount) },
    });
    this.exportFunction.bindTable(this.table, EXPORT_FUNCTION.tableAccess);
    this.exportFunction.bindBucket(this.exportBucket, EXPORT_FUNCTION.bucketAccess, 'EXPORT_BUCKET');

    this.ingest = new IngestPipeline(this, 'Ingest', { table: this.table, shardCount, accessLogs: exportAccessLogs, removalPolicy });

    this.workflow = new ReleaseWorkflow(this, 'ReleaseWorkflow', {
      releaseFunction: this.functions.ReleaseBatch.function,
      exportFunction: this.exportFunction.function,
      eventBus,
    });

    const apiReleases = new ApiReleaseTrigger(this, 'ApiReleases', {
      table: this.table,
      stateMachine: this.workflow.stateMachine,
    });

    const deadLetters = new sqs.Queue(this, 'ScheduleDeadLetters', {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    Validations.of(deadLetters).acknowledge({
      id: 'AwsSolutions-SQS3',
      reason: 'This queue is itself the dead-letter queue of the release schedule.',
    });
    new scheduler.Schedule(this, 'ReleaseSchedule', {
      description: 'Starts the release workflow',
      schedule: scheduler.ScheduleExpression.expression(checkScheduleExpression(props.scheduleExpression ?? DEFAULT_SCHEDULE_EXPRESSION)),
      target: new schedulerTargets.StepFunctionsStartExecution(this.workflow.stateMachine, {
        // Step Functions names the execution (the release id); the firing time travels along for tracing.
        input: scheduler.ScheduleTargetInput.fromObject({ scheduled_time: scheduler.ContextAttribute.scheduledTime }),
        retryAttempts: 5,
        maxEventAge: Duration.hours(2),
        deadLetterQueue: deadLetters,
      }),
    });

    const alarms = new OperationsAlarms(this, 'Alarms', {
      functions: {
        ...Object.fromEntries(
          Object.entries(this.functions).map(([name, h]) => [
            name,
            { fn: h.function, errorsMeanCrash: h.function !== this.workflow.releaseFunction },
          ]),
        ),
        // Invoked by the workflow like ReleaseBatch: a retried ServiceUnavailable counts as an error; WorkflowFailed alarms.
        [EXPORT_FUNCTION.name]: { fn: this.exportFunction.function, errorsMeanCrash: false },
        // Failed messages are answered as partial batch failures, not thrown: its Errors are crashes (timeouts, memory).
        [INGEST_FUNCTION.name]: { fn: this.ingest.function.function, errorsMeanCrash: true },
      },
      apiStage: stage,
      stateMachine: this.workflow.stateMachine,
      deadLetterQueue: deadLetters,
      apiReleaseDeadLetters: apiReleases.deadLetterQueue,
      ingestDeadLetters: this.ingest.deadLetters,
      alarmEmail: props.alarmEmail,
    });

    new OperationsDashboard(this, 'Dashboard', {
      functions: {
        ...Object.fromEntries(Object.entries(this.functions).map(([name, h]) => [name, h.function])),
        [EXPORT_FUNCTION.name]: this.exportFunction.function,
        [INGEST_FUNCTION.name]: this.ingest.function.function,
      },
      apiStage: stage,
      stateMachine: this.workflow.stateMachine,
    });

    new CfnOutput(this, 'ApiUrl', { value: stage.url, description: 'Base URL of the HTTP API (SigV4, service execute-api)' });
    new CfnOutput(this, 'TableName', { value: this.table.tableName });
    new CfnOutput(this, 'StateMachineArn', { value: this.workflow.stateMachine.stateMachineArn });
    new CfnOutput(this, 'EventBusName', { value: eventBus.eventBusName });
    new CfnOutput(this, 'EventBusArn', { value: eventBus.eventBusArn });
    new CfnOutput(this, 'ExportBucketName', {
      value: this.exportBucket.bucketName,
      description: 'Where each released batch is exported: s3://<bucket>/batches/<batch_id>/ (manifest.json last)',
    });
    new CfnOutput(this, 'IngestBucketName', {
      value: this.ingest.bucket.bucketName,
      description: 'Objects created under incoming/jsonl/ or incoming/ubi/ are imported; reports under reports/',
    });
    new CfnOutput(this, 'AlarmTopicArn', {
      value: alarms.topic.topicArn,
      description: 'Subscribe to it to receive the alarms (aws sns subscribe --protocol email ...)',
    });
  }
}
