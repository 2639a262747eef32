/**
 * The synthesized stack, asserted on its CloudFormation template: one synth of
 * the real app (with esbuild bundling and the cdk-nag plugin) shared by every
 * test in this file.
 */
import { App, RemovalPolicy, Stack } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import type { IConstruct } from 'constructs';
import { buildApp, cdkJsonContext, STACK_NAME } from '../../infra/build-app';
import { API_RELEASE_INPUT, API_RELEASE_PATTERN } from '../../infra/constructs/api-release-trigger';
import { EXECUTION_TIMEOUT, RELEASE_STATES, SETTLE_MARGIN_SECONDS, TRANSIENT_RELEASE_ERRORS } from '../../infra/constructs/release-workflow';
import { stateMachineFromTemplate, type CfnTemplate } from '../../infra/local/stepfunctions/state-machine';
import { DEFAULT_API_THROTTLE, DEFAULT_SCHEDULE_EXPRESSION, SessionImprovementStack } from '../../infra/stack';
import { DEFAULT_SHARDS } from '../../shared/domain/numbering';
import { createTableInput, TABLE } from '../../shared/data/table';
import { ROUTES, routeNamed } from '../../shared/routes';
import { EXPORT_FUNCTION } from '../../shared/export/export-function';
import { INGEST_FUNCTION } from '../../shared/ingest/ingest-function';
import { INGEST_PREFIXES } from '../../shared/ingest/object-import';

// asl-validator ships no types.
const aslValidator = require('asl-validator') as (definition: object) => { isValid: boolean; errorsText(): string };

/** The $context variables an HTTP API access log may use (API Gateway developer guide, "Customize HTTP API access logs"). */
const HTTP_API_LOG_VARIABLES = [
  'accountId', 'apiId', 'authorizer.error', 'awsEndpointRequestId', 'awsEndpointRequestId2', 'dataProcessed',
  'domainName', 'domainPrefix', 'error.message', 'error.messageString', 'error.responseType', 'extendedRequestId',
  'httpMethod', 'identity.accountId', 'identity.caller', 'identity.sourceIp', 'identity.user', 'identity.userAgent',
  'identity.userArn', 'integration.error', 'integration.integrationStatus', 'integration.latency',
  'integration.requestId', 'integration.status', 'integrationErrorMessage', 'integrationLatency', 'integrationStatus',
  'path', 'protocol', 'requestId', 'requestTime', 'requestTimeEpoch', 'responseLatency', 'responseLength', 'routeKey',
  'stage', 'status',
];

type Resource = { Type: string; Properties: any; DeletionPolicy?: string; UpdateReplacePolicy?: string };

let outdir: string;
let app: App;
let stack: Stack;
let json: CfnTemplate & { Resources: Record<string, Resource>; Outputs: Record<string, unknown> };
let template: Template;

beforeAll(() => {
  outdir = mkdtempSync(path.join(tmpdir(), 'cdk-stack-test-'));
  ({ app, stack } = buildApp({ outdir }));
  // Throws if cdk-nag reports anything unacknowledged.
  const assembly = app.synth();
  json = assembly.getStackByName(STACK_NAME).template;
  template = Template.fromJSON(json);
}, 120_000);

afterAll(() => rmSync(outdir, { recursive: true, force: true }));

const ofType = (type: string): [string, Resource][] =>
  Object.entries(json.Resources).filter(([, r]) => r.Type === type);

/** The handler function of a route (its description is "METHOD /path"). */
function functionOf(routeName: (typeof ROUTES)[number]['name']): [string, Resource] {
  const route = routeNamed(routeName);
  const found = ofType('AWS::Lambda::Function').filter(
    ([, r]) => r.Properties.Description === `${route.method} ${route.path}`,
  );
  expect(found).toHaveLength(1);
  return found[0]!;
}

/** The export function (not a route: its description is its own). */
function exportFunction(): [string, Resource] {
  const found = ofType('AWS::Lambda::Function').filter(([, r]) => r.Properties.Description === EXPORT_FUNCTION.description);
  expect(found).toHaveLength(1);
  return found[0]!;
}

/** The ingest function. */
function ingestFunction(): [string, Resource] {
  const found = ofType('AWS::Lambda::Function').filter(([, r]) => r.Properties.Description === INGEST_FUNCTION.description);
  expect(found).toHaveLength(1);
  return found[0]!;
}

/** The functions this service defines (CDK adds one of its own, for bucket notifications). */
const serviceFunctions = () => [...ROUTES.map((route) => functionOf(route.name)), exportFunction(), ingestFunction()];

/** The bucket whose access is logged under `prefix` of the access-log bucket: exports, or objects to ingest. */
function loggedBucket(prefix: 'export-bucket/' | 'ingest-bucket/'): [string, Resource] {
  const found = ofType('AWS::S3::Bucket').filter(([, r]) => r.Properties.LoggingConfiguration?.LogFilePrefix === prefix);
  expect(found).toHaveLength(1);
  return found[0]!;
}
const exportBucket = () => loggedBucket('export-bucket/');
const ingestBucket = () => loggedBucket('ingest-bucket/');

/** CDK's own function that sets a bucket's notifications at deploy time (a custom resource). */
const notificationsHandlers = () => ofType('AWS::Lambda::Function').filter(([id]) => id.startsWith('BucketNotificationsHandler'));

/** Every IAM statement attached to the role of a function. */
function statementsOf(fn: Resource): { Action: string | string[]; Resource: unknown; Effect: string }[] {
  const roleId = fn.Properties.Role['Fn::GetAtt'][0];
  return ofType('AWS::IAM::Policy')
    .filter(([, p]) => p.Properties.Roles.some((r: any) => r.Ref === roleId))
    .flatMap(([, p]) => p.Properties.PolicyDocument.Statement);
}
const actionsOf = (s: { Action: string | string[] }) => [s.Action].flat();

