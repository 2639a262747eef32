/**
 * What an import may change, against the embedded store: a session in a
 * released batch never changes (neither its fields nor its events: the line
 * is skipped and reported), a scheduled session never becomes a payload
 * search (the line is rejected), and a session of the collecting batch takes
 * new events and field updates. Also the race the import's conditional write
 * closes: a session scheduled between the import's read and its write.
 */
import { importSessions } from '../../shared/ingest/jsonl';
import { type ImportReport } from '../../shared/ingest/run';
import { importUbi } from '../../shared/ingest/ubi';
import { documentClient } from '../../shared/data/store-from-env';
import type { Session } from '../../shared/schemas';
import { interceptCalls } from '../support/call-interceptor';
import { scanTable } from '../support/scan-table';
import {
  createTestTable,
  makeEvent,
  makeSession,
  pageOverHttp,
  releaseOverHttp,
  scheduleOverHttp,
  seedSession,
  uniqueId,
  writer,
} from '../support/handlers';

const interceptor = interceptCalls(documentClient, 'importRace');

const source = (...lines: unknown[]) =>
  (async function* () {
    yield Buffer.from(lines.map((l) => (typeof l === 'string' ? l : JSON.stringify(l))).join('\n') + '\n');
  })();

const importLines = (...lines: unknown[]): Promise<ImportReport> => importSessions(source(...lines), writer());

/** A session's line as a re-import would carry it, with changes. */
const lineOf = (sessionId: string, changes: Partial<Session> = {}, events: unknown[] = []) => ({ ...makeSession({ session_id: sessionId, ...changes }), events });

const pageOf = async (batchId: string) => (await pageOverHttp({ batch_id: batchId, limit: 100 })).body;
const storedItem = async (sessionId: string) =>
  (await scanTable(documentClient, process.env.TABLE_NAME!)).find((item) => item.PK === `SESSION#${sessionId}` && item.SK === '#SESSION');

/** released: scheduled into 000001, then released; collecting: scheduled into 000002; fresh: never scheduled. */
const ids = { released: uniqueId('released'), collecting: uniqueId('collecting'), fresh: uniqueId('fresh') };

beforeAll(async () => {
  await createTestTable();
  await seedSession({ session_id: ids.released }, 1);
  expect((await scheduleOverHttp(ids.released)).body).toMatchObject({ batch_id: '000001' });
  expect((await releaseOverHttp(uniqueId('r'))).body).toMatchObject({ batch_id: '000001' });
  await seedSession({ session_id: ids.collecting }, 1);
  expect((await scheduleOverHttp(ids.collecting)).body).toMatchObject({ batch_id: '000002' });
  await seedSession({ session_id: ids.fresh }, 1);
});
afterEach(() => interceptor.use(undefined));

test('a session in a released batch is never changed: its line is skipped and reported, and the batch reads the same', async () => {
  const before = await pageOf('000001');
  const report = await importLines(lineOf(ids.released, { search_query: 'changed', is_irrelevant: true }, [makeEvent(ids.released, { event_id: 'new' })]));
  expect(report).toMatchObject({ lines: 1, sessions: 0, events: 0, rejected: [], skippedLines: [{ line: 1, reason: 'in released batch 000001' }] });
  expect(await pageOf('000001')).toEqual(before);
});

test('UBI: a query whose session is in a released batch is skipped the same way', async () => {
  const before = await pageOf('000001');
  const report = await importUbi(
    source(
      { query_id: ids.released, user_query: 'changed', timestamp: 1733788898000 },
      { action_name: 'click', query_id: ids.released, timestamp: 1733788899000, event_attributes: { object: { object_id: 'p9' } } },
    ),
    writer(),
  );
  expect(report).toMatchObject({
    sessions: 0,
    events: 0,
    rejected: [],
    skippedLines: [
      { line: 1, reason: 'in released batch 000001' },
      { line: 2, reason: 'in released batch 000001' },
    ],
  });
  expect(await pageOf('000001')).toEqual(before);
});

test('UBI: a late object for a released session (its events, impressions, no query) is skipped, and nothing of it is stored', async () => {
  const before = await scanTable(documentClient, process.env.TABLE_NAME!);
  const report = await importUbi(
    source(
      { action_name: 'impression', query_id: ids.released, timestamp: 1733788899000, event_attributes: { object: { object_id: 'p8' }, position: { ordinal: 0 } } },
      { action_name: 'click', query_id: ids.released, timestamp: 1733788899000, event_attributes: { object: { object_id: 'p8' } } },
    ),
    writer(),
  );
  expect(report).toMatchObject({ sessions: 0, events: 0, impressions: 0, rejected: [] });
  expect(report.skippedLines.map((l) => l.line)).toEqual([1, 2]);
  expect(await scanTable(documentClient, process.env.TABLE_NAME!)).toEqual(before);
});

