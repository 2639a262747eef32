/**
 * The release workflow as synthesized (not a hand copy), run locally with
 * aws-local-stepfunctions: the release task calls the real release handler on
 * this file's dynalite table, the announce task records what it would put on
 * EventBridge. The settle Wait is short-circuited; its length is asserted in
 * test/infra/stack.test.ts.
 */
import { RELEASE_STATES } from '../../infra/constructs/release-workflow';
import {
  runReleaseWorkflow,
  stateMachineFromTemplate,
  type PutEventsEntry,
  type ReleaseRunOptions,
  type SynthesizedStateMachine,
} from '../../infra/local/stepfunctions/state-machine';
import { InvalidRequest, ServiceUnavailable } from '../../shared/domain/errors';
import { GetItemCommand } from '@aws-sdk/client-dynamodb';
import { documentClient } from '../../shared/data/store-from-env';
import { releaseKey, sessionKey } from '../../shared/data/keys';
import { TABLE } from '../../shared/data/table';
import { createTestTable, releaseDirect, releaseOverHttp, scheduleOverHttp, seedSession, uniqueId } from '../support/handlers';
import { createTestBucket, exportDirect, testBucket } from '../support/export';
import { matchesPattern, renderInputTemplate, streamRecord } from '../support/pipe-filter';
import { synthesizedTemplate } from '../support/synthesized';

let machine: SynthesizedStateMachine;
/** The deployed pipe's filter and input template, from the same synthesized template. */
let pipe: { pattern: unknown; inputTemplate: string };

beforeAll(async () => {
  await createTestTable();
  await createTestBucket();
  const template = synthesizedTemplate();
  machine = stateMachineFromTemplate(template);
  const [pipeResource] = Object.values(template.Resources as Record<string, any>).filter((r) => r.Type === 'AWS::Pipes::Pipe');
  pipe = {
    pattern: JSON.parse(pipeResource.Properties.SourceParameters.FilterCriteria.Filters[0].Pattern),
    inputTemplate: pipeResource.Properties.TargetParameters.InputTemplate,
  };
}, 60_000);

/** The real handler, invoked as Step Functions' Lambda integration would (bare payload). */
const realRelease = (payload: unknown) => releaseDirect(payload);

async function run(
  executionName: string,
  invokeRelease: ReleaseRunOptions['invokeRelease'] = realRelease,
  input?: Record<string, unknown>,
) {
  const published: PutEventsEntry[] = [];
  const result = await runReleaseWorkflow(machine, {
    executionName,
    input,
    invokeRelease,
    invokeExport: exportDirect,
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
  expect(result.published).toEqual([
    {
      Source: 'session-improvement',
      DetailType: 'BatchReleased',
      EventBusName: expect.stringContaining(':event-bus/'),
      Detail: {
        batch_id: batchId,
        release_id: executionName,
        released_at: expect.any(Number),
        export: { bucket: testBucket(), manifest_key: `batches/${batchId}/manifest.json`, sessions: 1, events: 1 },
      },
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
  expect(result.statesEntered).toEqual([
    RELEASE_STATES.chooseReleaseId,
    RELEASE_STATES.releaseIdFromName,
    RELEASE_STATES.release,
    RELEASE_STATES.nothingToAnnounce,
  ]);
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
  expect(result.published[0]!.Detail).toMatchObject({ batch_id: batchId, release_id: executionName, released_at: realResults[0]!.released_at });
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

/** The release record as stored, in DynamoDB JSON: what the table's stream carries. */
async function storedItem(key: Record<string, string>) {
  const rawKey = Object.fromEntries(Object.entries(key).map(([name, value]) => [name, { S: value }]));
  const { Item } = await documentClient.send(new GetItemCommand({ TableName: process.env.TABLE_NAME!, Key: rawKey }));
  if (!Item) throw new Error(`No item ${JSON.stringify(key)}`);
  return Item;
}
const storedReleaseRecord = (releaseId: string) => storedItem(releaseKey(releaseId));
const keyNames = [TABLE.partitionKey, TABLE.sortKey];

describe('(e) every release is announced, also one made over the API', () => {
  test('the first write of an API release record passes the pipe filter and starts the workflow, which announces that batch', async () => {
    const batchId = await scheduleOne();
    const releaseId = uniqueId('api-release');
    const released = await releaseOverHttp(releaseId);
    expect(released.status).toBe(200);

    const inserted = streamRecord('INSERT', await storedReleaseRecord(releaseId), keyNames);
    expect(matchesPattern(pipe.pattern, inserted)).toBe(true);
    const input = JSON.parse(renderInputTemplate(pipe.inputTemplate, inserted));
    expect(input).toEqual({ release_id: releaseId });

    // Pipe-started executions get generated names: the release id comes from the input.
    const result = await run(uniqueId('pipe-execution'), realRelease, input);

    expect(result.status).toBe('SUCCEEDED');
    expect(result.statesEntered.slice(0, 3)).toEqual([
      RELEASE_STATES.chooseReleaseId,
      RELEASE_STATES.releaseIdFromInput,
      RELEASE_STATES.release,
    ]);
    expect(result.published.map((entry) => entry.Detail)).toEqual([
      {
        batch_id: batchId,
        release_id: releaseId,
        released_at: released.body.released_at,
        export: expect.objectContaining({ manifest_key: `batches/${batchId}/manifest.json`, sessions: 1 }),
      },
    ]);
  });

  test('a workflow release is not started again by the stream (it announces itself), nor is a rewrite of a record', async () => {
    await scheduleOne();
    const executionName = uniqueId('exec');
    expect((await run(executionName)).status).toBe('SUCCEEDED');
    const workflowRecord = await storedReleaseRecord(executionName);
    expect(matchesPattern(pipe.pattern, streamRecord('INSERT', workflowRecord, keyNames))).toBe(false);

    await scheduleOne();
    const apiRelease = uniqueId('api-release');
    await releaseOverHttp(apiRelease);
    // A roll-forward writes the same record again: the stream shows a MODIFY.
    expect(matchesPattern(pipe.pattern, streamRecord('MODIFY', await storedReleaseRecord(apiRelease), keyNames))).toBe(false);
  });

  test('sessions and other items never pass the filter', async () => {
    const session = await storedItem(sessionKey(await seedSession()));
    expect(matchesPattern(pipe.pattern, streamRecord('INSERT', session, keyNames))).toBe(false);
  });
});

test('(f) an execution whose name is no valid release id fails at once with a message giving the rule, and releases nothing', async () => {
  const batchId = await scheduleOne();
  // Step Functions allows "+", "=" and non-ASCII in execution names; release ids do not.
  for (const name of ['release+2026-01-31', 'release=1', 'veröffentlichung']) {
    let attempts = 0;
    const result = await run(name, async (payload) => {
      attempts++;
      return realRelease(payload);
    });
    expect([name, result.status, result.error?.name, attempts]).toEqual([name, 'FAILED', 'InvalidRequest', 1]);
    expect(result.error?.message).toMatch(/release_id must be 1-128 characters of A-Z, a-z, 0-9/i);
    expect(result.published).toEqual([]);
  }
  // Still collecting: the batch is there for a valid release.
  const release = (await releaseDirect({ release_id: uniqueId('valid') })) as { batch_id: string };
  expect(release.batch_id).toBe(batchId);
});