describe('HTTP API', () => {
  test('is exactly one HTTP API with a route per route table entry, each authorized with IAM (SigV4)', () => {
    template.resourceCountIs('AWS::ApiGatewayV2::Api', 1);
    template.hasResourceProperties('AWS::ApiGatewayV2::Api', { ProtocolType: 'HTTP' });
    const routes = ofType('AWS::ApiGatewayV2::Route').map(([, r]) => r.Properties);
    expect(routes.map((r) => r.RouteKey).sort()).toEqual(ROUTES.map((r) => `${r.method} ${r.path}`).sort());
    for (const route of routes) expect(route.AuthorizationType).toBe('AWS_IAM');
  });

  test('each route integrates the function of its own route', () => {
    for (const route of ROUTES) {
      const [functionId] = functionOf(route.name);
      const [, routeResource] = ofType('AWS::ApiGatewayV2::Route').find(
        ([, r]) => r.Properties.RouteKey === `${route.method} ${route.path}`,
      )!;
      const integrationId = routeResource.Properties.Target['Fn::Join'][1][1].Ref;
      expect(json.Resources[integrationId]!.Properties.IntegrationUri).toEqual({ 'Fn::GetAtt': [functionId, 'Arn'] });
    }
  });

  test('the $default stage deploys automatically, is throttled and writes access logs', () => {
    template.resourceCountIs('AWS::ApiGatewayV2::Stage', 1);
    template.hasResourceProperties('AWS::ApiGatewayV2::Stage', {
      StageName: '$default',
      AutoDeploy: true,
      DefaultRouteSettings: {
        ThrottlingRateLimit: DEFAULT_API_THROTTLE.rateLimit,
        ThrottlingBurstLimit: DEFAULT_API_THROTTLE.burstLimit,
      },
      AccessLogSettings: { DestinationArn: Match.anyValue(), Format: Match.stringLikeRegexp('requestId') },
    });
  });

  test('access logs are JSON lines of HTTP API variables only (none of a REST API such as $context.resourcePath)', () => {
    const [[, stage]] = ofType('AWS::ApiGatewayV2::Stage') as [[string, Resource]];
    const format = JSON.parse(stage.Properties.AccessLogSettings.Format) as Record<string, string>;
    const variables = Object.values(format).map((value) => /^\$context\.([A-Za-z.]+)$/.exec(value)?.[1]);
    expect(variables).not.toContain(undefined);
    for (const variable of variables) expect(HTTP_API_LOG_VARIABLES).toContain(variable);
    expect(variables).toEqual(expect.arrayContaining(['requestId', 'routeKey', 'status', 'integrationErrorMessage']));
  });
});

describe('handler functions', () => {
  test('are one per route, the export and the ingest function, on nodejs22.x / arm64 with active tracing and the route timeout and memory', () => {
    // And CDK's bucket-notifications handler.
    template.resourceCountIs('AWS::Lambda::Function', ROUTES.length + 3);
    expect(notificationsHandlers()).toHaveLength(1);
    expect(ingestFunction()[1].Properties).toMatchObject({
      Runtime: 'nodejs22.x',
      Architectures: ['arm64'],
      TracingConfig: { Mode: 'Active' },
      Timeout: INGEST_FUNCTION.timeoutSeconds,
      MemorySize: INGEST_FUNCTION.memoryMiB,
      Handler: 'index.handler',
    });
    expect(exportFunction()[1].Properties).toMatchObject({
      Runtime: 'nodejs22.x',
      Architectures: ['arm64'],
      TracingConfig: { Mode: 'Active' },
      Timeout: EXPORT_FUNCTION.timeoutSeconds,
      MemorySize: EXPORT_FUNCTION.memoryMiB,
      Handler: 'index.handler',
    });
    for (const route of ROUTES) {
      const [, fn] = functionOf(route.name);
      expect(fn.Properties).toMatchObject({
        Runtime: 'nodejs22.x',
        Architectures: ['arm64'],
        TracingConfig: { Mode: 'Active' },
        Timeout: route.timeoutSeconds,
        MemorySize: route.memoryMiB,
        Handler: 'index.handler',
      });
    }
  });

  test('have their environment merged: the table name next to the shared defaults', () => {
    for (const route of ROUTES) {
      const [, fn] = functionOf(route.name);
      const [[tableId]] = ofType('AWS::DynamoDB::Table') as [[string, Resource]];
      expect(fn.Properties.Environment.Variables).toEqual({
        TABLE_NAME: { Ref: tableId },
        POWERTOOLS_SERVICE_NAME: 'session-improvement',
        POWERTOOLS_METRICS_NAMESPACE: 'SessionImprovement',
        NODE_OPTIONS: '--enable-source-maps',
        SHARD_COUNT: String(DEFAULT_SHARDS),
      });
    }
  });

  test('the export function gets the table, its shard count and the export bucket by name, next to the shared defaults', () => {
    const [[tableId]] = ofType('AWS::DynamoDB::Table') as [[string, Resource]];
    expect(exportFunction()[1].Properties.Environment.Variables).toEqual({
      TABLE_NAME: { Ref: tableId },
      EXPORT_BUCKET: { Ref: exportBucket()[0] },
      SHARD_COUNT: String(DEFAULT_SHARDS),
      POWERTOOLS_SERVICE_NAME: 'session-improvement',
      POWERTOOLS_METRICS_NAMESPACE: 'SessionImprovement',
      NODE_OPTIONS: '--enable-source-maps',
    });
  });

  test('the export function is granted exactly its DynamoDB reads and PutObject and AbortMultipartUpload under batches/ of its bucket', () => {
    const [[tableId]] = ofType('AWS::DynamoDB::Table') as [[string, Resource]];
    const tableArn = { 'Fn::GetAtt': [tableId, 'Arn'] };
    const grants = statementsOf(exportFunction()[1])
      .filter((st) => actionsOf(st).some((a) => a.startsWith('dynamodb:') || a.startsWith('s3:')))
      .map((st) => ({ effect: st.Effect, actions: actionsOf(st).sort(), resource: st.Resource }));
    expect(grants).toEqual(
      expect.arrayContaining([
        { effect: 'Allow', actions: EXPORT_FUNCTION.tableAccess.table.map((a) => `dynamodb:${a}`).sort(), resource: tableArn },
        {
          effect: 'Allow',
          actions: EXPORT_FUNCTION.tableAccess.index.map((a) => `dynamodb:${a}`).sort(),
          resource: { 'Fn::Join': ['', [tableArn, `/index/${TABLE.gsi1.indexName}`]] },
        },
        {
          effect: 'Allow',
          actions: ['s3:AbortMultipartUpload', 's3:PutObject'],
          resource: { 'Fn::Join': ['', [{ 'Fn::GetAtt': [exportBucket()[0], 'Arn'] }, '/batches/*']] },
        },
      ]),
    );
    expect(grants).toHaveLength(3);
    expect(EXPORT_FUNCTION.bucketAccess).toEqual([{ prefix: 'batches/', actions: ['PutObject', 'AbortMultipartUpload'] }]);
    // No other function may touch a bucket.
    for (const route of ROUTES) {
      expect(statementsOf(functionOf(route.name)[1]).flatMap(actionsOf).filter((a) => a.startsWith('s3:'))).toEqual([]);
    }
  });

  test('log to a log group of their own, with retention', () => {
    for (const [, fn] of serviceFunctions()) {
      const logGroupId = fn.Properties.LoggingConfig.LogGroup.Ref;
      expect(json.Resources[logGroupId]!.Type).toBe('AWS::Logs::LogGroup');
      expect(json.Resources[logGroupId]!.Properties.RetentionInDays).toBeGreaterThan(0);
    }
  });

  test('each function is granted exactly the DynamoDB actions its route lists, on the table and on the batch index', () => {
    const [[tableId]] = ofType('AWS::DynamoDB::Table') as [[string, Resource]];
    const tableArn = { 'Fn::GetAtt': [tableId, 'Arn'] };
    const indexArn = { 'Fn::Join': ['', [tableArn, `/index/${TABLE.gsi1.indexName}`]] };
    for (const route of ROUTES) {
      const grants: { resource: string; actions: string[] }[] = [];
      for (const statement of statementsOf(functionOf(route.name)[1])) {
        const dynamo = actionsOf(statement).filter((a) => a.startsWith('dynamodb:'));
        if (dynamo.length === 0) continue;
        expect(statement.Effect).toBe('Allow');
        for (const resource of [statement.Resource].flat()) grants.push({ resource: JSON.stringify(resource), actions: dynamo.sort() });
      }
      const expected = [
        { resource: JSON.stringify(tableArn), actions: route.tableAccess.table.map((a) => `dynamodb:${a}`).sort() },
        ...(route.tableAccess.index.length
          ? [{ resource: JSON.stringify(indexArn), actions: route.tableAccess.index.map((a) => `dynamodb:${a}`).sort() }]
          : []),
      ];
      expect([route.name, grants.sort((a, b) => a.resource.localeCompare(b.resource))]).toEqual([
        route.name,
        expected.sort((a, b) => a.resource.localeCompare(b.resource)),
      ]);
    }
  });

  test('no DynamoDB statement in the template applies to Resource "*", and each names the table', () => {
    const [[tableId]] = ofType('AWS::DynamoDB::Table') as [[string, Resource]];
    const statements = ofType('AWS::IAM::Policy').flatMap(([, p]) => p.Properties.PolicyDocument.Statement);
    const dynamo = statements.filter((s: any) => actionsOf(s).some((a) => a.startsWith('dynamodb:')));
    expect(dynamo.length).toBeGreaterThanOrEqual(ROUTES.length);
    for (const statement of dynamo) {
      const resources = [statement.Resource].flat();
      expect(resources).not.toContain('*');
      for (const resource of resources) expect(JSON.stringify(resource)).toContain(tableId);
    }
  });

  test('roles carry no managed policies (AWSLambdaBasicExecutionRole would allow every log group), but CDK\'s notifications handler', () => {
    const handlerRoles = notificationsHandlers().map(([, fn]) => fn.Properties.Role['Fn::GetAtt'][0]);
    for (const [id, role] of ofType('AWS::IAM::Role')) {
      if (!handlerRoles.includes(id)) expect(role.Properties.ManagedPolicyArns).toBeUndefined();
    }
  });
});

