/**
 * Keys that look reserved in JavaScript (`constructor`, `prototype`,
 * `__proto__`) are ordinary keys in JSON data: a line is stored as written
 * or rejected with a reason, never changed quietly. Proven end to end: the
 * JSONL and UBI imports into the embedded store, then the page a consumer reads.
 */
import stableStringify from 'safe-stable-stringify';
import { importSessions } from '../../shared/ingest/jsonl';
import { describeSkipped, importUbi } from '../../shared/ingest/ubi';
import { createTestTable, pageOverHttp, releaseOverHttp, scheduleOverHttp, uniqueId, writer } from '../support/handlers';

/** Every key a careless layer drops or trips over, next to an ordinary one, and "~" spellings that must stay apart from them. */
const RESERVED = '{"constructor":"Bosch","prototype":{"constructor":{"name":"String"}},"__proto__":{"admin":true},"~constructor":1,"~~__proto__":2,"~":3,"plain":4}';

const lines = (...text: string[]) =>
  (async function* () {
    yield Buffer.from(text.join('\n') + '\n');
  })();

/** The canonical text of a value: key order aside, what a consumer sees. */
const canonical = (value: unknown) => stableStringify(value);

/** This file's table is fresh: its first schedule opens batch 000001. */
const batchId = '000001';
beforeAll(() => createTestTable());

test('JSONL: reserved-looking keys in every free object and in search_query are stored as written, as a page shows', async () => {
  const sessionId = uniqueId('reserved');
  const line =
    `{"session_id":"${sessionId}","search_query":${RESERVED},"created_at":1700000000,` +
    `"search_results":[{"object_id":"p1","rank":1,"meta":${RESERVED}}],"search_meta":${RESERVED},"payload_filter":${RESERVED},"sort_by":${RESERVED},` +
    `"events":[{"event_id":"e1","object_id":"p1","event_type":"click","created_at":1700000009,"meta":${RESERVED}}]}`;
  const report = await importSessions(lines(line), writer());
  expect(report).toMatchObject({ sessions: 1, events: 1, rejected: [] });

  expect((await scheduleOverHttp(sessionId)).body).toMatchObject({ status: 'scheduled', batch_id: batchId });
  const page = await pageOverHttp({ batch_id: batchId, limit: 100 });
  const served = page.body.sessions.find((s: { session_id: string }) => s.session_id === sessionId);
  const written = JSON.parse(line);
  for (const field of ['search_query', 'search_meta', 'payload_filter', 'sort_by'] as const) {
    expect([field, canonical(served[field])]).toEqual([field, canonical(JSON.parse(RESERVED))]);
  }
  expect(canonical(served.search_results)).toBe(canonical(written.search_results));
  expect(canonical(served.events[0].meta)).toBe(canonical(JSON.parse(RESERVED)));
  // Own, plain data: "__proto__" is a key of the object, not its prototype.
  expect(Object.keys(served.search_meta)).toEqual(expect.arrayContaining(['constructor', 'prototype', '__proto__']));
  expect(Object.getPrototypeOf(served.search_meta)).toBe(Object.prototype);
});

test('UBI: reserved-looking keys in query_attributes and event_attributes are stored as written', async () => {
  const queryId = uniqueId('ubi');
  const query = `{"query_id":"${queryId}","user_query":"drill","timestamp":1733788898000,"query_attributes":${RESERVED}}`;
  const click =
    `{"action_name":"click","query_id":"${queryId}","timestamp":1733788899000,` +
    `"event_attributes":{"object":{"object_id":"p1","constructor":"Bosch","__proto__":{"x":1}},"position":{"ordinal":1,"prototype":2},"constructor":"Bosch","__proto__":{"y":1}}}`;
  const report = await importUbi(lines(query, click), writer());
  expect(report).toMatchObject({ sessions: 1, events: 1, rejected: [] });

  expect((await scheduleOverHttp(queryId)).body).toMatchObject({ status: 'scheduled', batch_id: batchId });
  const page = await pageOverHttp({ batch_id: batchId, limit: 100 });
  const served = page.body.sessions.find((s: { session_id: string }) => s.session_id === queryId);
  expect(canonical(served.search_meta)).toBe(canonical({ query_attributes: JSON.parse(RESERVED) }));
  expect(canonical(served.events[0].meta)).toBe(
    canonical(JSON.parse('{"object":{"constructor":"Bosch","__proto__":{"x":1}},"position":{"ordinal":1,"prototype":2},"constructor":"Bosch","__proto__":{"y":1}}')),
  );
  // The page of a released batch says the same, but that its batch is released now.
  expect((await releaseOverHttp(uniqueId('r'))).body).toMatchObject({ batch_id: batchId });
  const again = await pageOverHttp({ batch_id: batchId, limit: 100 });
  expect([page.body.state, again.body.state]).toEqual(['collecting', 'released']);
  expect(canonical(again.body.sessions)).toBe(canonical(page.body.sessions));
});

test('UBI: an action_name such as "constructor" or "__proto__" is counted like any other', async () => {
  const queryId = uniqueId('ubi');
  const search = (action: string) => `{"action_name":"${action}","query_id":"${queryId}","timestamp":1733788899000}`;
  const report = await importUbi(
    lines(`{"query_id":"${queryId}","user_query":"drill","timestamp":1733788898000}`, search('constructor'), search('__proto__'), search('__proto__')),
    writer(),
  );
  expect({ ...report.skipped.noObject }).toEqual(JSON.parse('{"constructor":1,"__proto__":2}'));
  expect(describeSkipped(report.skipped)).toBe('3 events skipped: 3 name no object (__proto__ 2, constructor 1)');
});
