/**
 * The release workflow as synthesized (not a hand copy), run locally with
 * aws-local-stepfunctions: the release task calls the real release handler on
 * this file's dynalite table, the announce task records what it would put on
 * EventBridge. The settle Wait is short-circuited; its length is asserted in
 * test/infra/stack.test.ts.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { buildApp, STACK_NAME } from '../../infra/build-app';
import { RELEASE_STATES } from '../../infra/constructs/release-workflow';
import {
  runReleaseWorkflow,
  stateMachineFromTemplate,
  type PutEventsEntry,
  type ReleaseRunOptions,
  type SynthesizedStateMachine,
} from '../../infra/local/state-machine';
import { InvalidRequest, ServiceUnavailable } from '../../shared/domain/errors';
import { createTestTable, releaseDirect, scheduleOverHttp, seedSession, uniqueId } from '../support/handlers';

let machine: SynthesizedStateMachine;

beforeAll(async () => {
  await createTestTable();
  const outdir = mkdtempSync(path.join(tmpdir(), 'cdk-workflow-test-'));
  try {
    // The definition does not depend on the bundles: skip esbuild for speed.
    const { app } = buildApp({ outdir, bundle: false, validateTemplate: false });
    machine = stateMachineFromTemplate(app.synth().getStackByName(STACK_NAME).template);
  } finally {
    rmSync(outdir, { recursive: true, force: true });
  }
}, 60_000);

/** The real handler, invoked as Step Functions' Lambda integration would (bare payload). */
const realRelease = (payload: unknown) => releaseDirect(payload);

async function run(executionName: string, invokeRelease: ReleaseRunOptions['invokeRelease'] = realRelease) {
  const published: PutEventsEntry[] = [];
  const result = await runReleaseWorkflow(machine, {
    executionName,
    invokeRelease,
    publish: (entries) => void published.push(...entries),
    settleWaitMs: 0,
    retryIntervalMs: 0,
  });
  return { ...result, published };
}

/** Schedules a fresh eligible session and returns the batch it landed in. */
async function scheduleOne(): Promise<string> {
  const scheduled = await scheduleOverHttp(await seedSession());
  expect(scheduled.body.status).toBe('scheduled');
  return scheduled.body.batch_id;
}

/** Releases whatever is collecting, so a test starts from "nothing collecting". */
async function drainCollecting(): Promise<void> {
  await releaseDirect({ release_id: uniqueId('drain') }).catch((error: Error) => {
    if (error.name !== 'NoCollectingBatch') throw error;
  });
}

/** Throws an error with the name Step Functions would report (Lambda's errors are not classes here). */
const namedError = (name: string) => Object.assign(new Error(`${name} (injected)`), { name });

beforeEach(drainCollecting);

test('(a) a collecting batch is released, the window settles, and BatchReleased announces that batch', async () => {
  const batchId = await scheduleOne();
  const executionName = uniqueId('exec');

  const result = await run(executionName);

  expect(result.status).toBe('SUCCEEDED');
  expect(result.statesEntered).toEqual([RELEASE_STATES.release, RELEASE_STATES.settle, RELEASE_STATES.announce]);
  expect(result.published).toEqual([
    {
      Source: 'session-improvement',
      DetailType: 'BatchReleased',
      EventBusName: expect.stringContaining(':event-bus/'),
      Detail: { batch_id: batchId, release_id: executionName, released_at: expect.any(Number) },
    },
  ]);
  expect(result.output).toMatchObject({ batch_id: batchId, release_id: executionName });
  expect(result.output.announcement.event_id).toEqual(expect.any(String));
  // Released for real: nothing is collecting any more.
  await expect(releaseDirect({ release_id: uniqueId('after') })).rejects.toMatchObject({ name: 'NoCollectingBatch' });
});

