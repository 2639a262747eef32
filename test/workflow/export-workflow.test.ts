/**
 * (e) The synthesized release workflow with its export: release → settle
 * wait → export (looping on the cursor the function returns) → announce,
 * the release and export tasks answered by the real handlers on this file's
 * table and bucket. The announcement says where the export is, and the
 * export there is the batch.
 */
import type { Context } from 'aws-lambda';
import { RELEASE_STATES } from '../../infra/constructs/release-workflow';
import { buildLambdaContext } from '../../infra/local/lambda-event';
import {
  runReleaseWorkflow,
  stateMachineFromTemplate,
  type PutEventsEntry,
  type ReleaseRunOptions,
  type SynthesizedStateMachine,
} from '../../infra/local/stepfunctions/state-machine';
import { pagingStore } from '../../shared/data/dynamo-store';
import { table } from '../../shared/data/store-from-env';
import { ServiceUnavailable } from '../../shared/domain/errors';
import { EXPORT_FUNCTION } from '../../shared/export/export-function';
import { EXPORT_TIME_RESERVE_MS, exportTask } from '../../shared/export/export-task';
import { manifestKey, PART_LIMITS } from '../../shared/export/layout';
import { s3Sink } from '../../shared/export/s3-sink';
import { invocationHandler } from '../../shared/http/middleware';
import { createTestBucket, expectedLine, exportDirect, readExport, testBucket, testS3, walkBatch } from '../support/export';
import { createTestTable, releaseDirect, scheduleOverHttp, seedSession, uniqueId } from '../support/handlers';
import { synthesizedTemplate } from '../support/synthesized';

const store = pagingStore(table);

let machine: SynthesizedStateMachine;

beforeAll(async () => {
  await createTestTable();
  await createTestBucket();
  machine = stateMachineFromTemplate(synthesizedTemplate());
}, 60_000);

/** Schedules `count` fresh sessions into the collecting batch (after releasing whatever was collecting). */
async function collectingBatchOf(count: number): Promise<string> {
  await releaseDirect({ release_id: uniqueId('drain') }).catch((error: Error) => {
    if (error.name !== 'NoCollectingBatch') throw error;
  });
  let batchId = '';
  for (let i = 0; i < count; i++) {
    const answer = await scheduleOverHttp(await seedSession({}, 1 + (i % 3)));
    batchId = answer.body.batch_id;
  }
  return batchId;
}

async function run(invokeExport: ReleaseRunOptions['invokeExport'] = exportDirect) {
  const published: PutEventsEntry[] = [];
  const result = await runReleaseWorkflow(machine, {
    executionName: uniqueId('exec'),
    invokeRelease: releaseDirect,
    invokeExport,
    publish: (entries) => void published.push(...entries),
    settleWaitMs: 0,
    retryIntervalMs: 0,
  });
  return { ...result, published };
}

/** The announced export must be the batch, session for session. */
async function expectAnnouncedExportIsTheBatch(published: PutEventsEntry[], batchId: string) {
  expect(published).toHaveLength(1);
  const detail = published[0]!.Detail as { batch_id: string; export: { bucket: string; manifest_key: string; sessions: number; events: number } };
  const walked = await walkBatch(store, batchId);
  const stored = await readExport(batchId);
  expect(detail.batch_id).toBe(batchId);
  expect(detail.export).toEqual({
    bucket: testBucket(),
    manifest_key: manifestKey(batchId),
    sessions: walked.length,
    events: walked.reduce((n, s) => n + s.events.length, 0),
  });
  expect(stored.manifest).toMatchObject({ batch_id: batchId, sessions: detail.export.sessions, events: detail.export.events });
  expect(stored.lines).toEqual(walked.map(expectedLine));
  return stored;
}

