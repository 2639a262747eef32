/**
 * The demo seed of `npm start` and the README's curl walk-through: on a fresh
 * store, the documented ids give exactly the documented answers, in this order.
 */
import { DEMO_SESSION_IDS, DEMO_SESSIONS, seedDemoDataIfEmpty } from '../../infra/local/demo-data';
import { documentClient } from '../../shared/data/store-from-env';
import { errorCode, startTestApi, type TestApi } from './local-api';

let api: TestApi;
beforeAll(async () => {
  api = await startTestApi();
});
afterAll(() => api.server.close());

const [redShoes, ...otherEligible] = DEMO_SESSION_IDS.eligible;

test('an empty store is seeded once; a store with data is left alone', async () => {
  const table = process.env.TABLE_NAME!;
  expect(await seedDemoDataIfEmpty(documentClient, table)).toBe(true);
  expect(await seedDemoDataIfEmpty(documentClient, table)).toBe(false);
});

test('the README walk-through', async () => {
  expect((await api.schedule(redShoes!)).body).toEqual({
    session_id: 'demo-red-shoes',
    status: 'scheduled',
    batch_id: '000001',
    session_number: 1,
  });
  expect((await api.schedule(redShoes!)).body).toEqual({
    session_id: 'demo-red-shoes',
    status: 'already_scheduled',
    batch_id: '000001',
    session_number: 1,
  });
  expect((await api.schedule(DEMO_SESSION_IDS.payloadSearch)).body).toEqual({
    session_id: 'demo-payload-search',
    status: 'skipped',
    reason: 'payload_search',
  });
  expect((await api.schedule(DEMO_SESSION_IDS.noEvents)).body).toEqual({
    session_id: 'demo-no-events',
    status: 'skipped',
    reason: 'no_events',
  });
  expect((await api.schedule(DEMO_SESSION_IDS.irrelevant)).body).toEqual({
    session_id: 'demo-irrelevant',
    status: 'scheduled',
    batch_id: '000001',
    session_number: 2,
  });
  const unknown = await api.schedule('no-such-session');
  expect(unknown.status).toBe(404);
  expect(errorCode(unknown)).toBe('session_not_found');

  const first = await api.page('batch_id=000001&limit=1&events_limit=2');
  expect(first.status).toBe(200);
  expect(first.body).toEqual({
    batch_id: '000001',
    last_number: 1,
    sessions: [
      {
        session_id: 'demo-red-shoes',
        search_query: 'red shoes',
        created_at: 1718000000,
        search_results: [
          { object_id: 'sku-1001', rank: 1 },
          { object_id: 'sku-1002', rank: 2 },
          { object_id: 'sku-1003', rank: 3 },
        ],
        search_meta: { locale: 'en-US', device: 'mobile' },
        user_id: 'demo-user-1',
        is_irrelevant: false,
        is_payload_search: false,
        batch_id: '000001',
        session_number: 1,
        events: [
          { event_id: 'demo-red-shoes-e1', session_id: 'demo-red-shoes', object_id: 'sku-1001', event_type: 'view', created_at: 1718000004 },
          { event_id: 'demo-red-shoes-e2', session_id: 'demo-red-shoes', object_id: 'sku-1002', event_type: 'click', created_at: 1718000009 },
        ],
      },
    ],
  });
  const next = await api.page('batch_id=000001&after_number=1');
  expect(next.body).toMatchObject({
    batch_id: '000001',
    last_number: 2,
    sessions: [{ session_id: 'demo-irrelevant', is_irrelevant: true, session_number: 2, events: [] }],
  });
  expect((await api.page('batch_id=000001&after_number=2')).body).toEqual({ batch_id: '000001', last_number: null, sessions: [] });

  const released = await api.release('demo-release-1');
  expect(released.status).toBe(200);
  expect(released.body).toEqual({
    release_id: 'demo-release-1',
    batch_id: '000001',
    released_at: expect.any(Number),
    last_session_number: 2,
  });
  expect((await api.release('demo-release-1')).body).toEqual(released.body);
  const nothing = await api.release('demo-release-2');
  expect(nothing.status).toBe(404);
  expect(errorCode(nothing)).toBe('no_collecting_batch');

  // The other eligible demo sessions open the next batch.
  for (const [i, id] of otherEligible.entries()) {
    expect((await api.schedule(id)).body).toEqual({ session_id: id, status: 'scheduled', batch_id: '000002', session_number: i + 1 });
  }
});

test('the demo covers every schedule outcome with the documented flags', () => {
  const byId = new Map(DEMO_SESSIONS.map((d) => [d.session.session_id, d]));
  for (const id of DEMO_SESSION_IDS.eligible) expect(byId.get(id)?.events.length).toBeGreaterThan(0);
  expect(byId.get(DEMO_SESSION_IDS.payloadSearch)?.session.is_payload_search).toBe(true);
  expect(byId.get(DEMO_SESSION_IDS.noEvents)?.events).toEqual([]);
  expect(byId.get(DEMO_SESSION_IDS.irrelevant)).toMatchObject({ session: { is_irrelevant: true }, events: [] });
  expect(byId.size).toBe(DEMO_SESSIONS.length);
});
