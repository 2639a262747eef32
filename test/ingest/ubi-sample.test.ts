/**
 * The shipped UBI sample through the import into the embedded store: the
 * counts it reports, and what the table then holds, match figures this test
 * computes from the raw file on its own (plain counting, not the importer's
 * code); importing it again, after a session was scheduled, changes nothing.
 */
import { createReadStream, readFileSync } from 'node:fs';
import { DEMO_DATA_FILE, DEMO_SESSION_IDS } from '../../infra/local/demo-data';
import { importUbi } from '../../shared/ingest/ubi';
import { eventSortKeyPrefix, isSessionSortKey } from '../../shared/data/keys';
import { documentClient } from '../../shared/data/store-from-env';
import { TABLE } from '../../shared/data/table';
import { createTestTable, scheduleOverHttp, writer } from '../support/handlers';
import { scanTable } from '../support/scan-table';

interface Figures {
  lines: number;
  queryDocuments: number;
  sessions: number;
  impressions: number;
  events: number;
  noQueryId: number;
  unknownQuery: number;
  /** Events naming an object whose query is not in the file: stored, waiting for it. */
  waitingForQuery: number;
  /** Of those, the ones that are not impressions: stored as events. */
  waitingEvents: number;
  noObject: Record<string, number>;
}

/** Counts straight from the file: every non-action line is a document; an event has an action_name. */
function countByHand(text: string): Figures {
  const lines = text.split('\n').filter((line) => line.trim() !== '');
  const documents = lines.map((line) => JSON.parse(line)).filter((d) => !('index' in d));
  const queries = documents.filter((d) => !('action_name' in d));
  const queryIds = new Set(queries.map((q) => q.query_id));
  const figures: Figures = {
    lines: lines.length,
    queryDocuments: queries.length,
    sessions: queryIds.size,
    impressions: 0,
    events: 0,
    noQueryId: 0,
    unknownQuery: 0,
    waitingForQuery: 0,
    waitingEvents: 0,
    noObject: {},
  };
  const eventLines = new Set<string>();
  for (const [i, d] of documents.entries()) {
    if (!('action_name' in d)) continue;
    if (d.query_id && !queryIds.has(d.query_id)) figures.unknownQuery++;
    if (!d.query_id) figures.noQueryId++;
    else if (!d.event_attributes?.object?.object_id) figures.noObject[d.action_name] = (figures.noObject[d.action_name] ?? 0) + 1;
    else if (!queryIds.has(d.query_id)) {
      figures.waitingForQuery++;
      if (d.action_name !== 'impression') figures.waitingEvents++;
    }
    else if (d.action_name === 'impression') figures.impressions++;
    // The same event written twice in the export is one event.
    else eventLines.add(JSON.stringify(documents[i]));
  }
  figures.events = eventLines.size;
  return figures;
}

const expected = countByHand(readFileSync(DEMO_DATA_FILE, 'utf8'));

beforeAll(createTestTable);

test('the figures are those of the sample README', () => {
  // A sanity check on the hand count itself, against sample-data/README.md.
  expect(expected).toMatchObject({ queryDocuments: 473, sessions: 284, events: 474, unknownQuery: 944, noQueryId: 2 });
  // Of the 944, those naming an object are kept, waiting for their query; the rest name no object.
  expect(expected.waitingForQuery).toBe(332);
});

test('the import reports and writes what the file holds, and importing it again changes nothing', async () => {
  const report = await importUbi(createReadStream(DEMO_DATA_FILE), writer());
  expect(report).toEqual({
    lines: expected.lines,
    queries: expected.queryDocuments,
    sessions: expected.sessions,
    impressions: expected.impressions,
    events: expected.events,
    skipped: { noQueryId: expected.noQueryId, waitingForQuery: expected.waitingForQuery, noObject: expected.noObject, repeated: 0 },
    rejected: [],
    skippedLines: [],
  });

  const items = await scanTable(documentClient, process.env.TABLE_NAME!);
  const sortKeys = items.map((item) => String(item[TABLE.sortKey]));
  expect(sortKeys.filter(isSessionSortKey)).toHaveLength(expected.sessions);
  // Events waiting for their query are stored too, under the session id they name.
  expect(sortKeys.filter((sk) => sk.startsWith(eventSortKeyPrefix)).length).toBe(expected.events + expected.waitingEvents);

  expect((await scheduleOverHttp(DEMO_SESSION_IDS.ps4)).body).toMatchObject({ status: 'scheduled' });
  const before = await scanTable(documentClient, process.env.TABLE_NAME!);
  expect(await importUbi(createReadStream(DEMO_DATA_FILE), writer())).toEqual(report);
  expect(await scanTable(documentClient, process.env.TABLE_NAME!)).toEqual(before);
});
