/**
 * The route table, defined once: the CDK stack makes one Lambda function and
 * one HTTP API route of each entry, and the local server serves the same
 * handlers on the same paths, so the two cannot drift.
 */

/** DynamoDB actions, as IAM names them without the `dynamodb:` prefix. */
export type DynamoAction = 'GetItem' | 'Query' | 'PutItem' | 'UpdateItem' | 'BatchGetItem' | 'BatchWriteItem';

/** S3 actions, as IAM names them without the `s3:` prefix (GetObject also allows HeadObject). */
export type S3Action = 'GetObject' | 'PutObject' | 'AbortMultipartUpload';

/**
 * Exactly the S3 actions a function calls, by key prefix of its bucket: each
 * entry grants `actions` on `<prefix>*` and nothing else.
 */
export type BucketAccess = readonly { prefix: string; actions: readonly S3Action[] }[];

/**
 * Exactly the DynamoDB actions a handler calls: on the table's items, and on
 * its batch index (GSI1). The stack grants these and nothing else;
 * test/integration/grants.test.ts records what each handler really calls and
 * fails when the two differ.
 */
export interface TableAccess {
  table: readonly DynamoAction[];
  index: readonly DynamoAction[];
}

export interface Route {
  /** Logical name of the function (CDK construct id, log and metric names). */
  name: 'ScheduleSession' | 'GetBatchPage' | 'ReleaseBatch';
  method: 'GET' | 'POST';
  path: string;
  /** Handler module, relative to the project root; it exports `handler`. */
  entry: string;
  /** What the function may do to the table: exactly what it calls. */
  tableAccess: TableAccess;
  /** Lambda timeout: also the schedule deadline the release settle window is derived from. */
  timeoutSeconds: number;
  memoryMiB: number;
}

export const ROUTES = [
  {
    name: 'ScheduleSession',
    method: 'POST',
    path: '/session/use-for-improvement',
    entry: 'functions/schedule-session.ts',
    // PutItem: rolling a crashed release forward writes its release record.
    tableAccess: { table: ['Query', 'GetItem', 'UpdateItem', 'PutItem'], index: [] },
    timeoutSeconds: 10,
    memoryMiB: 512,
  },
  {
    name: 'GetBatchPage',
    method: 'GET',
    path: '/batch/sessions',
    entry: 'functions/get-batch-page.ts',
    tableAccess: { table: ['GetItem', 'Query'], index: ['Query'] },
    timeoutSeconds: 20,
    memoryMiB: 1024,
  },
  {
    name: 'ReleaseBatch',
    method: 'POST',
    path: '/batch/release',
    entry: 'functions/release-batch.ts',
    tableAccess: { table: ['GetItem', 'UpdateItem', 'PutItem'], index: [] },
    timeoutSeconds: 10,
    memoryMiB: 512,
  },
] as const satisfies readonly Route[];

export const routeNamed = (name: Route['name']): Route => {
  const route = ROUTES.find((r) => r.name === name);
  if (!route) throw new Error(`No route named ${name}`);
  return route;
};
