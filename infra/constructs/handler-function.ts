/**
 * One Lambda handler with the defaults every function in this service shares:
 * nodejs22.x on arm64, a minified ESM bundle with source maps built by local
 * esbuild (no Docker), active tracing, its own log group with retention, and
 * a role of its own that holds only what is granted to it.
 */
import { Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { LogLevel, NodejsFunction, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import * as path from 'node:path';
import { TABLE } from '../../shared/data/table';
import { METRICS_NAMESPACE, SERVICE_NAME } from '../../shared/observability';
import type { BucketAccess, TableAccess } from '../../shared/routes';
import { BUNDLING, LAMBDA_NODE_MAJOR, PROJECT_ROOT } from '../bundling';

const RUNTIMES: Record<number, lambda.Runtime> = { 22: lambda.Runtime.NODEJS_22_X };

export interface HandlerFunctionProps {
  /** Handler module relative to the project root; it exports `handler`. */
  entry: string;
  timeoutSeconds: number;
  memoryMiB: number;
  /** @default - none */
  description?: string;
  /**
   * Merged over the defaults (Powertools service and namespace, source maps); a key given here wins.
   * @default - the defaults only
   */
  environment?: Record<string, string>;
  /** @default logs.RetentionDays.ONE_MONTH */
  logRetention?: logs.RetentionDays;
}

export class HandlerFunction extends Construct {
  readonly function: NodejsFunction;
  readonly logGroup: logs.LogGroup;
  readonly role: iam.Role;

  constructor(scope: Construct, id: string, props: HandlerFunctionProps) {
    super(scope, id);

    const runtime = RUNTIMES[LAMBDA_NODE_MAJOR];
    if (!runtime) throw new Error(`No Lambda runtime mapped for Node ${LAMBDA_NODE_MAJOR} (infra/bundling.ts)`);

    // Logs expire with their retention anyway; keeping the group after the stack is gone only leaves clutter.
    this.logGroup = new logs.LogGroup(this, 'Logs', {
      retention: props.logRetention ?? logs.RetentionDays.ONE_MONTH,
      removalPolicy: RemovalPolicy.DESTROY,
    });

    // An own role instead of the default one: the default attaches the AWSLambdaBasicExecutionRole
    // managed policy (logs on every group); this one may write to its own log group only.
    this.role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: `Runs the ${id} handler`,
    });
    this.logGroup.grantWrite(this.role);

    this.function = new NodejsFunction(this, 'Function', {
      entry: path.join(PROJECT_ROOT, props.entry),
      handler: 'handler',
      projectRoot: PROJECT_ROOT,
      depsLockFilePath: path.join(PROJECT_ROOT, 'package-lock.json'),
      runtime,
      architecture: lambda.Architecture.ARM_64,
      timeout: Duration.seconds(props.timeoutSeconds),
      memorySize: props.memoryMiB,
      description: props.description,
      tracing: lambda.Tracing.ACTIVE,
      logGroup: this.logGroup,
      role: this.role,
      environment: {
        POWERTOOLS_SERVICE_NAME: SERVICE_NAME,
        POWERTOOLS_METRICS_NAMESPACE: METRICS_NAMESPACE,
        // Stack traces point into the TypeScript sources through the bundled source maps.
        NODE_OPTIONS: '--enable-source-maps',
        ...props.environment,
      },
      bundling: {
        ...BUNDLING,
        format: BUNDLING.format === 'esm' ? OutputFormat.ESM : OutputFormat.CJS,
        mainFields: [...BUNDLING.mainFields],
        externalModules: [...BUNDLING.externalModules],
        // Only problems: a synth need not list bundle sizes.
        logLevel: LogLevel.WARNING,
      },
    });

    Validations.of(this.function).acknowledge({
      id: 'AwsSolutions-L1',
      reason: `nodejs${LAMBDA_NODE_MAJOR}.x on purpose: the bundles target it (infra/bundling.ts); move both together.`,
    });
    Validations.of(this.role).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason: 'X-Ray PutTraceSegments/PutTelemetryRecords (active tracing) support no resource-level permissions.',
    });
  }

  /**
   * Gives the function the table: its name in TABLE_NAME, and exactly the
   * listed actions on the table and on its batch index. No grant* helper:
   * grantReadData and grantReadWriteData add Scan, DeleteItem, batch and
   * stream actions and every index (index/*) to functions that call none of them.
   */
  bindTable(table: dynamodb.ITable, access: TableAccess): void {
    this.function.addEnvironment('TABLE_NAME', table.tableName);
    const statement = (actions: readonly string[], resource: string) =>
      new iam.PolicyStatement({ actions: actions.map((action) => `dynamodb:${action}`), resources: [resource] });
    this.role.addToPrincipalPolicy(statement(access.table, table.tableArn));
    if (access.index.length > 0) {
      this.role.addToPrincipalPolicy(statement(access.index, `${table.tableArn}/index/${TABLE.gsi1.indexName}`));
    }
  }

  /**
   * Gives the function a bucket: its name in `environmentVariable`, and
   * exactly the listed actions on the objects under each prefix (grantPut
   * would add s3:PutObjectLegalHold, PutObjectRetention, PutObjectTagging,
   * PutObjectVersionTagging and s3:Abort*; grantRead every key and s3:List*).
   */
  bindBucket(bucket: s3.IBucket, access: BucketAccess, environmentVariable: string): void {
    this.function.addEnvironment(environmentVariable, bucket.bucketName);
    const bucketId = Stack.of(this).resolve((bucket.node.defaultChild as s3.CfnBucket).logicalId);
    for (const { prefix, actions } of access) {
      this.role.addToPrincipalPolicy(
        new iam.PolicyStatement({ actions: actions.map((action) => `s3:${action}`), resources: [bucket.arnForObjects(`${prefix}*`)] }),
      );
      Validations.of(this.role).acknowledge({
        id: `AwsSolutions-IAM5[Resource::<${bucketId}.Arn>/${prefix}*]`,
        reason: `Objects under ${prefix} only: their keys are made at run time.`,
      });
    }
  }
}
