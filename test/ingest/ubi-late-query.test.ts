/**
 * Events that come before their query, against the embedded store: they are
 * stored and counted as waiting, invisible while the session does not exist
 * (scheduling it answers session_not_found, pages are untouched), and join
 * the session once its query comes in a later import; impressions that come
 * after the query still become its results. Also the resumable-import
 * contract: startAfterLine and shouldStop.
 */
import { importUbi } from '../../shared/ingest/ubi';
import { documentClient } from '../../shared/data/store-from-env';
import { createTestTable, pageOverHttp, scheduleOverHttp, seedSession, uniqueId, writer } from '../support/handlers';
import { scanTable } from '../support/scan-table';

const lines = (...documents: unknown[]) =>
  (async function* () {
    yield Buffer.from(documents.map((d) => JSON.stringify(d)).join('\n') + '\n');
  })();

const queryOf = (queryId: string, extra: Record<string, unknown> = {}) => ({ query_id: queryId, user_query: 'drill', timestamp: 1733788898000, ...extra });
const eventOf = (queryId: string, action: string, objectId: string, ordinal?: number) => ({
  action_name: action,
  query_id: queryId,
  timestamp: 1733788899000 + (ordinal ?? 0),
  event_attributes: { object: { object_id: objectId }, ...(ordinal === undefined ? {} : { position: { ordinal } }) },
});

beforeAll(createTestTable);

test('events before their query are kept and invisible; the query, imported later, makes the session with them', async () => {
  // A batch with one ordinary session, so that pages have something to show.
  const other = await seedSession();
  expect((await scheduleOverHttp(other)).body).toMatchObject({ status: 'scheduled', batch_id: '000001' });
  const page = (await pageOverHttp({ batch_id: '000001', limit: 100 })).body;

  const queryId = uniqueId('late');
  const early = await importUbi(lines(eventOf(queryId, 'click', 'p-2'), eventOf(queryId, 'impression', 'p-2', 1)), writer());
  expect(early).toMatchObject({ sessions: 0, events: 0, impressions: 0, rejected: [], skippedLines: [] });
  expect(early.skipped.waitingForQuery).toBe(2);
  // No session item: scheduling it finds no session, and pages are as they were.
  expect((await scheduleOverHttp(queryId)).body).toMatchObject({ error: { code: 'session_not_found' } });
  expect((await pageOverHttp({ batch_id: '000001', limit: 100 })).body).toEqual(page);

  const later = await importUbi(lines(queryOf(queryId)), writer());
  expect(later).toMatchObject({ sessions: 1, events: 0, impressions: 0, rejected: [] });
  // An impression after the query still becomes one of its results, in position order.
  await importUbi(lines(eventOf(queryId, 'impression', 'p-1', 0)), writer());

  expect((await scheduleOverHttp(queryId)).body).toMatchObject({ status: 'scheduled', batch_id: '000001' });
  const served = (await pageOverHttp({ batch_id: '000001', limit: 100 })).body.sessions.find((s: { session_id: string }) => s.session_id === queryId);
  expect(served.search_results.map((r: { object_id: string }) => r.object_id)).toEqual(['p-1', 'p-2']);
  expect(served.events.map((e: { event_type: string }) => e.event_type)).toEqual(['click']);
});

test('an impression alone (no event, no query yet) does not make a session "have events" for scheduling', async () => {
  const queryId = uniqueId('only-impressions');
  await importUbi(lines(eventOf(queryId, 'impression', 'p-1', 0), queryOf(queryId)), writer());
  // The impressions are stored in the session's partition, after its events: the schedule's read does not count them.
  expect((await scheduleOverHttp(queryId)).body).toMatchObject({ status: 'skipped', reason: 'no_events' });
});

test('startAfterLine reads but does not import the lines an earlier call did; shouldStop ends after a written chunk', async () => {
  const ids = [uniqueId('resume'), uniqueId('resume'), uniqueId('resume')];
  const documents = ids.flatMap((id) => [queryOf(id), eventOf(id, 'click', 'p-1')]);
  const progress: number[] = [];
  const first = await importUbi(lines(...documents), writer(), {
    chunkSessions: 1,
    shouldStop: () => true,
    onProgress: (p) => progress.push(p.lines),
  });
  // The chunk fills at the first query, line 1: written, then the import stops there.
  expect(first).toMatchObject({ lines: 1, sessions: 1, stoppedAfterLine: 1 });
  expect(progress).toEqual([1]);

  const rest = await importUbi(lines(...documents), writer(), { chunkSessions: 1, startAfterLine: first.stoppedAfterLine });
  // Every line is read (and counted), those before the first call's stop too.
  expect(rest).toMatchObject({ lines: 6, sessions: 2, events: 3, rejected: [] });
  expect(rest.stoppedAfterLine).toBeUndefined();

  // Together they wrote what one import writes: importing everything again changes nothing.
  const before = await scanTable(documentClient, process.env.TABLE_NAME!);
  await importUbi(lines(...documents), writer());
  expect(await scanTable(documentClient, process.env.TABLE_NAME!)).toEqual(before);
});
