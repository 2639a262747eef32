/**
 * (d) The export function killed between parts. The export runs through the
 * synthesized workflow, one part per call (each call's time forced to the
 * reserve), in a container process of its own on this file's table; the
 * container is SIGKILLed the moment the S3 server has stored a part, before
 * the function hears back. Retried from the last cursor, or, once the
 * execution has failed, redriven from it, the export is complete, matches a
 * page walk, and is byte for byte the export of an uninterrupted run.
 */
import { CreateBucketCommand } from '@aws-sdk/client-s3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { RELEASE_STATES } from '../../infra/constructs/release-workflow';
import { startLocalS3, type LocalS3 } from '../../infra/local/local-s3';
import {
  redriveReleaseWorkflow,
  runReleaseWorkflow,
  stateMachineFromTemplate,
  type ReleaseRunResult,
  type SynthesizedStateMachine,
} from '../../infra/local/stepfunctions/state-machine';
import { pagingStore } from '../../shared/data/dynamo-store';
import { table } from '../../shared/data/store-from-env';
import type { Release } from '../../shared/domain/model';
import { exportBatch } from '../../shared/export/export-batch';
import { EXPORT_TIME_RESERVE_MS } from '../../shared/export/export-task';
import { manifestKey, partKey, PART_LIMITS } from '../../shared/export/layout';
import { createS3Client } from '../../shared/s3-client';
import { s3Sink } from '../../shared/export/s3-sink';
import { expectedLine, exportKeys, readExport, seedReleasedBatch, walkBatch } from '../support/export';
import { startExportSandbox, type ExportSandbox } from '../support/export-sandbox-client';
import { createTestTable } from '../support/handlers';
import { synthesizedTemplate } from '../support/synthesized';

const store = pagingStore(table);

const LIMITS = { ...PART_LIMITS, maxSessions: 3 };
const SESSIONS = 11; // parts of 3, 3, 3, 2

let machine: SynthesizedStateMachine;
let s3: LocalS3;
let s3Client: ReturnType<typeof createS3Client>;
let s3Dir: string;
const bucket = 'crash-exports';
const cleanBucket = 'clean-exports';
/** Keys the S3 server stored, in order, and what to do when one is. */
const stored: string[] = [];
let onStored: ((key: string) => void) | undefined;

beforeAll(async () => {
  await createTestTable();
  // A server of this test's own, so that it sees each object as it is stored.
  s3Dir = mkdtempSync(path.join(tmpdir(), 'crash-s3-'));
  s3 = await startLocalS3({ directory: s3Dir, buckets: [bucket, cleanBucket] });
  s3.onObjectCreated((_bucket, key) => {
    if (_bucket !== bucket) return;
    stored.push(key);
    onStored?.(key);
  });
  machine = stateMachineFromTemplate(synthesizedTemplate());
}, 60_000);

afterAll(async () => {
  await s3?.close();
  rmSync(s3Dir, { recursive: true, force: true });
});

const client = () => (s3Client ??= createS3Client({ endpoint: s3.endpoint }));
const newSandbox = () => startExportSandbox({ store: 'table', limits: LIMITS }, { S3_ENDPOINT: s3.endpoint, EXPORT_BUCKET: bucket });

/** What an uninterrupted export of the batch stores (with the same exported_at, to compare manifests). */
async function cleanExport(batchId: string, release: Release) {
  const step = await exportBatch(store, s3Sink(client(), cleanBucket), {
    batchId,
    releaseId: release.release_id,
    releasedAt: release.released_at,
    limits: LIMITS,
    timeLeftMs: () => Number.POSITIVE_INFINITY,
  });
  if (!step.done) throw new Error('not done');
  return readExport(batchId, cleanBucket, client());
}

/**
 * Runs the workflow, its export task answered by `invokeExport`; the release
 * task answers the batch's release again, as the release handler does for a
 * repeated release id.
 */
const run = (release: Release, invokeExport: (payload: unknown) => Promise<unknown>) =>
  runReleaseWorkflow(machine, {
    executionName: release.release_id,
    invokeRelease: async () => release,
    invokeExport,
    settleWaitMs: 0,
    retryIntervalMs: 0,
  });

/** The cursor each export call was given, as parts already written. */
const cursorsGiven = (result: ReleaseRunResult) =>
  result.events
    .filter((e) => e.type === 'StateEntered' && e.state.name === RELEASE_STATES.export)
    .map((e) => ('state' in e ? ((e.state.input as { export: { cursor: { parts: unknown[] } | null } }).export.cursor?.parts.length ?? 0) : -1));

