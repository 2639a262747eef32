/**
 * The UBI mapping on hand-written documents, without a store: plain and bulk
 * NDJSON give the same sessions, events join their query wherever they are
 * in the file, repeated query ids merge, and every event that cannot become
 * part of a session is counted by reason.
 */
import { describeSkipped, importUbi, type UbiImportReport } from '../../shared/ingest/ubi';
import type { Event, Session } from '../../shared/schemas';
import { fakeUbiWriter } from '../support/fake-writer';

const QUERY = {
  application: 'shop',
  query_id: 'q-1',
  client_id: 'client-7',
  user_query: 'red shoes',
  query_attributes: {},
  timestamp: '2024-12-10T00:01:29.378Z',
};
const event = (action: string, objectId: string | undefined, ordinal: number | undefined, extra: Record<string, unknown> = {}) => ({
  application: 'shop',
  action_name: action,
  query_id: 'q-1',
  session_id: 'browser-session-1',
  client_id: 'client-7',
  timestamp: '2024-12-10T00:01:35.000Z',
  message_type: null,
  message: null,
  event_attributes: {
    ...(objectId === undefined ? {} : { object: { object_id: objectId, object_id_field: 'sku' } }),
    ...(ordinal === undefined ? {} : { position: { ordinal } }),
  },
  ...extra,
});
/** Impressions out of position order, a click, an add-to-cart and a search (no object). */
const DOCUMENTS = [
  QUERY,
  event('impression', 'p-b', 1),
  event('impression', 'p-a', 0),
  event('impression', 'p-c', 2),
  event('click', 'p-b', 1, { timestamp: 1733788898123, message_type: 'CLICK' }),
  event('add_to_cart', 'p-b', 1, { timestamp: '2024-12-10T00:01:40+0000', event_attributes: { object: { object_id: 'p-b' }, dwell_time: 4.5 } }),
  event('search', undefined, undefined),
];

const plain = (documents: unknown[]) => documents.map((d) => JSON.stringify(d)).join('\n') + '\n';
const bulk = (documents: Array<Record<string, unknown>>) =>
  documents
    .map((d, i) => `${JSON.stringify({ index: { _index: 'action_name' in d ? 'ubi_events' : 'ubi_queries', _id: `id-${i}` } })}\n${JSON.stringify(d)}`)
    .join('\n') + '\n';

async function* bytes(text: string) {
  yield Buffer.from(text);
}

async function importText(text: string, options: { chunkSessions?: number } = {}) {
  const sessions: Session[] = [];
  const events: Event[] = [];
  const report = await importUbi(
    bytes(text),
    fakeUbiWriter({ putEvents: async (e) => void events.push(...e), upsertSession: async (s) => void sessions.push(s) }),
    options,
  );
  return { report, sessions, events };
}

test('a query becomes a session: impressions its ranked results, other events with an object its events', async () => {
  const { report, sessions, events } = await importText(plain(DOCUMENTS));
  expect(sessions).toEqual([
    {
      session_id: 'q-1',
      search_query: 'red shoes',
      created_at: 1733788889,
      search_results: [
        { object_id: 'p-a', rank: 0, meta: { object: { object_id_field: 'sku' } } },
        { object_id: 'p-b', rank: 1, meta: { object: { object_id_field: 'sku' } } },
        { object_id: 'p-c', rank: 2, meta: { object: { object_id_field: 'sku' } } },
      ],
      search_meta: { application: 'shop' },
      user_id: 'client-7',
      is_irrelevant: false,
      is_payload_search: false,
    },
  ]);
  expect(events).toEqual([
    {
      event_id: expect.stringMatching(/^ubi-[0-9a-f]{32}$/),
      session_id: 'q-1',
      object_id: 'p-b',
      event_type: 'click',
      // Epoch milliseconds, to seconds.
      created_at: 1733788898,
      meta: { object: { object_id_field: 'sku' }, position: { ordinal: 1 }, message_type: 'CLICK' },
    },
    {
      event_id: expect.stringMatching(/^ubi-[0-9a-f]{32}$/),
      session_id: 'q-1',
      object_id: 'p-b',
      event_type: 'add_to_cart',
      // "+0000", the offset OpenSearch's Java clients write.
      created_at: 1733788900,
      meta: { dwell_time: 4.5 },
    },
  ]);
  expect(report).toEqual({
    lines: 7,
    queries: 1,
    sessions: 1,
    impressions: 3,
    events: 2,
    skipped: { noQueryId: 0, waitingForQuery: 0, noObject: { search: 1 }, repeated: 0 },
    rejected: [],
    skippedLines: [],
  } satisfies UbiImportReport);
});

