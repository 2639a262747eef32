/**
 * Continuous ingestion: an ingest bucket whose object-created notifications
 * under incoming/jsonl/ and incoming/ubi/ go to an SQS queue (absorbing a
 * burst of objects, retrying a failure), drained by the ingest function with
 * partial batch responses; a message that keeps failing goes to a
 * dead-letter queue, which alarms (OperationsAlarms).
 */
import { Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as s3n from 'aws-cdk-lib/aws-s3-notifications';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { INGEST_FUNCTION } from '../../shared/ingest/ingest-function';
import { INGEST_PREFIXES, REPORT_PREFIX } from '../../shared/ingest/object-import';
import { HandlerFunction } from './handler-function';

/** How long objects and their reports stay in the ingest bucket: they are in the table by then. */
export const INGEST_OBJECT_RETENTION_DAYS = 90;

/** What the export and ingest buckets share: S3-managed encryption, TLS 1.2+ only, nothing public, no ACLs. */
export const LOCKED_DOWN_BUCKET = {
  encryption: s3.BucketEncryption.S3_MANAGED,
  enforceSSL: true,
  minimumTLSVersion: 1.2,
  blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
  objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
} as const satisfies s3.BucketProps;

export interface IngestPipelineProps {
  table: dynamodb.ITable;
  /** The shard count the other functions get. */
  shardCount: number;
  /** Where the bucket's server access logs go. */
  accessLogs: s3.IBucket;
  removalPolicy: RemovalPolicy;
}

export class IngestPipeline extends Construct {
  readonly bucket: s3.Bucket;
  readonly queue: sqs.Queue;
  readonly deadLetters: sqs.Queue;
  readonly function: HandlerFunction;

  constructor(scope: Construct, id: string, props: IngestPipelineProps) {
    super(scope, id);
    const { queue: settings } = INGEST_FUNCTION;

    this.bucket = new s3.Bucket(this, 'Bucket', {
      ...LOCKED_DOWN_BUCKET,
      // No versions: an object is imported once its notification arrives, and the table holds the result.
      versioned: false,
      lifecycleRules: [
        ...[...Object.values(INGEST_PREFIXES), REPORT_PREFIX].map((prefix) => ({
          prefix,
          expiration: Duration.days(INGEST_OBJECT_RETENTION_DAYS),
        })),
        // Firehose and the AWS CLI upload large objects in parts; a part left behind holds storage until aborted.
        { abortIncompleteMultipartUploadAfter: Duration.days(1) },
      ],
      serverAccessLogsBucket: props.accessLogs,
      serverAccessLogsPrefix: 'ingest-bucket/',
      removalPolicy: props.removalPolicy,
    });

    this.deadLetters = new sqs.Queue(this, 'DeadLetters', {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(settings.deadLetterRetentionDays),
    });
    Validations.of(this.deadLetters).acknowledge({
      id: 'AwsSolutions-SQS3',
      reason: 'This queue is itself the dead-letter queue of the ingest queue.',
    });
    this.queue = new sqs.Queue(this, 'Queue', {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      visibilityTimeout: Duration.seconds(settings.visibilityTimeoutSeconds),
      retentionPeriod: Duration.days(settings.deadLetterRetentionDays),
      deadLetterQueue: { queue: this.deadLetters, maxReceiveCount: settings.maxReceiveCount },
    });
    for (const prefix of Object.values(INGEST_PREFIXES)) {
      this.bucket.addEventNotification(s3.EventType.OBJECT_CREATED, new s3n.SqsDestination(this.queue), { prefix });
    }
    // CloudFormation has no notification property that leaves a bucket's other settings alone, so CDK
    // sets them through a custom resource whose function it defines once per stack, with Lambda's basic role.
    const notificationsHandler = Stack.of(this).node.children.find((c) => c.node.id.startsWith('BucketNotificationsHandler'));
    if (notificationsHandler) {
      Validations.of(notificationsHandler).acknowledge({
        id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
        reason: 'CDK\'s own bucket-notifications custom resource: it writes only its logs, and runs at deploy time.',
      });
    }

    this.function = new HandlerFunction(this, INGEST_FUNCTION.name, {
      entry: INGEST_FUNCTION.entry,
      timeoutSeconds: INGEST_FUNCTION.timeoutSeconds,
      memoryMiB: INGEST_FUNCTION.memoryMiB,
      description: INGEST_FUNCTION.description,
      environment: { SHARD_COUNT: String(props.shardCount), INGEST_QUEUE_URL: this.queue.queueUrl },
    });
    this.function.bindTable(props.table, INGEST_FUNCTION.tableAccess);
    this.function.bindBucket(this.bucket, INGEST_FUNCTION.bucketAccess, 'INGEST_BUCKET');
    // Continuations: an object not finished in one call is sent back to the queue (no grantSendMessages: it adds GetQueueAttributes and GetQueueUrl).
    this.function.role.addToPrincipalPolicy(new iam.PolicyStatement({ actions: ['sqs:SendMessage'], resources: [this.queue.queueArn] }));
    this.function.function.addEventSource(
      new SqsEventSource(this.queue, {
        batchSize: settings.batchSize,
        maxConcurrency: settings.maxConcurrency,
        reportBatchItemFailures: true,
      }),
    );
  }
}
