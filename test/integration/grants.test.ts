/**
 * Least privilege, checked against behaviour: every DynamoDB call each
 * handler makes, over the paths that exercise all of its calls (first and
 * repeated schedules, a lost race, rolling a release forward, pages, releases
 * with and without a collecting batch), is recorded on the handlers' own
 * client and compared with what the route table grants it. A new call
 * without its grant fails here, and so does a grant no path uses. The same
 * for the export function: its DynamoDB calls and every S3 call it makes
 * (single and multipart uploads, a part given up), against EXPORT_FUNCTION;
 * and for the ingest function, against INGEST_FUNCTION.
 */
import type { Context } from 'aws-lambda';
import { buildLambdaContext } from '../../infra/local/lambda-event';
import { pagingStore } from '../../shared/data/dynamo-store';
import { documentClient, table } from '../../shared/data/store-from-env';
import { EXPORT_FUNCTION } from '../../shared/export/export-function';
import { exportTask } from '../../shared/export/export-task';
import { partKey, PART_LIMITS } from '../../shared/export/layout';
import { createS3Client } from '../../shared/s3-client';
import { s3Sink } from '../../shared/export/s3-sink';
import { invocationHandler } from '../../shared/http/middleware';
import { INGEST_FUNCTION } from '../../shared/ingest/ingest-function';
import { ingestTask } from '../../shared/ingest/ingest-task';
import { jsonlSessions, putObject } from '../support/ingest';
import { createTestBucket, exportKeys, seedReleasedBatch, testBucket } from '../support/export';
import { ROUTES, type BucketAccess, type DynamoAction, type Route, type S3Action } from '../../shared/routes';
import {
  createTestTable,
  pageOverHttp,
  releaseDirect,
  releaseOverHttp,
  scheduleOverHttp,
  seedSession,
  uniqueId,
  writer,
} from '../support/handlers';

/** The IAM action of each command the data layer sends (low-level command names). */
const ACTIONS: Record<string, DynamoAction> = {
  GetItemCommand: 'GetItem',
  QueryCommand: 'Query',
  PutItemCommand: 'PutItem',
  UpdateItemCommand: 'UpdateItem',
  BatchGetItemCommand: 'BatchGetItem',
  BatchWriteItemCommand: 'BatchWriteItem',
};

let recording: { table: Set<string>; index: Set<string> } | undefined;
documentClient.middlewareStack.add(
  (next, context) => async (args) => {
    if (recording) {
      const command = context.commandName ?? 'unknown';
      const action = ACTIONS[command] ?? command;
      ((args.input as { IndexName?: string }).IndexName ? recording.index : recording.table).add(action);
    }
    return next(args);
  },
  { step: 'initialize', name: 'grantsRecorder' },
);

/** The actions a handler called while `paths` ran. */
async function calledBy(paths: () => Promise<unknown>) {
  recording = { table: new Set(), index: new Set() };
  try {
    await paths();
    return { table: [...recording.table].sort(), index: [...recording.index].sort() };
  } finally {
    recording = undefined;
  }
}

const granted = (route: Route) => ({ table: [...route.tableAccess.table].sort(), index: [...route.tableAccess.index].sort() });
const routeNamed = (name: Route['name']) => ROUTES.find((r) => r.name === name)!;

beforeAll(async () => {
  await createTestTable();
  await createTestBucket();
});

test('ScheduleSession calls exactly what it is granted', async () => {
  const eligible = await seedSession({}, 1);
  const racing = await seedSession({}, 1);
  const afterRelease = await seedSession({}, 1);
  const noEvents = await seedSession({}, 0);
  await scheduleOverHttp(await seedSession({}, 1));

  const called = await calledBy(async () => {
    await scheduleOverHttp(eligible);
    await scheduleOverHttp(eligible);
    await scheduleOverHttp(noEvents);
    await scheduleOverHttp('no-such-session');
    // Two at once: one loses the conditional assignment and reads the winner's.
    await Promise.all([scheduleOverHttp(racing), scheduleOverHttp(racing)]);
    recording = undefined;
    await releaseOverHttp(uniqueId('release'));
    recording = { table: new Set(), index: new Set() };
    // Finds the batch released: rolls the release record forward, opens the next batch.
    await scheduleOverHttp(afterRelease);
  });

  expect(called).toEqual(granted(routeNamed('ScheduleSession')));
});