describe('table', () => {
  test('has the keys and GSI the local store creates (same table definition), on-demand, with PITR and encryption, retained', () => {
    const local = createTableInput('local');
    template.resourceCountIs('AWS::DynamoDB::Table', 1);
    template.hasResource('AWS::DynamoDB::Table', {
      DeletionPolicy: 'Retain',
      UpdateReplacePolicy: 'Retain',
      Properties: {
        BillingMode: local.BillingMode,
        KeySchema: local.KeySchema,
        AttributeDefinitions: Match.arrayEquals(local.AttributeDefinitions!),
        GlobalSecondaryIndexes: local.GlobalSecondaryIndexes,
        PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
        SSESpecification: { SSEEnabled: true },
        DeletionProtectionEnabled: true,
      },
    });
  });
});

describe('export bucket', () => {
  const policyOf = (bucketId: string) =>
    ofType('AWS::S3::BucketPolicy').find(([, p]) => p.Properties.Bucket.Ref === bucketId)![1].Properties.PolicyDocument.Statement;

  test('is encrypted (S3-managed), refuses plain HTTP and TLS below 1.2, blocks public access and disables ACLs', () => {
    const [bucketId, bucket] = exportBucket();
    expect(bucket.Properties).toMatchObject({
      BucketEncryption: { ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }] },
      PublicAccessBlockConfiguration: { BlockPublicAcls: true, BlockPublicPolicy: true, IgnorePublicAcls: true, RestrictPublicBuckets: true },
      OwnershipControls: { Rules: [{ ObjectOwnership: 'BucketOwnerEnforced' }] },
    });
    expect(policyOf(bucketId)).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ Effect: 'Deny', Action: 's3:*', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
        expect.objectContaining({ Effect: 'Deny', Action: 's3:*', Condition: { NumericLessThan: { 's3:TlsVersion': 1.2 } } }),
      ]),
    );
  });

  test('keeps no versions (an export is redone from the table) and aborts incomplete multipart uploads after a day', () => {
    const [, bucket] = exportBucket();
    expect(bucket.Properties.VersioningConfiguration).toBeUndefined();
    expect(bucket.Properties.LifecycleConfiguration).toEqual({
      Rules: [{ AbortIncompleteMultipartUpload: { DaysAfterInitiation: 1 }, Status: 'Enabled' }],
    });
  });

  test('logs every access to a bucket of its own, as locked down, that keeps the logs a year', () => {
    const [, bucket] = exportBucket();
    const logsId = bucket.Properties.LoggingConfiguration.DestinationBucketName.Ref;
    const logs = json.Resources[logsId]!;
    expect(logs.Properties).toMatchObject({
      BucketEncryption: { ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }] },
      PublicAccessBlockConfiguration: { BlockPublicAcls: true, BlockPublicPolicy: true, IgnorePublicAcls: true, RestrictPublicBuckets: true },
      LifecycleConfiguration: { Rules: [{ ExpirationInDays: 365, Status: 'Enabled' }] },
    });
    expect(policyOf(logsId)).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
        expect.objectContaining({ Effect: 'Allow', Principal: { Service: 'logging.s3.amazonaws.com' }, Action: 's3:PutObject' }),
      ]),
    );
    // The export bucket, the ingest bucket, and the access logs of both.
    template.resourceCountIs('AWS::S3::Bucket', 3);
    expect(ingestBucket()[1].Properties.LoggingConfiguration.DestinationBucketName).toEqual({ Ref: logsId });
  });

  test('is retained with the table unless the stack is a throwaway one', () => {
    for (const [, bucket] of ofType('AWS::S3::Bucket')) expect(bucket.DeletionPolicy).toBe('Retain');
  });
});