test('the bulk form (an action line before each document) gives the same sessions and events, ids included', async () => {
  const fromPlain = await importText(plain(DOCUMENTS));
  const fromBulk = await importText(bulk(DOCUMENTS));
  expect(fromBulk.sessions).toEqual(fromPlain.sessions);
  expect(fromBulk.events).toEqual(fromPlain.events);
  expect(fromBulk.report).toEqual({ ...fromPlain.report, lines: 2 * DOCUMENTS.length });
});

test('events may come before their query, as in an export of ubi_events then ubi_queries', async () => {
  const { sessions, events } = await importText(plain([...DOCUMENTS.slice(1), QUERY]));
  expect(sessions.map((s) => s.search_results.map((r) => r.object_id))).toEqual([['p-a', 'p-b', 'p-c']]);
  expect(events.map((e) => e.event_type)).toEqual(['click', 'add_to_cart']);
});

test('an event keeps its id whatever the key order, spacing or form, and a verbatim repeat is written once', async () => {
  const click = event('click', 'p-b', 1);
  const reordered = Object.fromEntries(Object.entries(click).reverse());
  const first = await importText(plain([QUERY, click]));
  const second = await importText(`${JSON.stringify(QUERY)}\n${JSON.stringify(reordered, null, 0).replace(/,/g, ', ')}\n${JSON.stringify(click)}\n`);
  expect(second.events).toEqual(first.events);
  expect(second.report.skipped.repeated).toBe(1);
  // A different timestamp is a different event, even within the same second.
  const later = await importText(plain([QUERY, click, { ...click, timestamp: '2024-12-10T00:01:35.500Z' }]));
  expect(new Set(later.events.map((e) => e.event_id)).size).toBe(2);
});

test('a query id seen more than once is one session, the same whatever order its documents come in', async () => {
  const documents = [
    { ...QUERY, user_query: 'red sho', timestamp: '2024-12-10T00:01:40Z', query_response_hit_ids: ['late-1'] },
    { ...QUERY, user_query: 'red shoes', timestamp: '2024-12-10T00:01:20Z', query_response_hit_ids: [] },
    { ...QUERY, user_query: 'red shoe', timestamp: '2024-12-10T00:01:30Z', query_response_hit_ids: ['h-1', 'h-2'] },
  ];
  const orders = [[0, 1, 2], [0, 2, 1], [1, 0, 2], [1, 2, 0], [2, 0, 1], [2, 1, 0]];
  for (const order of orders) {
    const { sessions, report } = await importText(plain(order.map((i) => documents[i])));
    expect(report).toMatchObject({ queries: 3, sessions: 1 });
    expect(sessions).toEqual([
      expect.objectContaining({
        session_id: 'q-1',
        // The earliest document gives the text and time...
        search_query: 'red shoes',
        created_at: 1733788880,
        // ...and, with no impressions, the earliest that lists hits gives the results, in order.
        search_results: [
          { object_id: 'h-1', rank: 0 },
          { object_id: 'h-2', rank: 1 },
        ],
      }),
    ]);
  }
});

test('each object is one result, at the first position it was shown; impressions without a position come last', async () => {
  const { sessions } = await importText(
    plain([QUERY, event('impression', 'p-x', undefined), event('impression', 'p-b', 3), event('impression', 'p-b', 1), event('impression', 'p-a', 2)]),
  );
  expect(sessions[0]!.search_results.map((r) => [r.object_id, r.rank])).toEqual([
    ['p-b', 1],
    ['p-a', 2],
    ['p-x', undefined],
  ]);
});

test('events that cannot join a session are counted by reason, not written; events of a query not imported yet are stored and wait', async () => {
  const { report, events } = await importText(
    plain([
      QUERY,
      event('click', 'p-b', 1, { query_id: undefined }),
      event('click', 'p-b', 1, { query_id: 'q-missing' }),
      event('impression', 'p-b', 1, { query_id: 'q-missing' }),
      event('search', undefined, undefined),
      event('brand_filter', undefined, undefined),
      event('brand_filter', '', undefined),
      event('click', 'p-b', 1),
    ]),
  );
  // The click of q-missing is stored under its session id, to join the session once its query comes.
  expect(events.map((e) => [e.session_id, e.event_type])).toEqual([
    ['q-1', 'click'],
    ['q-missing', 'click'],
  ]);
  expect(report).toMatchObject({ sessions: 1, events: 1, impressions: 0 });
  expect(report.skipped).toEqual({ noQueryId: 1, waitingForQuery: 2, noObject: { brand_filter: 2, search: 1 }, repeated: 0 });
  expect(describeSkipped(report.skipped)).toBe(
    '2 events wait for their query (kept until it is imported); ' +
      '4 events skipped: 1 have no query_id, 3 name no object (brand_filter 2, search 1)',
  );
  expect(describeSkipped({ ...report.skipped, waitingForQuery: 0 })).toBe('4 events skipped: 1 have no query_id, 3 name no object (brand_filter 2, search 1)');
  expect(describeSkipped({ noQueryId: 0, waitingForQuery: 1, noObject: {}, repeated: 0 })).toBe(
    '1 event waits for its query (kept until it is imported); no events skipped',
  );
  expect(report.rejected).toEqual([]);
});

