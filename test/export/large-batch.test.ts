/**
 * (c) A batch of 100,000 sessions exports through the synthesized workflow
 * with each call's time forced small: the export function (the real
 * middleware and task, in a container process of its own) returns a cursor
 * call after call and the workflow loops until it is done, while the
 * container's memory stays under a bound far below the batch's size. The
 * batch is made up on demand (synthetic-batch.ts): seeding 100,000 sessions
 * into the embedded store takes minutes, and the export reads it through the
 * same page code either way.
 */
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { createHash } from 'node:crypto';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { RELEASE_STATES } from '../../infra/constructs/release-workflow';
import { runReleaseWorkflow, stateMachineFromTemplate, type PutEventsEntry, type SynthesizedStateMachine } from '../../infra/local/stepfunctions/state-machine';
import { getBatchPage } from '../../shared/domain/get-batch-page';
import { EXPORT_TIME_RESERVE_MS } from '../../shared/export/export-task';
import { MAX_EVENTS_PER_SESSION, PART_LIMITS, type Manifest } from '../../shared/export/layout';
import { createTestBucket, expectedLine, readObject, testBucket, testS3 } from '../support/export';
import { startExportSandbox, type ExportSandbox } from '../support/export-sandbox-client';
import { SyntheticBatch } from '../support/synthetic-batch';
import { synthesizedTemplate } from '../support/synthesized';

const SESSIONS = 100_000;
/** One session far past the events a line carries. */
const LONG_SESSION = 77_777;
const synthetic = { sessions: SESSIONS, longSessions: { [LONG_SESSION]: 10_005 }, fillerBytes: 600 };
/** 10,000 sessions a part: ten parts, so the loop shows. */
const LIMITS = { ...PART_LIMITS, maxSessions: 10_000 };
/** Each call has this long past the reserve: it finishes its first part, and rarely starts another. */
const BUDGET_MS = 300;
/**
 * The container's peak resident memory may not pass this (the batch is
 * ~150 MB of JSON Lines): what a warm container with the SDK loaded needs,
 * plus two slices, gzip, and lib-storage's upload buffers.
 */
const PEAK_RSS_BOUND_MB = 230;

let machine: SynthesizedStateMachine;
let sandbox: ExportSandbox;
const batch = new SyntheticBatch(synthetic);

beforeAll(async () => {
  await createTestBucket();
  machine = stateMachineFromTemplate(synthesizedTemplate());
  sandbox = await startExportSandbox({ store: { synthetic }, limits: LIMITS });
}, 60_000);

afterAll(() => sandbox?.stop());

/** The lines of a stored part, one at a time, and its bytes' sha256 and count. */
async function* partLines(key: string, digest: { sha256?: string; bytes?: number }) {
  const { Body } = await testS3().send(new GetObjectCommand({ Bucket: testBucket(), Key: key }));
  const body = Body as Readable;
  const hash = createHash('sha256');
  let bytes = 0;
  body.on('data', (chunk: Buffer) => {
    hash.update(chunk);
    bytes += chunk.length;
  });
  yield* createInterface({ input: body.pipe(createGunzip()), crlfDelay: Infinity });
  digest.sha256 = hash.digest('hex');
  digest.bytes = bytes;
}

test('(c) 100,000 sessions: the workflow loops call after call, memory stays bounded, and the export matches a page walk', async () => {
  const started = performance.now();
  const published: PutEventsEntry[] = [];
  const calls: { parts: number; done: boolean }[] = [];
  const result = await runReleaseWorkflow(machine, {
    executionName: 'large-export',
    invokeRelease: async () => batch.release(),
    invokeExport: async (payload) => {
      const answer = (await sandbox.invoke(payload, EXPORT_TIME_RESERVE_MS + BUDGET_MS)) as { done: boolean; cursor?: { parts: unknown[] } };
      calls.push({ parts: answer.cursor?.parts.length ?? LIMITS.maxSessions, done: answer.done });
      return answer;
    },
    publish: (entries) => void published.push(...entries),
    settleWaitMs: 0,
    retryIntervalMs: 0,
  });

  const exportSeconds = (performance.now() - started) / 1000;
  expect(result.status).toBe('SUCCEEDED');
  // Several calls, each returning a cursor that had moved on, the last one done.
  expect(calls.length).toBeGreaterThanOrEqual(5);
  expect(calls.at(-1)!.done).toBe(true);
  expect(calls.slice(0, -1).every((c) => !c.done)).toBe(true);
  const loops = result.statesEntered.filter((s) => s === RELEASE_STATES.export).length;
  expect(loops).toBe(calls.length);

  const { peakRssMb } = await sandbox.stats();
  expect(peakRssMb).toBeLessThan(PEAK_RSS_BOUND_MB);

  const events = Array.from({ length: SESSIONS }, (_, i) => Math.min(batch.eventsOf(i), MAX_EVENTS_PER_SESSION)).reduce((a, b) => a + b, 0);
  const detail = published[0]!.Detail as { export: { manifest_key: string; sessions: number; events: number } };
  expect(detail.export).toEqual({ bucket: testBucket(), manifest_key: `batches/${batch.batchId}/manifest.json`, sessions: SESSIONS, events });

  // Session for session against a page walk, part by part, streamed on both sides.
  const manifest = JSON.parse((await readObject(detail.export.manifest_key)).toString()) as Manifest;
  expect(manifest.parts).toHaveLength(SESSIONS / LIMITS.maxSessions);
  let afterNumber = 0;
  let pending: string[] = [];
  let seen = 0;
  let uncompressed = 0;
  const mismatches: number[] = [];
  for (const part of manifest.parts) {
    const digest: { sha256?: string; bytes?: number } = {};
    let inPart = 0;
    for await (const line of partLines(part.key, digest)) {
      if (pending.length === 0) {
        const { page } = await getBatchPage(batch, { batchId: batch.batchId, afterNumber, limit: 100, eventsLimit: MAX_EVENTS_PER_SESSION + 1 });
        pending = page.sessions.map(expectedLine);
        afterNumber = page.last_number ?? afterNumber;
      }
      if (line !== pending.shift()) mismatches.push(seen + inPart);
      uncompressed += Buffer.byteLength(line) + 1;
      inPart++;
    }
    seen += inPart;
    expect([part.key, inPart, digest.bytes, digest.sha256]).toEqual([part.key, part.sessions, part.bytes, part.sha256]);
  }
  expect(mismatches.slice(0, 10)).toEqual([]);
  expect(seen).toBe(SESSIONS);
  expect(pending).toEqual([]);
  expect((await getBatchPage(batch, { batchId: batch.batchId, afterNumber, limit: 1, eventsLimit: 0 })).page.sessions).toEqual([]);
  // The bound means something: the batch is far larger than the memory it may take.
  expect(uncompressed / 1024 / 1024).toBeGreaterThan(PEAK_RSS_BOUND_MB / 2);
  if (process.env.EXPORT_TEST_REPORT) {
    process.stdout.write(
      `large export: ${calls.length} calls in ${exportSeconds.toFixed(1)} s, peak RSS ${peakRssMb.toFixed(0)} MiB, ` +
        `${(uncompressed / 1024 / 1024).toFixed(0)} MiB of lines; checked in ${((performance.now() - started) / 1000 - exportSeconds).toFixed(1)} s\n`,
    );
  }
}, 240_000);
