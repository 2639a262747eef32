/**
 * The export itself (shared/export), on the embedded store and the jest
 * run's S3 server: what it writes is read back through the S3 API and
 * compared with a walk of the same batch through the page code.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { pagingStore } from '../../shared/data/dynamo-store';
import { table } from '../../shared/data/store-from-env';
import { exportBatch, type ExportRequest } from '../../shared/export/export-batch';
import { manifestKey, partKey, PART_LIMITS, type PartLimits } from '../../shared/export/layout';
import { s3Sink } from '../../shared/export/s3-sink';
import { directorySink } from '../../shared/export/sink';
import {
  createTestBucket,
  expectedLine,
  exportKeys,
  readExport,
  seedReleasedBatch,
  sha256,
  testBucket,
  testS3,
  walkBatch,
} from '../support/export';
import { createTestTable, scheduleOverHttp, seedSession } from '../support/handlers';

const store = pagingStore(table);

const sink = () => s3Sink(testS3(), testBucket());
const noDeadline = () => Number.POSITIVE_INFINITY;

beforeAll(async () => {
  await createTestTable();
  await createTestBucket();
});

/** Exports a batch in one call, to the test bucket unless another sink is given. */
async function exportAll(batchId: string, release: { release_id: string; released_at: number }, extra: Partial<ExportRequest> = {}, target = sink()) {
  const step = await exportBatch(store, target, {
    batchId,
    releaseId: release.release_id,
    releasedAt: release.released_at,
    timeLeftMs: noDeadline,
    ...extra,
  });
  if (!step.done) throw new Error('an export without a deadline stopped');
  return step;
}

/** Sessions unlike each other: a long one, an irrelevant one without events, free objects, non-ASCII text. */
const VARIED = [
  { overrides: { search_query: 'red shoes', user_id: 'u-1' }, events: 3 },
  { overrides: { is_irrelevant: true, search_query: { text: 'bleu', lang: 'fr' } }, events: 0 },
  { overrides: { search_meta: { page: 2, filters: ['size:42'], constructor: 'kept' }, search_query: 'Größe 42 👟' }, events: 1 },
  { events: 10_003 },
  { overrides: { sort_by: { price: 'asc' }, payload_filter: { brand: 'x' } }, events: 2 },
  { events: 5 },
  { overrides: { search_results: [] }, events: 1 },
];

