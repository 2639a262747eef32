/**
 * Starts the release workflow for every release made over the API, so that it
 * too is announced after its settle window. The release handler stays as it is
 * (no Step Functions or EventBridge client in its bundle): the table's stream
 * carries the release record, written once per release with origin "api", to
 * an EventBridge Pipe that starts the workflow with that release_id. The
 * record is written by whoever finishes the release, the releaser or a
 * request that rolls a crashed release forward, so no release is missed.
 */
import { Duration, Validations } from 'aws-cdk-lib';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as pipes from 'aws-cdk-lib/aws-pipes';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { TABLE } from '../../shared/data/table';
import { releaseKey } from '../../shared/data/keys';

/**
 * The first write of a release record made over the API, as the stream shows
 * it (attribute values in DynamoDB JSON). Roll-forwards rewrite the same
 * record (MODIFY), and workflow releases have origin "workflow": neither matches.
 */
export const API_RELEASE_PATTERN = {
  eventName: ['INSERT'],
  dynamodb: {
    Keys: { [TABLE.sortKey]: { S: [releaseKey('any')[TABLE.sortKey]] } },
    NewImage: { origin: { S: ['api'] } },
  },
} as const;

/** The workflow's input: the release to announce (release ids are restricted to [A-Za-z0-9._:@-], nothing to escape). */
export const API_RELEASE_INPUT = '{"release_id": "<$.dynamodb.NewImage.release_id.S>"}';

export interface ApiReleaseTriggerProps {
  /** The table, with a stream that carries new images. */
  table: dynamodb.ITable;
  stateMachine: sfn.IStateMachine;
}

export class ApiReleaseTrigger extends Construct {
  readonly pipe: pipes.CfnPipe;
  /** Release records the pipe could not hand to the workflow after its retries. */
  readonly deadLetterQueue: sqs.Queue;

  constructor(scope: Construct, id: string, props: ApiReleaseTriggerProps) {
    super(scope, id);
    const streamArn = props.table.tableStreamArn;
    if (!streamArn) throw new Error('ApiReleaseTrigger needs a table with a stream (NEW_IMAGE)');

    this.deadLetterQueue = new sqs.Queue(this, 'DeadLetters', {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    Validations.of(this.deadLetterQueue).acknowledge({
      id: 'AwsSolutions-SQS3',
      reason: 'This queue is itself the dead-letter queue of the pipe that starts the workflow for API releases.',
    });

    const role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('pipes.amazonaws.com'),
      description: 'Reads release records from the table stream and starts the release workflow',
    });
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['dynamodb:DescribeStream', 'dynamodb:GetRecords', 'dynamodb:GetShardIterator'],
        resources: [streamArn],
      }),
    );
    props.stateMachine.grantStartExecution(role);
    this.deadLetterQueue.grantSendMessages(role);

    this.pipe = new pipes.CfnPipe(this, 'Pipe', {
      description: 'Starts the release workflow for each release made over the API',
      roleArn: role.roleArn,
      source: streamArn,
      sourceParameters: {
        dynamoDbStreamParameters: {
          startingPosition: 'LATEST',
          batchSize: 1,
          maximumRetryAttempts: 10,
          deadLetterConfig: { arn: this.deadLetterQueue.queueArn },
        },
        filterCriteria: { filters: [{ pattern: JSON.stringify(API_RELEASE_PATTERN) }] },
      },
      target: props.stateMachine.stateMachineArn,
      targetParameters: {
        // Standard workflows only start asynchronously.
        stepFunctionStateMachineParameters: { invocationType: 'FIRE_AND_FORGET' },
        inputTemplate: API_RELEASE_INPUT,
      },
    });
  }
}