test('(e) release → settle wait → export → announce: BatchReleased says where the export is, and it is the batch', async () => {
  const batchId = await collectingBatchOf(5);

  const result = await run();

  expect(result.status).toBe('SUCCEEDED');
  expect(result.statesEntered).toEqual([
    RELEASE_STATES.chooseReleaseId,
    RELEASE_STATES.releaseIdFromName,
    RELEASE_STATES.release,
    RELEASE_STATES.settle,
    RELEASE_STATES.startExport,
    RELEASE_STATES.export,
    RELEASE_STATES.exportDone,
    RELEASE_STATES.announce,
  ]);
  const stored = await expectAnnouncedExportIsTheBatch(result.published, batchId);
  expect(stored.manifest.release_id).toBe(result.output.release_id);
  expect(stored.manifest.released_at).toBe(result.output.released_at);
});

test('an export that runs low on time returns a cursor and the workflow calls it again from there, until done', async () => {
  const batchId = await collectingBatchOf(7);
  // The real middleware and task, with parts of two sessions; each call starts at its reserve, so it writes one part.
  const handler = invocationHandler(exportTask({ store, sink: s3Sink(testS3(), testBucket()), limits: { ...PART_LIMITS, maxSessions: 2 } }));
  const answers: { done: boolean; parts?: number }[] = [];
  const result = await run(async (payload) => {
    const context: Context = buildLambdaContext(EXPORT_FUNCTION.name, EXPORT_TIME_RESERVE_MS / 1000);
    const answer = (await handler(payload, context)) as { done: boolean; cursor?: { parts: unknown[] } };
    answers.push({ done: answer.done, parts: answer.cursor?.parts.length });
    return answer;
  });

  expect(result.status).toBe('SUCCEEDED');
  expect(answers).toEqual([
    { done: false, parts: 1 },
    { done: false, parts: 2 },
    { done: false, parts: 3 },
    { done: true, parts: undefined },
  ]);
  expect(result.statesEntered.filter((name) => name === RELEASE_STATES.export)).toHaveLength(4);
  expect(result.statesEntered.at(-1)).toBe(RELEASE_STATES.announce);
  const stored = await expectAnnouncedExportIsTheBatch(result.published, batchId);
  expect(stored.manifest.parts.map((p) => p.sessions)).toEqual([2, 2, 2, 1]);
});

test('transient export failures are retried (the handler out of time, the function killed at its timeout, Lambda throttling)', async () => {
  const batchId = await collectingBatchOf(3);
  const injected = [
    new ServiceUnavailable('The database is unavailable right now (injected).'),
    Object.assign(new Error('killed at its timeout (injected)'), { name: 'Sandbox.Timedout' }),
    Object.assign(new Error('throttled (injected)'), { name: 'Lambda.TooManyRequestsException' }),
  ];
  let attempts = 0;
  const result = await run(async (payload) => {
    attempts++;
    if (injected.length > 0) throw injected.shift();
    return exportDirect(payload);
  });

  expect(result.status).toBe('SUCCEEDED');
  expect(attempts).toBe(4);
  expect(result.events.filter((e) => e.type === 'StateRetried' && e.state.name === RELEASE_STATES.export)).toHaveLength(3);
  await expectAnnouncedExportIsTheBatch(result.published, batchId);
});

test('an export that fails for good fails the execution (the WorkflowFailed alarm) and nothing is announced', async () => {
  await collectingBatchOf(2);
  let attempts = 0;
  const result = await run(async (payload) => {
    attempts++;
    // A cursor that is not this batch's: refused, not retried.
    return exportDirect({ ...(payload as object), cursor: { after_number: 0, parts: [{ key: 'elsewhere', sessions: 1, events: 0, bytes: 1, sha256: '0'.repeat(64) }] } });
  });

  expect(result.status).toBe('FAILED');
  expect(result.error).toEqual({ name: 'InvalidRequest', message: "The cursor names parts that are not this batch's, in order." });
  expect(attempts).toBe(1);
  expect(result.published).toEqual([]);
});
