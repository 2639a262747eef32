/**
 * The ingest function's own code (shared/ingest/ingest-task.ts) as SQS
 * invokes it: partial batch responses, S3's notification format,
 * continuations when time runs low, and — in a process of its own — a kill
 * mid-object and the memory a 50 MB object takes.
 */
import { fork } from 'node:child_process';
import * as path from 'node:path';
import type { Context, SQSEvent } from 'aws-lambda';
import { buildLambdaContext } from '../../infra/local/lambda-event';
import { INGEST_FUNCTION } from '../../shared/ingest/ingest-function';
import { ingestTask, objectsOf, type ObjectRef } from '../../shared/ingest/ingest-task';
import { invocationHandler } from '../../shared/http/middleware';
import { createS3Client } from '../../shared/s3-client';
import { createTestBucket, testBucket, testS3 } from '../support/export';
import { createTestTable, writer } from '../support/handlers';
import type { IngestChildAnswer } from '../support/ingest-child';
import { ingest, jsonlSessions, putObject, readReport, scan } from '../support/ingest';

beforeAll(async () => {
  await createTestTable();
  await createTestBucket();
});

const notification = (...keys: string[]) =>
  JSON.stringify({
    Records: keys.map((key) => ({
      eventName: 'ObjectCreated:Put',
      // As S3 writes it: URL-encoded, "+" for a space.
      s3: { bucket: { name: testBucket() }, object: { key: encodeURIComponent(key).replace(/%20/g, '+').replace(/%2F/g, '/') } },
    })),
  });

const sqsEvent = (...bodies: string[]): SQSEvent =>
  ({ Records: bodies.map((body, i) => ({ messageId: `m${i}`, body, eventSource: 'aws:sqs' })) }) as SQSEvent;

function taskWith(options: { s3?: ReturnType<typeof createS3Client>; writer?: ReturnType<typeof writer> } = {}) {
  const requeued: ObjectRef[] = [];
  const handler = invocationHandler(
    ingestTask({ s3: options.s3 ?? testS3(), writer: options.writer ?? writer(), requeue: async (object) => void requeued.push(object) }),
  );
  return { handler, requeued };
}

const context = () => buildLambdaContext(INGEST_FUNCTION.name, INGEST_FUNCTION.timeoutSeconds);

const sessionsOf = async (ids: string[]) => (await scan()).filter((item) => ids.includes(item.session_id));

test('a batch where one message fails answers that message alone; the others are imported', async () => {
  const good = jsonlSessions(2);
  const later = jsonlSessions(1);
  await putObject('incoming/jsonl/fn/good one.jsonl', good.text);
  await putObject('incoming/jsonl/fn/throttled.jsonl', later.text);
  // S3 answers 503 for one object, past the SDK's retries: an outage, worth a retry of that message.
  const s3 = createS3Client({ endpoint: process.env.S3_ENDPOINT!, maxAttempts: 1 });
  s3.middlewareStack.add(
    (next) => async (args) => {
      if ((args.input as { Key?: string }).Key === 'incoming/jsonl/fn/throttled.jsonl') {
        throw Object.assign(new Error('Slow Down'), { name: 'SlowDown', $metadata: { httpStatusCode: 503 } });
      }
      return next(args);
    },
    { step: 'initialize', name: 'slowDown' },
  );
  const { handler } = taskWith({ s3 });

  const response = await handler(
    sqsEvent(notification('incoming/jsonl/fn/good one.jsonl'), notification('incoming/jsonl/fn/throttled.jsonl'), JSON.stringify({ Event: 's3:TestEvent' }), 'not json'),
    context(),
  );

  expect(response).toEqual({ batchItemFailures: [{ itemIdentifier: 'm1' }, { itemIdentifier: 'm3' }] });
  expect(await readReport('incoming/jsonl/fn/good one.jsonl')).toMatchObject({ status: 'complete', sessions: 2 });
  expect(await sessionsOf(later.ids)).toEqual([]);
  // Delivered again once S3 answers: imported.
  expect(await taskWith().handler(sqsEvent(notification('incoming/jsonl/fn/throttled.jsonl')), context())).toEqual({ batchItemFailures: [] });
  expect((await sessionsOf(later.ids)).length).toBeGreaterThan(0);
});

test("S3's notification format: URL-encoded keys, several records, and events other than ObjectCreated", () => {
  expect(objectsOf(notification('incoming/jsonl/a b+c=%.jsonl', 'incoming/ubi/x.gz'))).toEqual([
    { bucket: testBucket(), key: 'incoming/jsonl/a b+c=%.jsonl' },
    { bucket: testBucket(), key: 'incoming/ubi/x.gz' },
  ]);
  const removed = JSON.stringify({ Records: [{ eventName: 'ObjectRemoved:Delete', s3: { bucket: { name: 'b' }, object: { key: 'k' } } }] });
  expect(objectsOf(removed)).toEqual([]);
  expect(objectsOf(JSON.stringify({ Event: 's3:TestEvent', Bucket: 'b' }))).toEqual([]);
  expect(objectsOf(JSON.stringify({ continue: { bucket: 'b', key: 'incoming/jsonl/k' } }))).toEqual([{ bucket: 'b', key: 'incoming/jsonl/k' }]);
  expect(() => objectsOf(JSON.stringify({ Records: [{ s3: {} }] }))).toThrow();
});