test('GetBatchPage calls exactly what it is granted', async () => {
  const scheduled = await scheduleOverHttp(await seedSession({}, 2));

  const called = await calledBy(async () => {
    await pageOverHttp({ batch_id: scheduled.body.batch_id });
    await pageOverHttp({ batch_id: '999999' });
  });

  expect(called).toEqual(granted(routeNamed('GetBatchPage')));
});

test('ReleaseBatch calls exactly what it is granted, over HTTP and from the workflow', async () => {
  await scheduleOverHttp(await seedSession({}, 1));
  const releaseId = uniqueId('release');

  const called = await calledBy(async () => {
    await releaseOverHttp(releaseId);
    await releaseOverHttp(releaseId);
    await releaseOverHttp(uniqueId('nothing-collecting'));
    await releaseDirect({ release_id: releaseId });
  });

  expect(called).toEqual(granted(routeNamed('ReleaseBatch')));
});

/** An S3 client that records every call it makes (its command, and the key it names). */
function recordingS3() {
  const s3 = createS3Client({ endpoint: process.env.S3_ENDPOINT });
  const s3Calls: { command: string; key: string }[] = [];
  s3.middlewareStack.add(
    (next, context) => async (args) => {
      s3Calls.push({ command: context.commandName ?? 'unknown', key: (args.input as { Key: string }).Key });
      return next(args);
    },
    { step: 'initialize', name: 's3GrantsRecorder' },
  );
  return { s3, s3Calls };
}

/** Each (prefix, action) a bucket access grants, as "prefix*: action". */
const s3Grants = (access: BucketAccess) => access.flatMap(({ prefix, actions }) => actions.map((a) => `${prefix}*: ${a}`)).sort();

/** Each (prefix, action) the calls needed; a key under no granted prefix shows as itself. */
const s3GrantsUsed = (calls: { command: string; key: string }[], access: BucketAccess) =>
  [
    ...new Set(
      calls.map(({ command, key }) => `${access.find((g) => key.startsWith(g.prefix))?.prefix ?? key}*: ${S3_ACTIONS[command] ?? command}`),
    ),
  ].sort();

/** The IAM action each S3 command needs: lib-storage's Upload builds an object with the first four. */
const S3_ACTIONS: Record<string, S3Action> = {
  GetObjectCommand: 'GetObject',
  HeadObjectCommand: 'GetObject',
  PutObjectCommand: 'PutObject',
  CreateMultipartUploadCommand: 'PutObject',
  UploadPartCommand: 'PutObject',
  CompleteMultipartUploadCommand: 'PutObject',
  AbortMultipartUploadCommand: 'AbortMultipartUpload',
};