async function expectCompleteAndIdentical(batchId: string, release: Release) {
  const walked = await walkBatch(store, batchId);
  const got = await readExport(batchId, bucket, client());
  const clean = await cleanExport(batchId, release);
  expect(walked).toHaveLength(SESSIONS);
  expect(got.lines).toEqual(walked.map(expectedLine));
  expect({ ...got.manifest, exported_at: 0 }).toEqual({ ...clean.manifest, exported_at: 0 });
  expect(got.parts.map((p) => p.key)).toEqual(clean.parts.map((p) => p.key));
  got.parts.forEach((part, i) => expect(part.bytes.equals(clean.parts[i]!.bytes)).toBe(true));
  expect(await exportKeysHere(batchId)).toEqual([...clean.parts.map((p) => p.key), manifestKey(batchId)].sort());
}

const exportKeysHere = (batchId: string) => exportKeys(batchId, bucket, client());

beforeEach(() => {
  stored.length = 0;
  onStored = undefined;
});

test('(d) killed between parts; the execution fails; a redrive resumes from the last cursor and gives a complete, correct export', async () => {
  const { batchId, release } = await seedReleasedBatch(Array.from({ length: SESSIONS }, (_, i) => ({ events: 1 + (i % 3) })));
  let sandbox: ExportSandbox | undefined = await newSandbox();
  // Killed the moment part 1 is stored: the call that wrote it never returns its cursor.
  onStored = (key) => {
    if (key === partKey(batchId, 1)) sandbox?.kill();
  };
  let attempts = 0;
  const failed = await run(release, async (payload) => {
    attempts++;
    // Once the container is dead, Lambda stays unavailable for the remaining retries.
    if (sandbox?.child.exitCode !== null || sandbox.child.signalCode !== null) {
      throw Object.assign(new Error('Lambda is unavailable (injected)'), { name: 'Lambda.ServiceException' });
    }
    return sandbox.invoke(payload, EXPORT_TIME_RESERVE_MS);
  });

  expect(failed.status).toBe('FAILED');
  expect(failed.error?.name).toBe('Lambda.ServiceException');
  expect(failed.statesEntered).not.toContain(RELEASE_STATES.announce);
  // The kill was a crash the workflow saw as one (Lambda.Unknown), retried until it gave up.
  expect(failed.events.filter((e) => e.type === 'StateRetried')).toHaveLength(6);
  expect(attempts).toBe(2 + 6);
  // Part 1 is stored, but no manifest: a consumer sees an export that is not complete.
  expect(await exportKeysHere(batchId)).toEqual([partKey(batchId, 0), partKey(batchId, 1)]);

  stored.length = 0;
  onStored = undefined;
  sandbox = await newSandbox();
  try {
    const redriven = await redriveReleaseWorkflow(machine, failed, {
      executionName: release.release_id,
      invokeRelease: async () => {
        throw new Error('a redrive does not release again');
      },
      invokeExport: (payload) => sandbox!.invoke(payload, EXPORT_TIME_RESERVE_MS),
      settleWaitMs: 0,
      retryIntervalMs: 0,
    });
    expect(redriven.status).toBe('SUCCEEDED');
    expect(redriven.statesEntered[0]).toBe(RELEASE_STATES.export);
    // It resumed from the cursor the last call returned (part 0 written) and rewrote part 1, part 0 not at all.
    expect(cursorsGiven(redriven)).toEqual([1, 2, 3]);
    expect(stored).toEqual([partKey(batchId, 1), partKey(batchId, 2), partKey(batchId, 3), manifestKey(batchId)]);
    expect(redriven.output.export).toMatchObject({ done: true, bucket, manifest_key: manifestKey(batchId), sessions: SESSIONS });
  } finally {
    await sandbox.stop();
  }
  await expectCompleteAndIdentical(batchId, release);
}, 120_000);

test('killed between parts and retried at once, the export also completes from the last cursor', async () => {
  const { batchId, release } = await seedReleasedBatch(Array.from({ length: SESSIONS }, (_, i) => ({ events: 1 + (i % 2) })));
  let sandbox = await newSandbox();
  let killed = false;
  onStored = (key) => {
    if (key === partKey(batchId, 2) && !killed) {
      killed = true;
      sandbox.kill();
    }
  };
  try {
    const result = await run(release, async (payload) => {
      // A new container for the retry, as Lambda starts one after a crash.
      if (sandbox.child.exitCode !== null || sandbox.child.signalCode !== null) sandbox = await newSandbox();
      return sandbox.invoke(payload, EXPORT_TIME_RESERVE_MS);
    });
    expect(result.status).toBe('SUCCEEDED');
    expect(result.events.filter((e) => e.type === 'StateRetried')).toHaveLength(1);
    // The retried call was given the cursor after part 1 (a retry enters its state once): parts 0 and 1 were not written again.
    expect(cursorsGiven(result)).toEqual([0, 1, 2, 3]);
    expect(stored).toEqual([0, 1, 2, 2, 3].map((i) => partKey(batchId, i)).concat(manifestKey(batchId)));
  } finally {
    await sandbox.stop();
  }
  await expectCompleteAndIdentical(batchId, release);
}, 120_000);