describe('ingest', () => {
  const queues = () => ofType('AWS::SQS::Queue');
  const ingestQueue = () => {
    const found = queues().filter(([, q]) => q.Properties.VisibilityTimeout === INGEST_FUNCTION.queue.visibilityTimeoutSeconds);
    expect(found).toHaveLength(1);
    return found[0]!;
  };

  test('the bucket is locked down like the export bucket, keeps no versions, and expires objects and reports after 90 days', () => {
    const [, bucket] = ingestBucket();
    expect(bucket.Properties).toMatchObject({
      BucketEncryption: { ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }] },
      PublicAccessBlockConfiguration: { BlockPublicAcls: true, BlockPublicPolicy: true, IgnorePublicAcls: true, RestrictPublicBuckets: true },
      OwnershipControls: { Rules: [{ ObjectOwnership: 'BucketOwnerEnforced' }] },
    });
    expect(bucket.Properties.VersioningConfiguration).toBeUndefined();
    expect(bucket.Properties.LifecycleConfiguration.Rules).toEqual([
      { ExpirationInDays: 90, Prefix: 'incoming/jsonl/', Status: 'Enabled' },
      { ExpirationInDays: 90, Prefix: 'incoming/ubi/', Status: 'Enabled' },
      { ExpirationInDays: 90, Prefix: 'reports/', Status: 'Enabled' },
      { AbortIncompleteMultipartUpload: { DaysAfterInitiation: 1 }, Status: 'Enabled' },
    ]);
    const policy = ofType('AWS::S3::BucketPolicy').find(([, p]) => p.Properties.Bucket.Ref === ingestBucket()[0])![1];
    expect(policy.Properties.PolicyDocument.Statement).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ Effect: 'Deny', Action: 's3:*', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
        expect.objectContaining({ Effect: 'Deny', Action: 's3:*', Condition: { NumericLessThan: { 's3:TlsVersion': 1.2 } } }),
      ]),
    );
  });

  test('objects created under incoming/jsonl/ and incoming/ubi/ notify the queue, and nothing else does', () => {
    const [notifications] = ofType('Custom::S3BucketNotifications').map(([, r]) => r.Properties);
    expect(notifications.BucketName).toEqual({ Ref: ingestBucket()[0] });
    const [queueId] = ingestQueue();
    expect(notifications.NotificationConfiguration).toEqual({
      QueueConfigurations: Object.values(INGEST_PREFIXES).map((prefix) => ({
        Events: ['s3:ObjectCreated:*'],
        Filter: { Key: { FilterRules: [{ Name: 'prefix', Value: prefix }] } },
        QueueArn: { 'Fn::GetAtt': [queueId, 'Arn'] },
      })),
    });
    // S3 may send to the queue for this bucket only.
    const queuePolicy = ofType('AWS::SQS::QueuePolicy').find(([, p]) => p.Properties.Queues.some((q: any) => q.Ref === queueId))![1];
    expect(queuePolicy.Properties.PolicyDocument.Statement).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          Effect: 'Allow',
          Principal: { Service: 's3.amazonaws.com' },
          Condition: { ArnLike: { 'aws:SourceArn': { 'Fn::GetAtt': [ingestBucket()[0], 'Arn'] } } },
        }),
      ]),
    );
  });

  test('the queue hands a message to the dead-letter queue after 5 deliveries, waits six function timeouts, and both are encrypted and TLS-only', () => {
    const [queueId, queue] = ingestQueue();
    const deadLetterId = queue.Properties.RedrivePolicy.deadLetterTargetArn['Fn::GetAtt'][0];
    expect(queue.Properties).toMatchObject({
      SqsManagedSseEnabled: true,
      VisibilityTimeout: 6 * INGEST_FUNCTION.timeoutSeconds,
      RedrivePolicy: { maxReceiveCount: 5 },
    });
    expect(json.Resources[deadLetterId]!.Properties).toMatchObject({ SqsManagedSseEnabled: true, MessageRetentionPeriod: 14 * 24 * 3600 });
    for (const id of [queueId, deadLetterId]) {
      const policy = ofType('AWS::SQS::QueuePolicy').find(([, p]) => p.Properties.Queues.some((q: any) => q.Ref === id))![1];
      expect(policy.Properties.PolicyDocument.Statement).toEqual(
        expect.arrayContaining([expect.objectContaining({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } })]),
      );
    }
  });

  test('the function drains the queue in batches of 10, 5 calls at most, answering failed messages alone (partial batch responses)', () => {
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      EventSourceArn: { 'Fn::GetAtt': [ingestQueue()[0], 'Arn'] },
      FunctionName: { Ref: ingestFunction()[0] },
      BatchSize: 10,
      ScalingConfig: { MaximumConcurrency: 5 },
      FunctionResponseTypes: ['ReportBatchItemFailures'],
    });
  });

  test('the function is granted exactly its table writes, GetObject under incoming/, GetObject and PutObject under reports/, and its queue', () => {
    const [, fn] = ingestFunction();
    const [[tableId]] = ofType('AWS::DynamoDB::Table') as [[string, Resource]];
    const [queueId] = ingestQueue();
    const bucketArn = { 'Fn::GetAtt': [ingestBucket()[0], 'Arn'] };
    const under = (prefix: string) => ({ 'Fn::Join': ['', [bucketArn, `/${prefix}*`]] });
    const grants = statementsOf(fn)
      .filter((st) => actionsOf(st).some((a) => /^(dynamodb|s3|sqs):/.test(a)))
      .map((st) => ({ actions: actionsOf(st).sort(), resource: st.Resource }));
    expect(grants).toEqual(
      expect.arrayContaining([
        { actions: INGEST_FUNCTION.tableAccess.table.map((a) => `dynamodb:${a}`).sort(), resource: { 'Fn::GetAtt': [tableId, 'Arn'] } },
        // (CDK merges statements of the same actions, and of the same resource.)
        { actions: ['s3:GetObject'], resource: [under('incoming/jsonl/'), under('incoming/ubi/')] },
        { actions: ['s3:GetObject', 's3:PutObject'], resource: under('reports/') },
        {
          actions: [
            // The event source mapping's own,
            'sqs:ChangeMessageVisibility',
            'sqs:DeleteMessage',
            'sqs:GetQueueAttributes',
            'sqs:GetQueueUrl',
            'sqs:ReceiveMessage',
            // and continuations.
            'sqs:SendMessage',
          ],
          resource: { 'Fn::GetAtt': [queueId, 'Arn'] },
        },
      ]),
    );
    expect(grants).toHaveLength(4);
    expect(fn.Properties.Environment.Variables).toMatchObject({
      TABLE_NAME: { Ref: tableId },
      INGEST_BUCKET: { Ref: ingestBucket()[0] },
      INGEST_QUEUE_URL: { Ref: queueId },
    });
  });

  test('dead letters and rejected lines raise alarms to the topic', () => {
    const [[topicId]] = ofType('AWS::SNS::Topic') as [[string, Resource]];
    const deadLetterId = ingestQueue()[1].Properties.RedrivePolicy.deadLetterTargetArn['Fn::GetAtt'][0];
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'AWS/SQS',
      MetricName: 'ApproximateNumberOfMessagesVisible',
      Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [deadLetterId, 'QueueName'] } }],
      Threshold: 1,
      AlarmActions: [{ Ref: topicId }],
    });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'SessionImprovement',
      MetricName: 'LinesRejected',
      Dimensions: [{ Name: 'service', Value: 'session-improvement' }],
      Statistic: 'Sum',
      Threshold: 1,
      AlarmActions: [{ Ref: topicId }],
    });
  });
});