test('a scheduled session marked as a payload search: the line is rejected with its reason, and nothing of it is written', async () => {
  const before = await storedItem(ids.collecting);
  const report = await importLines(lineOf(ids.collecting, { is_payload_search: true }, [makeEvent(ids.collecting, { event_id: 'with-payload' })]));
  expect(report.rejected).toEqual([
    { line: 1, reason: `session_id "${ids.collecting}" is scheduled in batch 000002: a scheduled session cannot become a payload search` },
  ]);
  expect(report).toMatchObject({ sessions: 0, events: 0 });
  expect(await storedItem(ids.collecting)).toEqual(before);
  const served = (await pageOf('000002')).sessions.find((s: Session) => s.session_id === ids.collecting);
  expect(served).toMatchObject({ is_payload_search: false });
  expect(served.events.map((e: { event_id: string }) => e.event_id)).not.toContain('with-payload');
});

test('a session of the collecting batch takes new events and field updates, and keeps its place', async () => {
  const place = (await pageOf('000002')).sessions.find((s: Session) => s.session_id === ids.collecting).session_number;
  const report = await importLines(lineOf(ids.collecting, { search_query: 'updated', user_id: 'u-9' }, [makeEvent(ids.collecting, { event_id: 'added', created_at: 1_800_000_000 })]));
  expect(report).toMatchObject({ sessions: 1, events: 1, rejected: [], skippedLines: [] });
  const served = (await pageOf('000002')).sessions.find((s: Session) => s.session_id === ids.collecting);
  expect(served).toMatchObject({ search_query: 'updated', user_id: 'u-9', batch_id: '000002', session_number: place });
  expect(served.events.at(-1)).toMatchObject({ event_id: 'added' });
});

test('an unscheduled session may become a payload search; scheduling then skips it', async () => {
  const report = await importLines(lineOf(ids.fresh, { is_payload_search: true }));
  expect(report).toMatchObject({ sessions: 1, rejected: [] });
  expect((await scheduleOverHttp(ids.fresh)).body).toMatchObject({ status: 'skipped', reason: 'payload_search' });
});

/** Runs `during` right before the import's write of this session's item (the UpdateItem on its key), once. */
function beforeTheSessionWrite(sessionId: string, during: () => Promise<unknown>) {
  let done = false;
  interceptor.use(async (call, send) => {
    // The import's upsert names the session's fields; the schedule's own assignment write does not.
    const namesFields = Object.values(call.input.ExpressionAttributeNames ?? {}).includes('search_query');
    const writesTheSession = call.command === 'UpdateItemCommand' && call.input.Key?.PK === `SESSION#${sessionId}` && namesFields;
    if (writesTheSession && !done) {
      done = true;
      interceptor.use(undefined); // the racing schedule's own calls go straight through
      await during();
    }
    return send();
  });
}

test('race: a session scheduled between the import’s read and its write is never served as a payload search, and the line says why', async () => {
  const id = await seedSession({}, 1);
  beforeTheSessionWrite(id, () => scheduleOverHttp(id));
  const report = await importLines(lineOf(id, { is_payload_search: true }));
  expect(report.rejected).toEqual([
    {
      line: 1,
      reason: expect.stringMatching(
        new RegExp(`^session_id "${id}" was scheduled in batch 000002 while this line was written: a scheduled session cannot become a payload search, so pages of that batch leave it out`),
      ),
    },
  ]);
  expect(report).toMatchObject({ sessions: 0 });
  expect((await pageOf('000002')).sessions.map((s: Session) => s.session_id)).not.toContain(id);
});

test('race: a session scheduled between the import’s read and its write takes the line, and keeps its assignment', async () => {
  const id = await seedSession({}, 1);
  beforeTheSessionWrite(id, () => scheduleOverHttp(id));
  const report = await importLines(lineOf(id, { search_query: 'after the race' }));
  expect(report).toMatchObject({ sessions: 1, rejected: [] });
  const served = (await pageOf('000002')).sessions.find((s: Session) => s.session_id === id);
  expect(served).toMatchObject({ search_query: 'after the race', batch_id: '000002' });
});
