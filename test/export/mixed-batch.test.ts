/**
 * The export of a batch with everything a page has to leave out or find
 * elsewhere: sessions the counter layout scheduled (listed in the batch index
 * only), sharded sessions over several shards, orphan memberships of crashed
 * schedules (one retried in the same batch, one never), and a session an
 * import marked a payload search after it was scheduled. The export walks the
 * shards with a cursor each; it must give exactly the page walk's sessions.
 */
import { pagingStore } from '../../shared/data/dynamo-store';
import { documentClient, table } from '../../shared/data/store-from-env';
import { shardOf } from '../../shared/domain/numbering';
import { exportBatch } from '../../shared/export/export-batch';
import { PART_LIMITS } from '../../shared/export/layout';
import { s3Sink } from '../../shared/export/s3-sink';
import { interceptCalls, SimulatedCrash } from '../support/call-interceptor';
import { createTestBucket, expectedLine, readExport, testBucket, testS3, walkBatch } from '../support/export';
import { createTestTable, makeSession, releaseOverHttp, scheduleOverHttp, seedSession, uniqueId, writer } from '../support/handlers';
import { legacySchedule } from '../support/legacy-layout';

const SHARDS = Number(process.env.SHARD_COUNT);
const store = pagingStore(table);
const interceptor = interceptCalls(documentClient, 'mixedBatch');

/** Schedules a session but dies right before committing its assignment: its membership stays, an orphan. */
async function scheduleAndCrashBeforeCommit(sessionId: string): Promise<void> {
  interceptor.use(async (call, send) => {
    if (call.command === 'PutItemCommand' && call.input.Item?.SK === '#ASSIGNMENT') throw new SimulatedCrash('crashed before the commit');
    return send();
  });
  expect((await scheduleOverHttp(sessionId)).status).toBe(500);
  interceptor.use(undefined);
}

const legacy: string[] = [];
const sharded: string[] = [];
let retried: string;
let neverRetried: string;
let payloadSearch: string;
let batchId: string;

beforeAll(async () => {
  await createTestTable();
  await createTestBucket();
  // Batch 000001 as the counter layout left it, still collecting: numbers 1, 2, 3 in the batch index.
  for (let i = 0; i < 3; i++) {
    const id = await seedSession({}, 2);
    await legacySchedule(documentClient, table.tableName, id, 1_700_000_000 + i);
    legacy.push(id);
  }
  // Sharded schedules into the same batch, numbered above its counter.
  for (let i = 0; i < 14; i++) {
    const id = await seedSession({}, 1 + (i % 3));
    expect((await scheduleOverHttp(id)).body).toMatchObject({ status: 'scheduled', batch_id: '000001' });
    sharded.push(id);
    if (i === 4) {
      retried = await seedSession({}, 1);
      await scheduleAndCrashBeforeCommit(retried);
    }
  }
  expect((await scheduleOverHttp(retried)).body).toMatchObject({ status: 'scheduled', batch_id: '000001' });
  neverRetried = await seedSession({}, 1);
  await scheduleAndCrashBeforeCommit(neverRetried);
  payloadSearch = await seedSession({}, 2);
  expect((await scheduleOverHttp(payloadSearch)).status).toBe(200);
  // An import marks it a payload search while its schedule was in flight.
  await writer().upsertSession(makeSession({ session_id: payloadSearch, is_payload_search: true }));
  const release = await releaseOverHttp(uniqueId('r'));
  expect(release.body).toMatchObject({ batch_id: '000001' });
  batchId = release.body.batch_id;
}, 60_000);

test('the export serves the page walk, session for session: legacy and sharded sessions, no orphan, no payload search', async () => {
  // Sessions over several shards, or the merge would have nothing to merge.
  expect(new Set(sharded.map((id) => shardOf(id, SHARDS))).size).toBeGreaterThan(1);
  // The orphans are listed: only the sessions' own assignments leave them out.
  const listed = (await store.listBatchEntries(batchId, 0, 100, { from: 0, to: SHARDS })).map((entry) => entry.sessionId);
  expect(listed.filter((id) => id === retried)).toHaveLength(2);
  expect(listed).toContain(neverRetried);

  const step = await exportBatch(store, s3Sink(testS3(), testBucket()), {
    batchId,
    releaseId: 'r',
    releasedAt: 1,
    // Parts of a few sessions: the walk is read in slices and written across parts.
    limits: { ...PART_LIMITS, maxSessions: 4 },
    timeLeftMs: () => Number.POSITIVE_INFINITY,
  });
  expect(step.done).toBe(true);
  const stored = await readExport(batchId);

  for (const limit of [1, 3, 100]) {
    const walked = await walkBatch(store, batchId, limit);
    expect(stored.lines).toEqual(walked.map(expectedLine));
  }
  const served = stored.lines.map((line) => JSON.parse(line) as { session_id: string; session_number: number });
  expect(served.map((s) => s.session_id).sort()).toEqual([...legacy, ...sharded, retried].sort());
  expect(served.slice(0, 3).map((s) => [s.session_id, s.session_number])).toEqual(legacy.map((id, i) => [id, i + 1]));
  const numbers = served.map((s) => s.session_number);
  expect(numbers).toEqual([...numbers].sort((a, b) => a - b));
  expect(served.map((s) => s.session_id)).not.toContain(neverRetried);
  expect(served.map((s) => s.session_id)).not.toContain(payloadSearch);
}, 60_000);