test('when time runs low mid-object, the call stops after a chunk and sends the object back to the queue; the continuation finishes it', async () => {
  const { ids, text } = jsonlSessions(1100, 1);
  const key = 'incoming/jsonl/fn/long.jsonl';
  await putObject(key, text);
  // Plenty of time until the first session is written, then none (middy's own timer was set at the start).
  let written = 0;
  const counting = writer();
  const upsert = counting.upsertSession.bind(counting);
  counting.upsertSession = async (session) => {
    written += 1;
    await upsert(session);
  };
  const { handler, requeued } = taskWith({ writer: counting });
  const runningOut: Context = { ...context(), getRemainingTimeInMillis: () => (written === 0 ? 300_000 : 0) };

  expect(await handler(sqsEvent(notification(key)), runningOut)).toEqual({ batchItemFailures: [] });
  expect(requeued).toEqual([{ bucket: testBucket(), key }]);
  expect(await readReport(key)).toMatchObject({ status: 'in_progress', resume_after_line: 500 });

  const next = taskWith();
  expect(await next.handler(sqsEvent(JSON.stringify({ continue: requeued[0] })), context())).toEqual({ batchItemFailures: [] });
  expect(next.requeued).toEqual([]);
  expect(await readReport(key)).toMatchObject({ status: 'complete', sessions: 1100, events: 1100, calls: 2 });
  expect((await sessionsOf(ids)).filter((item) => item.SK === '#SESSION')).toHaveLength(1100);
});

test('an object not started before the time runs low is sent back untouched', async () => {
  const key = 'incoming/jsonl/fn/not-started.jsonl';
  await putObject(key, jsonlSessions(1).text);
  const { handler, requeued } = taskWith();
  const noTime: Context = { ...context(), getRemainingTimeInMillis: () => 1_000 };
  expect(await handler(sqsEvent(notification(key)), noTime)).toEqual({ batchItemFailures: [] });
  expect(requeued).toEqual([{ bucket: testBucket(), key }]);
  await expect(readReport(key)).rejects.toMatchObject({ name: 'NoSuchKey' });
});

/** Runs the ingest function in a child process on one object's notification. */
function runChild(key: string, options: { checkpointEveryMs?: number; maxHeapMb?: number } = {}) {
  const child = fork(path.join(__dirname, '../support/ingest-child.ts'), [JSON.stringify({ key, checkpointEveryMs: options.checkpointEveryMs })], {
    execArgv: ['--import', 'tsx', ...(options.maxHeapMb ? [`--max-old-space-size=${options.maxHeapMb}`] : [])],
    env: { ...process.env },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const answer = new Promise<IngestChildAnswer>((resolve, reject) => {
    child.once('message', (message: IngestChildAnswer) => resolve(message));
    child.once('exit', (code, signal) => reject(new Error(`The ingest child exited (${code ?? signal}) before it answered`)));
  });
  answer.catch(() => undefined);
  return { child, answer };
}

test('the function killed mid-object: the retried message resumes from the checkpoint, and nothing is duplicated or lost', async () => {
  const { ids, text } = jsonlSessions(3000, 2);
  const key = 'incoming/jsonl/fn/killed.jsonl';
  await putObject(key, text);
  // A checkpoint after every chunk.
  const { child } = runChild(key, { checkpointEveryMs: 0 });
  let checkpoint;
  for (;;) {
    checkpoint = await readReport(key).catch(() => undefined);
    if (checkpoint?.status === 'in_progress' && checkpoint.resume_after_line! >= 500) break;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  child.kill('SIGKILL');
  await new Promise((resolve) => child.once('exit', resolve));
  expect(checkpoint.resume_after_line).toBeLessThan(3000);

  // SQS delivers the message again after its visibility timeout.
  expect((await ingest(key)).outcome).toBe('imported');

  const report = await readReport(key);
  expect(report).toMatchObject({ status: 'complete', lines: 3000, sessions: 3000, events: 6000, calls: 2, rejected: [] });
  const items = await sessionsOf(ids);
  expect(items.filter((item) => item.SK === '#SESSION')).toHaveLength(3000);
  expect(items.filter((item) => String(item.SK).startsWith('EVENT#'))).toHaveLength(6000);
}, 120_000);

/** The old-space heap the 50 MB import runs in (its bytes alone would need 50 MiB, its text as much again). */
const HEAP_CAP_MB = 40;

test('a 50 MB object is imported in memory bounded by a chunk, not by the object', async () => {
  // 1,600 sessions of about 32 KB, one event each: 50 MB of JSON Lines; chunks of 8 MB (about 250 sessions).
  const { text } = jsonlSessions(1600, 1, 32_600);
  const bytes = Buffer.byteLength(text);
  expect(bytes).toBeGreaterThan(50 * 1024 * 1024);
  const key = 'incoming/jsonl/fn/fifty-megabytes.jsonl';
  await putObject(key, text);

  // The function's V8 heap capped below the object's size: holding the object whole would crash it.
  const { answer } = runChild(key, { maxHeapMb: HEAP_CAP_MB });
  const { response, rssBeforeMb, peakRssMb } = await answer;

  expect(response).toEqual({ batchItemFailures: [] });
  expect(await readReport(key)).toMatchObject({ status: 'complete', sessions: 1600, rejected: [] });
  if (process.env.INGEST_TEST_REPORT) console.log(`50 MB object, heap capped at ${HEAP_CAP_MB} MiB: RSS ${rssBeforeMb.toFixed(1)} MiB before, peak ${peakRssMb.toFixed(1)} MiB`);
  // And the bytes held whole (outside the heap) would add 50 MiB to what the chunks and the
  // collector's slack take (37 to 57 MiB measured, on a busy machine).
  expect(peakRssMb - rssBeforeMb).toBeLessThan(80);
}, 240_000);