describe('release workflow', () => {
  const definition = () => stateMachineFromTemplate(json).definition;

  test('is a STANDARD state machine with logging of ALL events and tracing', () => {
    template.resourceCountIs('AWS::StepFunctions::StateMachine', 1);
    template.hasResourceProperties('AWS::StepFunctions::StateMachine', {
      StateMachineType: 'STANDARD',
      LoggingConfiguration: { Level: 'ALL', Destinations: [{ CloudWatchLogsLogGroup: { LogGroupArn: Match.anyValue() } }] },
      TracingConfiguration: { Enabled: true },
    });
  });

  test('its definition passes asl-validator', () => {
    const result = aslValidator(structuredClone(definition()));
    expect(result.errorsText()).toBe('');
    expect(result.isValid).toBe(true);
  });

  test('takes the release id from the input when given (a release over the API), else from the execution name', () => {
    const states = definition().States;
    expect(definition().StartAt).toBe(RELEASE_STATES.chooseReleaseId);
    expect(states[RELEASE_STATES.chooseReleaseId]).toMatchObject({
      Type: 'Choice',
      Choices: [{ Variable: '$.release_id', IsPresent: true, Next: RELEASE_STATES.releaseIdFromInput }],
      Default: RELEASE_STATES.releaseIdFromName,
    });
    expect(states[RELEASE_STATES.releaseIdFromInput]).toMatchObject({
      Type: 'Pass',
      Parameters: { 'release_id.$': '$.release_id' },
      Next: RELEASE_STATES.release,
    });
    expect(states[RELEASE_STATES.releaseIdFromName]).toMatchObject({
      Type: 'Pass',
      Parameters: { 'release_id.$': '$$.Execution.Name' },
      Next: RELEASE_STATES.release,
    });
  });

  test('invokes the release function with that release id, retrying transient errors with jitter', () => {
    const release = definition().States[RELEASE_STATES.release];
    const [[releaseFunctionId]] = [functionOf('ReleaseBatch')];
    expect(release.Parameters).toEqual({
      FunctionName: expect.stringContaining(`:function:${releaseFunctionId}`),
      Payload: { 'release_id.$': '$.release_id' },
    });
    expect(release.OutputPath).toBe('$.Payload');
    expect(release.Retry).toHaveLength(1);
    expect(release.Retry[0]).toMatchObject({ JitterStrategy: 'FULL', BackoffRate: 2 });
    expect(release.Retry[0].ErrorEquals).toEqual(
      expect.arrayContaining(['Lambda.ServiceException', 'Lambda.TooManyRequestsException', 'Lambda.Unknown', 'ServiceUnavailable']),
    );
    expect(release.Retry[0].ErrorEquals).not.toContain('NoCollectingBatch');
    expect(release.Catch).toEqual([expect.objectContaining({ ErrorEquals: ['NoCollectingBatch'], Next: RELEASE_STATES.nothingToAnnounce })]);
    expect(definition().States[RELEASE_STATES.nothingToAnnounce].Type).toBe('Succeed');
  });

  test('waits the schedule function timeout plus the margin before announcing', () => {
    const settle = definition().States[RELEASE_STATES.settle];
    expect(settle).toMatchObject({ Type: 'Wait', Next: RELEASE_STATES.startExport });
    expect(settle.Seconds).toBe(routeNamed('ScheduleSession').timeoutSeconds + SETTLE_MARGIN_SECONDS);
    expect(definition().States[RELEASE_STATES.release].Next).toBe(RELEASE_STATES.settle);
  });

  test('then exports the batch, calling the export function again from its cursor until it is done', () => {
    const states = definition().States;
    expect(states[RELEASE_STATES.startExport]).toEqual({
      Type: 'Pass',
      Comment: expect.any(String),
      Result: { done: false, cursor: null },
      ResultPath: '$.export',
      Next: RELEASE_STATES.export,
    });
    const exportTask = states[RELEASE_STATES.export];
    expect(exportTask).toMatchObject({
      Type: 'Task',
      Resource: expect.stringContaining(`:function:${exportFunction()[0]}`),
      Parameters: {
        'batch_id.$': '$.batch_id',
        'release_id.$': '$.release_id',
        'released_at.$': '$.released_at',
        'cursor.$': '$.export.cursor',
      },
      ResultPath: '$.export',
      Next: RELEASE_STATES.exportDone,
    });
    // Retried like the release; no Catch: a failed export fails the execution (WorkflowFailed).
    expect(exportTask.Retry).toEqual([expect.objectContaining({ ErrorEquals: [...TRANSIENT_RELEASE_ERRORS], JitterStrategy: 'FULL' })]);
    expect(exportTask.Catch).toBeUndefined();
    expect(states[RELEASE_STATES.exportDone]).toMatchObject({
      Type: 'Choice',
      Choices: [{ Variable: '$.export.done', BooleanEquals: true, Next: RELEASE_STATES.announce }],
      Default: RELEASE_STATES.export,
    });
  });

  test('gives an execution six hours, for the export of a very large batch to loop to its end', () => {
    template.hasResourceProperties('AWS::StepFunctions::StateMachine', { DefinitionString: Match.anyValue() });
    expect(definition().TimeoutSeconds).toBe(EXECUTION_TIMEOUT.toSeconds());
    expect(EXECUTION_TIMEOUT.toHours()).toBe(6);
  });

  test('may invoke exactly the release and export functions', () => {
    const [[, machine]] = ofType('AWS::StepFunctions::StateMachine') as [[string, Resource]];
    const roleId = machine.Properties.RoleArn['Fn::GetAtt'][0];
    const invoked = ofType('AWS::IAM::Policy')
      .filter(([, p]) => p.Properties.Roles.some((r: any) => r.Ref === roleId))
      .flatMap(([, p]) => p.Properties.PolicyDocument.Statement)
      .filter((st: any) => actionsOf(st).includes('lambda:InvokeFunction'))
      .flatMap((st: any) => [st.Resource].flat())
      .map((resource: any) => JSON.stringify(resource));
    const ids = new Set(invoked.map((r: string) => JSON.parse(r)['Fn::GetAtt']?.[0] ?? JSON.parse(r)['Fn::Join'][1][0]['Fn::GetAtt'][0]));
    expect([...ids].sort()).toEqual([functionOf('ReleaseBatch')[0], exportFunction()[0]].sort());
  });

  test('announces BatchReleased on the custom bus through the PutEvents service integration', () => {
    const announce = definition().States[RELEASE_STATES.announce];
    const [[busId]] = ofType('AWS::Events::EventBus') as [[string, Resource]];
    expect(announce.Resource).toBe('arn:aws:states:::events:putEvents');
    expect(announce.Parameters.Entries).toEqual([
      {
        Source: 'session-improvement',
        DetailType: 'BatchReleased',
        EventBusName: expect.stringContaining(`:event-bus/${busId}`),
        Detail: {
          'batch_id.$': '$.batch_id',
          'release_id.$': '$.release_id',
          'released_at.$': '$.released_at',
          export: {
            'bucket.$': '$.export.bucket',
            'manifest_key.$': '$.export.manifest_key',
            'sessions.$': '$.export.sessions',
            'events.$': '$.export.events',
          },
        },
      },
    ]);
    expect(announce.End).toBe(true);
  });
});