describe('(a) the parts and the manifest match a page walk of the batch, session for session', () => {
  let batch: Awaited<ReturnType<typeof seedReleasedBatch>>;
  beforeAll(async () => {
    batch = await seedReleasedBatch(VARIED);
  }, 60_000);

  test.each([
    ['the default limits: one part', PART_LIMITS, 1],
    ['three sessions a part: three parts', { ...PART_LIMITS, maxSessions: 3 }, 3],
  ])('%s', async (_name, limits: PartLimits, partCount) => {
    const step = await exportAll(batch.batchId, batch.release, { limits });
    const walked = await walkBatch(store, batch.batchId);
    const stored = await readExport(batch.batchId);

    expect(walked).toHaveLength(VARIED.length);
    expect(stored.lines).toEqual(walked.map(expectedLine));
    // The long session carries its first 10,000 events and says so; no other is flagged.
    const flagged = stored.lines.map((line) => JSON.parse(line)).filter((s) => s.events_truncated === true);
    expect(flagged.map((s) => [s.events.length, s.events[0].created_at])).toEqual([[10_000, walked[3]!.events[0]!.created_at]]);

    const { manifest } = stored;
    expect(step.manifest).toEqual(manifest);
    expect(step.manifestKey).toBe(manifestKey(batch.batchId));
    expect(manifest).toEqual({
      batch_id: batch.batchId,
      release_id: batch.release.release_id,
      released_at: batch.release.released_at,
      exported_at: expect.any(Number),
      format: 'jsonl.gz',
      sessions: VARIED.length,
      events: 3 + 0 + 1 + 10_000 + 2 + 5 + 1,
      parts: stored.parts.map((part, i) => ({
        key: partKey(batch.batchId, i),
        sessions: expect.any(Number),
        events: expect.any(Number),
        bytes: part.bytes.length,
        sha256: sha256(part.bytes),
      })),
    });
    expect(Math.abs(manifest.exported_at - Date.now() / 1000)).toBeLessThan(60);
    expect(manifest.parts).toHaveLength(partCount);
    // Each part's counts are those of its own lines, in order.
    let at = 0;
    for (const part of manifest.parts) {
      const lines = walked.slice(at, at + part.sessions);
      expect(part.events).toBe(lines.reduce((n, s) => n + Math.min(s.events.length, 10_000), 0));
      at += part.sessions;
    }
    expect(at).toBe(VARIED.length);
    // Nothing else under the batch's prefix: no leftovers of the parts' writing.
    expect(await exportKeys(batch.batchId)).toEqual([...manifest.parts.map((p) => p.key), manifestKey(batch.batchId)].sort());
  }, 60_000);

  test('--out DIR writes the same bytes as plain files in the same layout', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'export-dir-'));
    try {
      const limits = { ...PART_LIMITS, maxSessions: 3 };
      await exportAll(batch.batchId, batch.release, { limits, now: () => 1_800_000_000 });
      const files = await exportAll(batch.batchId, batch.release, { limits, now: () => 1_800_000_000 }, directorySink(dir));
      const stored = await readExport(batch.batchId);
      for (const part of stored.parts) expect(readFileSync(path.join(dir, part.key)).equals(part.bytes)).toBe(true);
      expect(JSON.parse(readFileSync(path.join(dir, manifestKey(batch.batchId)), 'utf8'))).toEqual(stored.manifest);
      expect(files.manifest).toEqual(stored.manifest);
      expect(readdirSync(path.join(dir, 'batches', batch.batchId)).sort()).toEqual(
        ['part-00000.jsonl.gz', 'part-00001.jsonl.gz', 'part-00002.jsonl.gz', 'manifest.json'].sort(),
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});

test('(b) exporting the same batch again writes byte-identical parts and an equal manifest but for exported_at', async () => {
  const batch = await seedReleasedBatch(Array.from({ length: 12 }, (_, i) => ({ events: 1 + (i % 4) })));
  const limits = { ...PART_LIMITS, maxSessions: 5 };

  await exportAll(batch.batchId, batch.release, { limits, now: () => 1_800_000_000 });
  const first = await readExport(batch.batchId);
  await exportAll(batch.batchId, batch.release, { limits, now: () => 1_800_000_123 });
  const second = await readExport(batch.batchId);

  expect(first.parts).toHaveLength(3);
  expect(second.parts.map((p) => p.key)).toEqual(first.parts.map((p) => p.key));
  second.parts.forEach((part, i) => expect(part.bytes.equals(first.parts[i]!.bytes)).toBe(true));
  expect(second.manifest.exported_at).toBe(1_800_000_123);
  expect({ ...second.manifest, exported_at: 0 }).toEqual({ ...first.manifest, exported_at: 0 });
}, 60_000);

test('a part ends before the line that would take it past maxBytes; a session alone past it makes a part of one', async () => {
  const big = 'x'.repeat(3_000);
  const batch = await seedReleasedBatch([{}, {}, { overrides: { search_query: big } }, {}, {}, {}]);
  const lines = (await walkBatch(store, batch.batchId)).map((s) => Buffer.byteLength(`${expectedLine(s)}\n`));
  const small = lines[0]!;
  // Room for two small lines, not three; the big one is larger than a whole part.
  const limits = { maxBytes: 2 * small + Math.floor(small / 2), maxSessions: 1_000 };
  expect(lines[2]).toBeGreaterThan(limits.maxBytes);

  const { manifest } = await exportAll(batch.batchId, batch.release, { limits });

  expect(manifest.parts.map((p) => p.sessions)).toEqual([2, 1, 2, 1]);
  const stored = await readExport(batch.batchId);
  expect(stored.lines).toHaveLength(6);
}, 60_000);

test('when time runs out in a part, that part is given up and the next call writes it again from its first session', async () => {
  const batch = await seedReleasedBatch(Array.from({ length: 9 }, () => ({ events: 2 })));
  const limits = { ...PART_LIMITS, maxSessions: 3 };
  await exportAll(batch.batchId, batch.release, { limits, now: () => 1_800_000_000 });
  const clean = await readExport(batch.batchId);
  const cleanKeys = await exportKeys(batch.batchId);

  // A fresh prefix: the same batch exported to another bucket, as a stop-and-resume.
  const other = `${testBucket()}-resume`;
  await testS3().send(new (await import('@aws-sdk/client-s3')).CreateBucketCommand({ Bucket: other }));
  let partsStored = 0;
  let checksAfterFirstPart = 0;
  // Plenty of time until the first part is stored; then enough to start the second part and
  // write one line of it, and then none.
  const timeLeftMs = () => (partsStored === 0 ? 1e9 : ++checksAfterFirstPart <= 2 ? 1e9 : 0);
  const stopped = await exportBatch(store, s3Sink(testS3(), other), {
    batchId: batch.batchId,
    releaseId: batch.release.release_id,
    releasedAt: batch.release.released_at,
    limits,
    timeLeftMs,
    onPart: () => partsStored++,
  });

  // The cursor stands after the first part's last session: the third of the batch.
  const thirdNumber = (await walkBatch(store, batch.batchId))[2]!.session_number;
  expect(stopped).toEqual({ done: false, cursor: { after_number: thirdNumber, parts: [clean.manifest.parts[0]] } });
  // The part in progress left nothing behind.
  expect(await exportKeys(batch.batchId, other)).toEqual([partKey(batch.batchId, 0)]);

  const resumed = await exportBatch(store, s3Sink(testS3(), other), {
    batchId: batch.batchId,
    releaseId: batch.release.release_id,
    releasedAt: batch.release.released_at,
    limits,
    cursor: stopped.done ? null : stopped.cursor,
    timeLeftMs: noDeadline,
    now: () => 1_800_000_000,
  });
  expect(resumed.done).toBe(true);
  const again = await readExport(batch.batchId, other);
  expect(again.manifest).toEqual(clean.manifest);
  again.parts.forEach((part, i) => expect(part.bytes.equals(clean.parts[i]!.bytes)).toBe(true));
  expect(await exportKeys(batch.batchId, other)).toEqual(cleanKeys);
}, 60_000);

test('an unknown batch and a collecting batch are refused, and nothing is written', async () => {
  await expect(exportAll('999999', { release_id: 'r', released_at: 1 })).rejects.toMatchObject({ name: 'BatchNotFound' });
  expect(await exportKeys('999999')).toEqual([]);

  const { batchId } = await seedReleasedBatch([{}]);
  const collecting = await scheduleOverHttp(await seedSession());
  expect(collecting.body.batch_id).not.toBe(batchId);
  await expect(exportAll(collecting.body.batch_id, { release_id: 'r', released_at: 1 })).rejects.toMatchObject({
    name: 'BatchNotReleased',
    message: `Batch "${collecting.body.batch_id}" is still collecting: only a released batch is exported.`,
  });
  expect(await exportKeys(collecting.body.batch_id)).toEqual([]);
}, 60_000);