test('ExportBatch calls exactly what it is granted: its reads, and PutObject and AbortMultipartUpload under batches/', async () => {
  // Incompressible sessions of ~350 KB: parts of 30 are stored by multipart upload (over 5 MiB of gzip).
  const random = (n: number) => Array.from({ length: n }, () => Math.random().toString(36).slice(2)).join('');
  const { batchId, release } = await seedReleasedBatch(Array.from({ length: 70 }, () => ({ overrides: { search_query: random(32_000) } })));

  const { s3, s3Calls } = recordingS3();
  const handler = invocationHandler(exportTask({ store: pagingStore(table), sink: s3Sink(s3, testBucket()), limits: { ...PART_LIMITS, maxSessions: 30 } }));
  // Time runs out once part 1's multipart upload has sent a part: that part is given up (aborted).
  const lambdaContext = buildLambdaContext(EXPORT_FUNCTION.name, EXPORT_FUNCTION.timeoutSeconds);
  const runningOutAfterPart1Starts: Context = {
    ...lambdaContext,
    getRemainingTimeInMillis: () =>
      s3Calls.some((c) => c.command === 'UploadPartCommand' && c.key === partKey(batchId, 1)) ? 0 : lambdaContext.getRemainingTimeInMillis(),
  };
  const payload = { batch_id: batchId, release_id: release.release_id, released_at: release.released_at, cursor: null };

  let stopped: { done: boolean; cursor?: unknown } | undefined;
  const dynamo = await calledBy(async () => {
    stopped = (await handler(payload, runningOutAfterPart1Starts)) as typeof stopped;
    // The part given up left nothing behind.
    expect(await exportKeys(batchId)).toEqual([partKey(batchId, 0)]);
    const done = (await handler({ ...payload, cursor: stopped!.cursor }, buildLambdaContext(EXPORT_FUNCTION.name, EXPORT_FUNCTION.timeoutSeconds))) as { done: boolean };
    expect(done.done).toBe(true);
  });

  expect(stopped?.done).toBe(false);
  expect(s3Calls.map((c) => c.command)).toEqual(expect.arrayContaining(['CreateMultipartUploadCommand', 'UploadPartCommand', 'CompleteMultipartUploadCommand', 'AbortMultipartUploadCommand', 'PutObjectCommand']));
  expect(dynamo).toEqual({ table: [...EXPORT_FUNCTION.tableAccess.table].sort(), index: [...EXPORT_FUNCTION.tableAccess.index].sort() });
  expect(s3GrantsUsed(s3Calls, EXPORT_FUNCTION.bucketAccess)).toEqual(s3Grants(EXPORT_FUNCTION.bucketAccess));
  expect(await exportKeys(batchId)).toEqual([0, 1, 2].map((i) => partKey(batchId, i)).concat(`batches/${batchId}/manifest.json`).sort());
}, 120_000);

test('IngestObject calls exactly what it is granted: its table writes, GetObject under incoming/, GetObject and PutObject under reports/', async () => {
  const { s3, s3Calls } = recordingS3();
  const scheduled = await seedSession({}, 1);
  await scheduleOverHttp(scheduled);
  const fresh = jsonlSessions(3);
  await putObject('incoming/jsonl/grants.jsonl', fresh.text);
  await putObject('incoming/ubi/grants.ndjson', '{"query_id":"grants-q","user_query":"tv","timestamp":1790000000000}\n');
  const handler = invocationHandler(ingestTask({ s3, writer: writer(), requeue: async () => undefined }));
  const body = (key: string) => JSON.stringify({ Records: [{ eventName: 'ObjectCreated:Put', s3: { bucket: { name: testBucket() }, object: { key } } }] });
  const event = (...keys: string[]) => ({ Records: keys.map((key, i) => ({ messageId: `m${i}`, body: body(key), eventSource: 'aws:sqs' })) });
  const lambdaContext = () => buildLambdaContext(INGEST_FUNCTION.name, INGEST_FUNCTION.timeoutSeconds);

  const dynamo = await calledBy(async () => {
    expect(await handler(event('incoming/jsonl/grants.jsonl', 'incoming/ubi/grants.ndjson') as never, lambdaContext())).toEqual({ batchItemFailures: [] });
    // Delivered again: read the report, nothing else.
    expect(await handler(event('incoming/jsonl/grants.jsonl') as never, lambdaContext())).toEqual({ batchItemFailures: [] });
  });

  expect(dynamo).toEqual({ table: [...INGEST_FUNCTION.tableAccess.table].sort(), index: [...INGEST_FUNCTION.tableAccess.index].sort() });
  expect(s3GrantsUsed(s3Calls, INGEST_FUNCTION.bucketAccess)).toEqual(s3Grants(INGEST_FUNCTION.bucketAccess));
});