describe('releases made over the API', () => {
  const [pipe] = [() => ofType('AWS::Pipes::Pipe')];

  test('the table streams new images', () => {
    template.hasResourceProperties('AWS::DynamoDB::Table', { StreamSpecification: { StreamViewType: 'NEW_IMAGE' } });
  });

  test('a pipe from the table stream starts the release workflow with the release id of each first API release record', () => {
    const [[tableId]] = ofType('AWS::DynamoDB::Table') as [[string, Resource]];
    const [[machineId]] = ofType('AWS::StepFunctions::StateMachine') as [[string, Resource]];
    expect(pipe()).toHaveLength(1);
    const [[, resource]] = pipe() as [[string, Resource]];
    expect(resource.Properties).toMatchObject({
      Source: { 'Fn::GetAtt': [tableId, 'StreamArn'] },
      Target: { Ref: machineId },
      TargetParameters: {
        StepFunctionStateMachineParameters: { InvocationType: 'FIRE_AND_FORGET' },
        InputTemplate: API_RELEASE_INPUT,
      },
      SourceParameters: {
        DynamoDBStreamParameters: { StartingPosition: 'LATEST', DeadLetterConfig: { Arn: { 'Fn::GetAtt': [expect.stringMatching(/^ApiReleasesDeadLetters/), 'Arn'] } } },
        FilterCriteria: { Filters: [{ Pattern: JSON.stringify(API_RELEASE_PATTERN) }] },
      },
    });
  });

  test('the pipe may read the stream, start the workflow and write its dead-letter queue, nothing else', () => {
    const [[, resource]] = pipe() as [[string, Resource]];
    const roleId = resource.Properties.RoleArn['Fn::GetAtt'][0];
    const statements = ofType('AWS::IAM::Policy')
      .filter(([, p]) => p.Properties.Roles.some((r: any) => r.Ref === roleId))
      .flatMap(([, p]) => p.Properties.PolicyDocument.Statement);
    expect(statements.flatMap(actionsOf).sort()).toEqual(
      [
        'dynamodb:DescribeStream',
        'dynamodb:GetRecords',
        'dynamodb:GetShardIterator',
        'states:StartExecution',
        'sqs:SendMessage',
        'sqs:GetQueueAttributes',
        'sqs:GetQueueUrl',
      ].sort(),
    );
    for (const statement of statements) expect([statement.Resource].flat()).not.toContain('*');
  });

  test('its dead letters raise an alarm', () => {
    const [[, resource]] = pipe() as [[string, Resource]];
    const queueId = resource.Properties.SourceParameters.DynamoDBStreamParameters.DeadLetterConfig.Arn['Fn::GetAtt'][0];
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'AWS/SQS',
      MetricName: 'ApproximateNumberOfMessagesVisible',
      Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [queueId, 'QueueName'] } }],
    });
  });
});

describe('schedule', () => {
  test('starts the state machine on the context schedule, with a retry policy and a dead-letter queue', () => {
    const [[machineId]] = ofType('AWS::StepFunctions::StateMachine') as [[string, Resource]];
    const [queueId] = ofType('AWS::SQS::Queue').find(([id]) => id.startsWith('ScheduleDeadLetters'))!;
    template.resourceCountIs('AWS::Scheduler::Schedule', 1);
    template.hasResourceProperties('AWS::Scheduler::Schedule', {
      ScheduleExpression: DEFAULT_SCHEDULE_EXPRESSION,
      State: 'ENABLED',
      Target: {
        Arn: { Ref: machineId },
        RetryPolicy: { MaximumRetryAttempts: Match.anyValue(), MaximumEventAgeInSeconds: Match.anyValue() },
        DeadLetterConfig: { Arn: { 'Fn::GetAtt': [queueId, 'Arn'] } },
      },
    });
  });

  test('cdk.json sets no defaults of its own: schedule, removal policy and alarm address fall back to the stack\'s', () => {
    for (const key of ['scheduleExpression', 'tableRemovalPolicy', 'alarmEmail', 'apiThrottleRate', 'apiThrottleBurst', 'shardCount']) {
      expect(cdkJsonContext()).not.toHaveProperty(key);
    }
    expect(DEFAULT_SCHEDULE_EXPRESSION).toBe('cron(0 3 * * ? *)');
  });

  test('the dead-letter queue is encrypted and refuses plain HTTP', () => {
    template.hasResourceProperties('AWS::SQS::Queue', { SqsManagedSseEnabled: true });
    template.hasResourceProperties('AWS::SQS::QueuePolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
        ]),
      },
    });
  });
});