test('(b) with nothing collecting the execution succeeds with nothing to announce', async () => {
  const result = await run(uniqueId('exec'));

  expect(result.status).toBe('SUCCEEDED');
  expect(result.statesEntered).toEqual([RELEASE_STATES.release, RELEASE_STATES.nothingToAnnounce]);
  expect(result.published).toEqual([]);
  expect(result.output.error.Error).toBe('NoCollectingBatch');
});

test('(c) two transient failures are retried, and the batch is released exactly once', async () => {
  const batchId = await scheduleOne();
  const executionName = uniqueId('exec');
  const realResults: { batch_id: string; released_at: number }[] = [];
  let attempts = 0;
  const flaky = async (payload: unknown) => {
    attempts++;
    // Throttled before the handler ran.
    if (attempts === 1) throw namedError('Lambda.TooManyRequestsException');
    const release = (await realRelease(payload)) as { batch_id: string; released_at: number };
    realResults.push(release);
    // The handler released, but the answer was lost: the retry must not release another batch.
    if (attempts === 2) throw new ServiceUnavailable('store timed out after the write (injected)');
    return release;
  };

  const result = await run(executionName, flaky);

  expect(result.status).toBe('SUCCEEDED');
  expect(attempts).toBe(3);
  expect(result.events.filter((e) => e.type === 'StateRetried')).toHaveLength(2);
  expect(realResults.map((r) => r.batch_id)).toEqual([batchId, batchId]);
  expect(realResults[1]).toEqual(realResults[0]);
  expect(result.published).toHaveLength(1);
  expect(result.published[0]!.Detail).toEqual({ batch_id: batchId, release_id: executionName, released_at: realResults[0]!.released_at });
  await expect(releaseDirect({ release_id: uniqueId('after') })).rejects.toMatchObject({ name: 'NoCollectingBatch' });
});

test('a release that runs out of time is retried, whether the handler gave up or Lambda killed it', async () => {
  const batchId = await scheduleOne();
  let attempts = 0;
  const outOfTime = async (payload: unknown) => {
    attempts++;
    // Lambda killed the function at its timeout (what Step Functions reports then).
    if (attempts === 1) throw namedError('Sandbox.Timedout');
    // The handler gave up just before its timeout (shared/http/middleware.ts).
    if (attempts === 2) throw new ServiceUnavailable('The request ran out of time before the database answered (injected)');
    return realRelease(payload);
  };

  const result = await run(uniqueId('exec'), outOfTime);

  expect(result.status).toBe('SUCCEEDED');
  expect(attempts).toBe(3);
  expect(result.events.filter((e) => e.type === 'StateRetried')).toHaveLength(2);
  expect(result.published.map((entry) => entry.Detail)).toEqual([expect.objectContaining({ batch_id: batchId })]);
});

test('a non-transient error is not retried: the execution fails and nothing is announced', async () => {
  await scheduleOne();
  let attempts = 0;
  const result = await run(uniqueId('exec'), async () => {
    attempts++;
    throw new InvalidRequest('release_id is malformed (injected)');
  });

  expect(result.status).toBe('FAILED');
  expect(result.error?.name).toBe('InvalidRequest');
  expect(attempts).toBe(1);
  expect(result.published).toEqual([]);
});

test('(d) re-running the same execution name releases nothing new and announces the same batch', async () => {
  const firstBatch = await scheduleOne();
  const executionName = uniqueId('exec');
  const first = await run(executionName);
  // A session scheduled after the release opens the next batch.
  const nextBatch = await scheduleOne();
  expect(nextBatch).not.toBe(firstBatch);

  const again = await run(executionName);

  expect(again.status).toBe('SUCCEEDED');
  expect(again.published).toEqual(first.published);
  expect(again.published[0]!.Detail).toMatchObject({ batch_id: firstBatch, release_id: executionName });
  // The next batch is still collecting: the re-run did not release it.
  const release = (await releaseDirect({ release_id: uniqueId('next') })) as { batch_id: string };
  expect(release.batch_id).toBe(nextBatch);
});