test('malformed lines are rejected by number with the reason; the rest is imported', async () => {
  const { report, sessions, events } = await importText(
    [
      JSON.stringify(QUERY),
      '{"action_name": "click",',
      JSON.stringify({ ...QUERY, query_id: 'has spaces' }),
      JSON.stringify(event('click', 'p-b', 1, { timestamp: 'yesterday' })),
      JSON.stringify({ ...QUERY, query_id: 'q-2', timestamp: '2024-12-10 00:01:29' }),
      JSON.stringify({ delete: { _index: 'ubi_events', _id: 'x' } }),
      '[]',
      JSON.stringify(event('click', 'p-b', 1)),
      JSON.stringify({ ...QUERY, query_id: 'q-3', user_query: 42 }),
    ].join('\n'),
  );
  expect(report.rejected).toEqual([
    { line: 2, reason: expect.stringMatching(/^not valid JSON/) },
    { line: 3, reason: expect.stringMatching(/^query: query_id must be 1-128 characters/) },
    { line: 4, reason: 'event: timestamp must be an ISO-8601 date or epoch milliseconds' },
    { line: 6, reason: 'neither a UBI query (no query_id) nor a UBI event (no action_name)' },
    { line: 7, reason: expect.stringMatching(/^must be a JSON object/) },
    { line: 9, reason: 'query: user_query must be a string' },
  ]);
  // A zone-less timestamp is UTC, as OpenSearch reads it.
  expect(sessions.map((s) => [s.session_id, s.created_at])).toEqual([
    ['q-1', 1733788889],
    ['q-2', 1733788889],
  ]);
  expect(events).toHaveLength(1);
});

test('a write that fails stops the import with the lines it covered; progress is reported per chunk', async () => {
  const progress: number[] = [];
  const three = plain([QUERY, { ...QUERY, query_id: 'q-2' }, { ...QUERY, query_id: 'q-3' }]);
  await importUbi(bytes(three), fakeUbiWriter({}), {
    chunkSessions: 2,
    onProgress: (p) => progress.push(p.sessions),
  });
  expect(progress).toEqual([2, 3]);

  let calls = 0;
  const failing = fakeUbiWriter({
    upsertSession: async () => {
      if (++calls > 2) throw new Error('throttled');
    },
  });
  await expect(importUbi(bytes(three), failing, { chunkSessions: 2 })).rejects.toMatchObject({
    name: 'ImportWriteError',
    message: 'Writing lines 3-3 failed: throttled',
  });
});

test('an event DynamoDB could not store rejects its own line only; its session and other events are imported', async () => {
  const huge = event('click', 'p-b', 1, { event_attributes: { object: { object_id: 'p-b', blob: 'x'.repeat(410 * 1024) } } });
  const { report, sessions, events } = await importText(plain([QUERY, huge, event('add_to_cart', 'p-b', 1)]));
  expect(report.rejected).toEqual([{ line: 2, reason: expect.stringMatching(/^event: item is \d+ bytes/) }]);
  expect(sessions.map((s) => s.session_id)).toEqual(['q-1']);
  expect(events.map((e) => e.event_type)).toEqual(['add_to_cart']);
});

test('an impression or a query document DynamoDB could not store is rejected by its line, and nothing of it is written', async () => {
  const blob = 'x'.repeat(410 * 1024);
  const huge = event('impression', 'p-z', 0, { event_attributes: { object: { object_id: 'p-z', blob }, position: { ordinal: 0 } } });
  const hugeQuery = { ...QUERY, query_id: 'q-huge', query_attributes: { blob } };
  const { report, sessions } = await importText(plain([QUERY, huge, hugeQuery, event('impression', 'p-a', 1)]));
  expect(report.rejected).toEqual([
    { line: 2, reason: expect.stringMatching(/^event: item is \d+ bytes/) },
    { line: 3, reason: expect.stringMatching(/^query: item is \d+ bytes/) },
  ]);
  expect(sessions.map((s) => [s.session_id, s.search_results.map((r) => r.object_id)])).toEqual([['q-1', ['p-a']]]);
});