describe('operations', () => {
  const alarmActions = () => {
    const [[topicId]] = ofType('AWS::SNS::Topic') as [[string, Resource]];
    return [{ Ref: topicId }];
  };

  const alarmsOf = (namespace: string, metricName: string) =>
    ofType('AWS::CloudWatch::Alarm')
      .map(([, r]) => r.Properties)
      .filter((p) => p.Namespace === namespace && p.MetricName === metricName);

  test('every function has a throttles alarm to the topic', () => {
    for (const [functionId] of serviceFunctions()) {
      template.hasResourceProperties('AWS::CloudWatch::Alarm', {
        Namespace: 'AWS/Lambda',
        MetricName: 'Throttles',
        Dimensions: [{ Name: 'FunctionName', Value: { Ref: functionId } }],
        AlarmActions: alarmActions(),
      });
    }
  });

  test('Errors alarms watch only functions whose Errors mean a crash: not ReleaseBatch or ExportBatch, whose Errors count the workflow\'s retries; IngestObject answers failed messages, so its Errors are crashes', () => {
    // On the workflow path the release handler throws NoCollectingBatch whenever nothing was
    // scheduled since the last release, and ServiceUnavailable on every retried outage.
    const watched = alarmsOf('AWS/Lambda', 'Errors').map((p) => p.Dimensions[0].Value.Ref).sort();
    expect(watched).toEqual([functionOf('ScheduleSession')[0], functionOf('GetBatchPage')[0], ingestFunction()[0]].sort());
  });

  test('5xx answers of the API stage raise an alarm', () => {
    const [[apiId]] = ofType('AWS::ApiGatewayV2::Api') as [[string, Resource]];
    const [alarm, ...others] = alarmsOf('AWS/ApiGateway', '5xx');
    expect(others).toEqual([]);
    expect(alarm).toMatchObject({ Statistic: 'Sum', AlarmActions: alarmActions() });
    expect(alarm.Dimensions).toEqual(
      expect.arrayContaining([{ Name: 'ApiId', Value: { Ref: apiId } }, { Name: 'Stage', Value: '$default' }]),
    );
  });

  test('the handlers\' own failures raise alarms by code, on exactly the metric and dimensions the handlers publish', async () => {
    // A closed port: the store is unreachable (service_unavailable); a missing table is a bug (internal_error).
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const closedPort = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const probe = async (endpoint: string, table: string) => {
      const tsx = path.join(__dirname, '..', '..', 'node_modules', '.bin', 'tsx');
      const { stdout } = await promisify(execFile)(tsx, [path.join(__dirname, 'metrics-probe.ts'), endpoint, table], { timeout: 30_000 });
      return stdout
        .split('\n')
        .filter((line) => line.startsWith('{'))
        .map((line) => JSON.parse(line));
    };
    const published = [
      ...(await probe(process.env.DYNAMODB_ENDPOINT!, 'no-such-table')),
      ...(await probe(`http://127.0.0.1:${closedPort}`, 'unreachable')),
    ];

    const byCode = new Map<string, { namespace: string; name: string; dimensions: { Name: string; Value: string }[] }>();
    for (const record of published) {
      for (const directive of record._aws.CloudWatchMetrics) {
        for (const metric of directive.Metrics) {
          const dimensions = directive.Dimensions[0].map((name: string) => ({ Name: name, Value: record[name] }));
          byCode.set(record.code, { namespace: directive.Namespace, name: metric.Name, dimensions });
        }
      }
    }
    expect([...byCode.keys()].sort()).toEqual(['internal_error', 'service_unavailable']);
    for (const [code, metric] of byCode) {
      const alarms = alarmsOf(metric.namespace, metric.name).filter((p) =>
        p.Dimensions.some((d: { Name: string; Value: string }) => d.Name === 'code' && d.Value === code),
      );
      expect([code, alarms]).toEqual([code, [expect.objectContaining({ AlarmActions: alarmActions() })]]);
      const sorted = (ds: { Name: string }[]) => [...ds].sort((a, b) => a.Name.localeCompare(b.Name));
      expect(sorted(alarms[0].Dimensions)).toEqual(sorted(metric.dimensions));
    }
  }, 60_000);

  test('failed workflow executions and dead letters raise alarms to the topic', () => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'AWS/States',
      MetricName: 'ExecutionsFailed',
      AlarmActions: alarmActions(),
    });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'AWS/SQS',
      MetricName: 'ApproximateNumberOfMessagesVisible',
      AlarmActions: alarmActions(),
    });
  });

  test('the alarm topic is encrypted with a rotating key and refuses plain HTTP', () => {
    template.hasResourceProperties('AWS::SNS::Topic', { KmsMasterKeyId: Match.anyValue() });
    template.hasResourceProperties('AWS::KMS::Key', { EnableKeyRotation: true });
    template.hasResourceProperties('AWS::SNS::TopicPolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
        ]),
      },
    });
  });

  test('outputs the API URL, table name, state machine ARN, event bus, export and ingest buckets and alarm topic', () => {
    expect(Object.keys(json.Outputs).sort()).toEqual(
      ['AlarmTopicArn', 'ApiUrl', 'EventBusArn', 'EventBusName', 'ExportBucketName', 'IngestBucketName', 'StateMachineArn', 'TableName'].sort(),
    );
    expect((json.Outputs.IngestBucketName as { Value: unknown }).Value).toEqual({ Ref: ingestBucket()[0] });
    expect((json.Outputs.ExportBucketName as { Value: unknown }).Value).toEqual({ Ref: exportBucket()[0] });
    const [[topicId]] = ofType('AWS::SNS::Topic') as [[string, Resource]];
    expect((json.Outputs.AlarmTopicArn as { Value: unknown }).Value).toEqual({ Ref: topicId });
  });

  test('log groups AWS services deliver to are named under /aws/vendedlogs/, from the construct path', () => {
    // Step Functions and API Gateway add every log group they deliver to to the account's
    // CloudWatch Logs resource policy (5,120 characters at most) unless it is under this prefix.
    const named = ofType('AWS::Logs::LogGroup').filter(([, r]) => r.Properties.LogGroupName !== undefined);
    expect(named.map(([, r]) => r.Properties.LogGroupName).sort()).toEqual([
      expect.stringMatching(new RegExp(`^/aws/vendedlogs/apigateway/${STACK_NAME}-[A-Za-z0-9-]+$`)),
      expect.stringMatching(new RegExp(`^/aws/vendedlogs/states/${STACK_NAME}-ReleaseWorkflow-[A-Za-z0-9-]+$`)),
    ]);
    const [[, stateMachine]] = ofType('AWS::StepFunctions::StateMachine') as [[string, Resource]];
    const [[, stage]] = ofType('AWS::ApiGatewayV2::Stage') as [[string, Resource]];
    const logGroupOf = (arn: any) => json.Resources[arn['Fn::GetAtt'][0]]!.Properties.LogGroupName as string;
    expect(logGroupOf(stateMachine.Properties.LoggingConfiguration.Destinations[0].CloudWatchLogsLogGroup.LogGroupArn)).toMatch(/^\/aws\/vendedlogs\/states\//);
    expect(logGroupOf(stage.Properties.AccessLogSettings.DestinationArn)).toMatch(/^\/aws\/vendedlogs\/apigateway\//);
  });

  test('the event bus archives every announcement for a year, for consumers added later to replay', () => {
    const [[busId]] = ofType('AWS::Events::EventBus') as [[string, Resource]];
    template.hasResourceProperties('AWS::Events::Archive', {
      SourceArn: { 'Fn::GetAtt': [busId, 'Arn'] },
      EventPattern: { source: ['session-improvement'] },
      RetentionDays: 365,
    });
  });

  test('a dashboard shows requests, crashes and p99 per route, throttles, failures by code, schedules, releases and workflow runs', () => {
    const dashboards = ofType('AWS::CloudWatch::Dashboard');
    expect(dashboards).toHaveLength(1);
    const body = JSON.stringify(dashboards[0]![1].Properties.DashboardBody);
    for (const [functionId] of [...ROUTES.map((route) => functionOf(route.name)), exportFunction()]) {
      for (const metric of ['Invocations', 'Errors', 'Duration', 'Throttles']) {
        expect(body).toMatch(new RegExp(`AWS/Lambda.{0,20}${metric}.{0,40}FunctionName.{0,40}${functionId}`));
      }
    }
    expect(body).toContain('p99');
    for (const metric of ['"Count"', '"4xx"', '"5xx"', '"Latency"']) expect(body).toContain(metric.replace(/"/g, '\\"'));
    for (const metric of ['SessionScheduled', 'SessionSkipped', 'BatchReleased', 'RequestFailed']) expect(body).toContain(metric);
    for (const metric of ['ExecutionsStarted', 'ExecutionsSucceeded', 'ExecutionsFailed']) expect(body).toContain(metric);
  });

  test('hard-codes no other physical names', () => {
    const nameProperties: Record<string, string> = {
      'AWS::DynamoDB::Table': 'TableName',
      'AWS::Lambda::Function': 'FunctionName',
      'AWS::IAM::Role': 'RoleName',
      'AWS::StepFunctions::StateMachine': 'StateMachineName',
      'AWS::SQS::Queue': 'QueueName',
      'AWS::SNS::Topic': 'TopicName',
      'AWS::Scheduler::Schedule': 'Name',
      'AWS::S3::Bucket': 'BucketName',
    };
    for (const [type, property] of Object.entries(nameProperties)) {
      for (const [id, resource] of ofType(type)) expect([id, resource.Properties?.[property]]).toEqual([id, undefined]);
    }
  });
});

describe('security rules (cdk-nag AwsSolutions)', () => {
  test('synth reported no errors, and no warning but that nobody subscribes to the alarms (cdk.json sets no alarmEmail)', () => {
    expect(Annotations.fromStack(stack).findError('*', Match.anyValue())).toEqual([]);
    const warnings = Annotations.fromStack(stack).findWarning('*', Match.anyValue());
    expect(warnings.map((w) => w.entry.data)).toEqual([expect.stringMatching(/nobody is subscribed to the alarm topic/i)]);
  });

  test('every acknowledgement sits on a resource\'s construct, not the app or stack, with a one-line reason', () => {
    const acknowledgements: { path: string; id: string; reason: string }[] = [];
    const visit = (construct: IConstruct) => {
      for (const entry of construct.node.metadata) {
        if (entry.type !== 'aws:cdk:acknowledged-rules') continue;
        for (const [id, reason] of Object.entries(entry.data as Record<string, string>)) {
          acknowledgements.push({ path: construct.node.path, id, reason });
        }
      }
      construct.node.children.forEach(visit);
    };
    visit(app);
    expect(acknowledgements.length).toBeGreaterThan(0);
    for (const ack of acknowledgements) {
      expect(ack.path).not.toBe(stack.node.path);
      expect(ack.path.split('/').length).toBeGreaterThan(1);
      expect(ack.reason.trim().length).toBeGreaterThan(20);
      expect(ack.reason).not.toContain('\n');
    }
  });

  test('an unacknowledged finding fails synth (the checks really run on every synth)', () => {
    const brokenOutdir = mkdtempSync(path.join(tmpdir(), 'cdk-nag-negative-'));
    try {
      const { app: broken, stack: brokenStack } = buildApp({ outdir: brokenOutdir, bundle: false, validateTemplate: false });
      new sqs.Queue(brokenStack, 'PlainQueue', { encryption: sqs.QueueEncryption.UNENCRYPTED });
      expect(() => broken.synth()).toThrow(/AwsSolutions-SQS2/);
    } finally {
      rmSync(brokenOutdir, { recursive: true, force: true });
    }
  });
});

describe('stack props', () => {
  // The project's feature flags (as the real app has them: the access logs' bucket policy needs one), no bundling.
  const testAppContext = { ...cdkJsonContext(), 'aws:cdk:bundling-stacks': [] };
  const synthWithoutBundling = (props: ConstructorParameters<typeof SessionImprovementStack>[2]) => {
    const testApp = new App({ outdir, builtinCloudFormationValidation: false, context: testAppContext });
    return Template.fromStack(new SessionImprovementStack(testApp, 'PropsTest', props));
  };

  test('with an alarm address the topic has its e-mail subscription and synth warns of nothing', () => {
    const testApp = new App({ outdir, builtinCloudFormationValidation: false, context: testAppContext });
    const withEmail = new SessionImprovementStack(testApp, 'EmailTest', { alarmEmail: 'ops@example.com' });
    Template.fromStack(withEmail).hasResourceProperties('AWS::SNS::Subscription', { Protocol: 'email', Endpoint: 'ops@example.com' });
    expect(Annotations.fromStack(withEmail).findWarning('*', Match.anyValue())).toEqual([]);
  });

  test('a test stack can let its table and buckets be destroyed', () => {
    const destroyable = synthWithoutBundling({ tableRemovalPolicy: RemovalPolicy.DESTROY });
    destroyable.hasResource('AWS::DynamoDB::Table', {
      DeletionPolicy: 'Delete',
      Properties: Match.objectLike({ DeletionProtectionEnabled: false }),
    });
    expect(Object.values(destroyable.findResources('AWS::S3::Bucket')).map((b) => b.DeletionPolicy)).toEqual(['Delete', 'Delete', 'Delete']);
  });

  test('the schedule expression comes from the props, and a malformed one fails synth', () => {
    synthWithoutBundling({ scheduleExpression: 'rate(6 hours)' }).hasResourceProperties('AWS::Scheduler::Schedule', {
      ScheduleExpression: 'rate(6 hours)',
    });
    expect(() => synthWithoutBundling({ scheduleExpression: 'every day' })).toThrow(/scheduleExpression/);
    // Well-formed at a glance, refused by Scheduler at deploy: caught at synth.
    expect(() => synthWithoutBundling({ scheduleExpression: 'cron(0 3 * * *)' })).toThrow(/needs 6 fields/);
    expect(() => synthWithoutBundling({ scheduleExpression: 'rate(0 minutes)' })).toThrow(/at least 1/);
  });

  test('the default stage throttle does not cap the design load of 10,000 schedules per second', () => {
    expect(DEFAULT_API_THROTTLE.rateLimit).toBeGreaterThanOrEqual(10_000);
  });

  test('the shard count reaches every function, and one outside 1 to 64 fails synth', () => {
    const functions = Object.entries(synthWithoutBundling({ shardCount: 32 }).findResources('AWS::Lambda::Function'));
    const ours = functions.filter(([id]) => !id.startsWith('BucketNotificationsHandler'));
    expect(ours).toHaveLength(ROUTES.length + 2);
    for (const [, fn] of ours) expect(fn.Properties.Environment.Variables.SHARD_COUNT).toBe('32');
    expect(() => synthWithoutBundling({ shardCount: 0 })).toThrow(/shard count/);
    expect(() => synthWithoutBundling({ shardCount: 65 })).toThrow(/shard count/);
  });
});

describe('context', () => {
  const synthFromContext = (context: Record<string, unknown>) => {
    const { stack: contextStack } = buildApp({ outdir, context, bundle: false, validateTemplate: false });
    return Template.fromStack(contextStack);
  };

  test('apiThrottleRate and apiThrottleBurst set the stage throttle; one alone keeps the default of the other', () => {
    synthFromContext({ apiThrottleRate: '5000', apiThrottleBurst: 2500 }).hasResourceProperties('AWS::ApiGatewayV2::Stage', {
      DefaultRouteSettings: { ThrottlingRateLimit: 5000, ThrottlingBurstLimit: 2500 },
    });
    synthFromContext({ apiThrottleRate: 3000 }).hasResourceProperties('AWS::ApiGatewayV2::Stage', {
      DefaultRouteSettings: { ThrottlingRateLimit: 3000, ThrottlingBurstLimit: DEFAULT_API_THROTTLE.burstLimit },
    });
    expect(() => synthFromContext({ apiThrottleRate: 'fast' })).toThrow(/apiThrottleRate "fast" must be a whole number/);
  });

  test('shardCount sets SHARD_COUNT on the functions (the three handlers, the export and the ingest)', () => {
    const functions = Object.entries(synthFromContext({ shardCount: '8' }).findResources('AWS::Lambda::Function'));
    const ours = functions.filter(([id]) => !id.startsWith('BucketNotificationsHandler'));
    expect(ours).toHaveLength(ROUTES.length + 2);
    for (const [, fn] of ours) expect(fn.Properties.Environment.Variables.SHARD_COUNT).toBe('8');
  });
});
