/**
 * The release workflow: release the collecting batch under a release id (the
 * input's `release_id`, else the execution's name), wait out the settle
 * window, export the batch to S3 (one call of the export function per loop,
 * each resuming from the cursor the last one returned, until it is done),
 * then announce `BatchReleased`, with where the export is, on EventBridge
 * through the service integration (no extra Lambda).
 *
 * Every release ends here: the schedule starts it with no release id (a new
 * release named after the execution), and the table's stream starts it with
 * the `release_id` of a release made over the API (infra/constructs/
 * api-release-trigger.ts), whose release step then answers that release again.
 */
import { Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import { Construct } from 'constructs';
import { SERVICE_NAME } from '../../shared/observability';
import { routeNamed } from '../../shared/routes';
import { vendedLogGroupName } from './log-names';

/** State names: the local runner overrides tasks and waits by these names. */
export const RELEASE_STATES = {
  chooseReleaseId: 'Release id given?',
  releaseIdFromInput: 'Release id from input',
  releaseIdFromName: 'Release id from execution name',
  release: 'Release collecting batch',
  nothingToAnnounce: 'Nothing to announce',
  settle: 'Wait out settle window',
  startExport: 'Start export',
  export: 'Export batch',
  exportDone: 'Export done?',
  announce: 'Announce BatchReleased',
} as const;

/** What consumers match on: `source` and `detail-type` of the announcement. */
export const BATCH_RELEASED = { source: SERVICE_NAME, detailType: 'BatchReleased' } as const;

/** Slack on top of the schedule function's timeout, for clock skew and the runtime's own shutdown. */
export const SETTLE_MARGIN_SECONDS = 5;

/**
 * A schedule request already in flight at release may still land in the
 * released batch, but only within its own Lambda timeout (the release fence,
 * README "Guarantees" 3); announcing after that timeout plus a margin means a
 * consumer never misses one of the batch's sessions.
 */
export const settleWindowSeconds = (): number =>
  routeNamed('ScheduleSession').timeoutSeconds + SETTLE_MARGIN_SECONDS;

/**
 * Errors worth retrying: Lambda's own transient failures and throttling, a
 * crash (Lambda.Unknown), the function killed at its timeout
 * (Sandbox.Timedout), and the handler's ServiceUnavailable (DynamoDB
 * throttled or unreachable, or the handler giving up just before its
 * timeout). Retries are safe because a release is idempotent per release id,
 * and an export call started again from its cursor writes the same parts.
 */
export const TRANSIENT_RELEASE_ERRORS = [
  'Lambda.ClientExecutionTimeoutException',
  'Lambda.ServiceException',
  'Lambda.AWSLambdaException',
  'Lambda.SdkClientException',
  'Lambda.TooManyRequestsException',
  'Lambda.Unknown',
  'Sandbox.Timedout',
  'ServiceUnavailable',
] as const;

/**
 * Long enough for the export of a very large batch to loop to its end (at
 * 1,000 sessions/s, six hours export 21 million sessions); an execution
 * still running then is stuck, and WorkflowTimedOut says so.
 */
export const EXECUTION_TIMEOUT = Duration.hours(6);

export interface ReleaseWorkflowProps {
  releaseFunction: lambda.IFunction;
  /** Exports the released batch (functions/export-batch.ts), a part at a time, returning a cursor when its time runs low. */
  exportFunction: lambda.IFunction;
  /** Where BatchReleased is announced. */
  eventBus: events.IEventBus;
  /** @default logs.RetentionDays.ONE_MONTH */
  logRetention?: logs.RetentionDays;
}

export class ReleaseWorkflow extends Construct {
  readonly stateMachine: sfn.StateMachine;
  /** The function the release task invokes. */
  readonly releaseFunction: lambda.IFunction;
  /** The function the export task invokes. */
  readonly exportFunction: lambda.IFunction;
  readonly logGroup: logs.LogGroup;

  constructor(scope: Construct, id: string, props: ReleaseWorkflowProps) {
    super(scope, id);
    this.releaseFunction = props.releaseFunction;
    this.exportFunction = props.exportFunction;

    const release = new tasks.LambdaInvoke(this, RELEASE_STATES.release, {
      lambdaFunction: props.releaseFunction,
      // A retried or re-run execution with the same release id releases nothing new.
      payload: sfn.TaskInput.fromObject({ release_id: sfn.JsonPath.stringAt('$.release_id') }),
      outputPath: '$.Payload',
      // Replaced by the retrier below, which adds throttling, the handler's own error and jitter.
      retryOnServiceExceptions: false,
    });
    release.addRetry({
      errors: [...TRANSIENT_RELEASE_ERRORS],
      interval: Duration.seconds(2),
      backoffRate: 2,
      maxAttempts: 6,
      maxDelay: Duration.seconds(60),
      jitterStrategy: sfn.JitterType.FULL,
    });
    const nothingToAnnounce = new sfn.Succeed(this, RELEASE_STATES.nothingToAnnounce, {
      comment: 'No batch was collecting: nothing was scheduled since the last release.',
    });
    release.addCatch(nothingToAnnounce, { errors: ['NoCollectingBatch'], resultPath: '$.error' });

    const settle = new sfn.Wait(this, RELEASE_STATES.settle, {
      time: sfn.WaitTime.duration(Duration.seconds(settleWindowSeconds())),
      comment: 'Schedule requests in flight at release may still land in the batch until their timeout.',
    });

    const startExport = new sfn.Pass(this, RELEASE_STATES.startExport, {
      comment: 'No cursor yet: the export starts at the batch\'s first session.',
      result: sfn.Result.fromObject({ done: false, cursor: null }),
      resultPath: '$.export',
    });
    const exportBatch = new tasks.LambdaInvoke(this, RELEASE_STATES.export, {
      lambdaFunction: props.exportFunction,
      payload: sfn.TaskInput.fromObject({
        batch_id: sfn.JsonPath.stringAt('$.batch_id'),
        release_id: sfn.JsonPath.stringAt('$.release_id'),
        released_at: sfn.JsonPath.numberAt('$.released_at'),
        cursor: sfn.JsonPath.objectAt('$.export.cursor'),
      }),
      // The function's answer as it is ({done, cursor} or {done, bucket, manifest_key, sessions, events}), in $.export.
      payloadResponseOnly: true,
      resultPath: '$.export',
      retryOnServiceExceptions: false,
    });
    // A retry or a redrive starts from the cursor in its input: the last one a call returned.
    exportBatch.addRetry({
      errors: [...TRANSIENT_RELEASE_ERRORS],
      interval: Duration.seconds(2),
      backoffRate: 2,
      maxAttempts: 6,
      maxDelay: Duration.seconds(60),
      jitterStrategy: sfn.JitterType.FULL,
    });
    const exportDone = new sfn.Choice(this, RELEASE_STATES.exportDone, {
      comment: 'A call that ran low on time returned a cursor: call again from there.',
    });

    const announce = new tasks.EventBridgePutEvents(this, RELEASE_STATES.announce, {
      entries: [
        {
          eventBus: props.eventBus,
          source: BATCH_RELEASED.source,
          detailType: BATCH_RELEASED.detailType,
          detail: sfn.TaskInput.fromObject({
            batch_id: sfn.JsonPath.stringAt('$.batch_id'),
            release_id: sfn.JsonPath.stringAt('$.release_id'),
            released_at: sfn.JsonPath.numberAt('$.released_at'),
            export: {
              bucket: sfn.JsonPath.stringAt('$.export.bucket'),
              manifest_key: sfn.JsonPath.stringAt('$.export.manifest_key'),
              sessions: sfn.JsonPath.numberAt('$.export.sessions'),
              events: sfn.JsonPath.numberAt('$.export.events'),
            },
          }),
        },
      ],
      resultSelector: { event_id: sfn.JsonPath.stringAt('$.Entries[0].EventId') },
      resultPath: '$.announcement',
    });
    // States.TaskFailed covers EventBridge.FailedEntry too; a repeat is harmless, consumers dedupe on release_id.
    announce.addRetry({
      errors: [sfn.Errors.TASKS_FAILED],
      interval: Duration.seconds(2),
      backoffRate: 2,
      maxAttempts: 5,
      maxDelay: Duration.seconds(60),
      jitterStrategy: sfn.JitterType.FULL,
    });

    this.logGroup = new logs.LogGroup(this, 'Logs', {
      logGroupName: vendedLogGroupName(this, 'Logs', 'states'),
      retention: props.logRetention ?? logs.RetentionDays.ONE_MONTH,
      removalPolicy: RemovalPolicy.DESTROY,
    });

    release.next(settle).next(startExport).next(exportBatch).next(
      exportDone.when(sfn.Condition.booleanEquals('$.export.done', true), announce).otherwise(exportBatch),
    );
    const chooseReleaseId = new sfn.Choice(this, RELEASE_STATES.chooseReleaseId)
      .when(
        sfn.Condition.isPresent('$.release_id'),
        new sfn.Pass(this, RELEASE_STATES.releaseIdFromInput, {
          comment: 'Started for a release made over the API (or by hand with {"release_id"}).',
          parameters: { release_id: sfn.JsonPath.stringAt('$.release_id') },
        }).next(release),
      )
      .otherwise(
        new sfn.Pass(this, RELEASE_STATES.releaseIdFromName, {
          comment: 'Started by the schedule (or by hand): the execution name is the release id.',
          parameters: { release_id: sfn.JsonPath.executionName },
        }).next(release),
      );

    this.stateMachine = new sfn.StateMachine(this, 'StateMachine', {
      comment: 'Releases the collecting batch, waits out the settle window, exports it to S3, announces BatchReleased.',
      stateMachineType: sfn.StateMachineType.STANDARD,
      definitionBody: sfn.DefinitionBody.fromChainable(chooseReleaseId),
      timeout: EXECUTION_TIMEOUT,
      tracingEnabled: true,
      logs: { destination: this.logGroup, level: sfn.LogLevel.ALL, includeExecutionData: true },
    });

    const logicalIdOf = (fn: lambda.IFunction) => Stack.of(this).resolve((fn.node.defaultChild as lambda.CfnFunction).logicalId);
    Validations.of(this.stateMachine.role).acknowledge(
      {
        id: 'AwsSolutions-IAM5[Resource::*]',
        reason: 'Log delivery (logs:*LogDelivery*) and X-Ray tracing actions support no resource-level permissions.',
      },
      {
        id: `AwsSolutions-IAM5[Resource::<${logicalIdOf(props.releaseFunction)}.Arn>:*]`,
        reason: 'Invoking versions and aliases of the release function only (LambdaInvoke grants the function ARN with :*).',
      },
      {
        id: `AwsSolutions-IAM5[Resource::<${logicalIdOf(props.exportFunction)}.Arn>:*]`,
        reason: 'Invoking versions and aliases of the export function only (LambdaInvoke grants the function ARN with :*).',
      },
    );
  }
}
