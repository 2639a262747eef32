/**
 * The demo seed of `npm start` and the README's curl walk-through: on a fresh
 * store, the documented ids give exactly the documented answers, in this order.
 */
import { DEMO_SESSION_IDS, seedDemoDataIfEmpty } from '../../infra/local/demo-data';
import { documentClient } from '../../shared/data/store-from-env';
import { errorCode, startTestApi, type TestApi } from '../support/local-api';

let api: TestApi;
beforeAll(async () => {
  api = await startTestApi();
});
afterAll(() => api.server.close());

const { ps4, iphoneHeadphones, soundbar, portableCharger } = DEMO_SESSION_IDS;

test('an empty store is seeded once; a store with data is left alone', async () => {
  const table = process.env.TABLE_NAME!;
  expect(await seedDemoDataIfEmpty(documentClient, table)).toMatchObject({ sessions: 284, events: 474, rejected: [] });
  expect(await seedDemoDataIfEmpty(documentClient, table)).toBeUndefined();
});

test('the README walk-through', async () => {
  // Session numbers come from the clock (README, "Scale"): large, rising in scheduling order.
  const scheduled = (await api.schedule(ps4)).body;
  expect(scheduled).toEqual({ session_id: ps4, status: 'scheduled', batch_id: '000001', session_number: expect.any(Number) });
  expect((await api.schedule(ps4)).body).toEqual({ ...scheduled, status: 'already_scheduled' });
  const second = (await api.schedule(iphoneHeadphones)).body;
  expect(second).toEqual({ session_id: iphoneHeadphones, status: 'scheduled', batch_id: '000001', session_number: expect.any(Number) });
  expect(second.session_number).toBeGreaterThan(scheduled.session_number);
  expect((await api.schedule(portableCharger)).body).toEqual({
    session_id: portableCharger,
    status: 'skipped',
    reason: 'no_events',
  });
  const unknown = await api.schedule('no-such-session');
  expect(unknown.status).toBe(404);
  expect(errorCode(unknown)).toBe('session_not_found');

  const first = await api.page('batch_id=000001&limit=1');
  expect(first.status).toBe(200);
  const shown = (objectId: string, rank: number) => ({ object_id: objectId, rank, meta: { object: { object_id_field: 'asin' } } });
  expect(first.body).toEqual({
    batch_id: '000001',
    state: 'collecting',
    last_number: scheduled.session_number,
    sessions: [
      {
        session_id: ps4,
        search_query: 'ps4',
        created_at: 1733791826,
        search_results: [
          shown('B07YLDNTKB', 0),
          shown('B06ZXXBLRL', 1),
          shown('B08GPZW3FB', 2),
          shown('B088ZQYVZX', 3),
          shown('B07D8XBHPR', 4),
        ],
        search_meta: { application: 'esci_ubi_sample' },
        user_id: 'a9277f41-1df3-46af-9f4d-5d27a59f6223',
        is_irrelevant: false,
        is_payload_search: false,
        batch_id: '000001',
        session_number: scheduled.session_number,
        events: [
          {
            // A hash of the UBI event's content: pinned, since a change would duplicate events on re-import.
            event_id: 'ubi-5619a8c1c87953d9350931362c651257',
            session_id: ps4,
            object_id: 'B08GPZW3FB',
            event_type: 'click',
            meta: { object: { object_id_field: 'asin' }, position: { ordinal: 2 } },
            created_at: 1733791830,
          },
        ],
      },
    ],
  });
  const next = await api.page(`batch_id=000001&after_number=${first.body.last_number}`);
  expect(next.body).toMatchObject({
    batch_id: '000001',
    state: 'collecting',
    last_number: second.session_number,
    sessions: [{ session_id: iphoneHeadphones, search_query: 'iphone headphones', session_number: second.session_number }],
  });
  expect(next.body.sessions[0].events.map((e: { event_type: string }) => e.event_type)).toEqual(['click', 'click']);
  expect((await api.page(`batch_id=000001&after_number=${next.body.last_number}`)).body).toEqual({
    batch_id: '000001',
    state: 'collecting',
    last_number: null,
    sessions: [],
  });

  const released = await api.release('demo-release-1');
  expect(released.status).toBe(200);
  expect(released.body).toEqual({ release_id: 'demo-release-1', batch_id: '000001', released_at: expect.any(Number) });
  expect((await api.release('demo-release-1')).body).toEqual(released.body);
  const nothing = await api.release('demo-release-2');
  expect(nothing.status).toBe(404);
  expect(errorCode(nothing)).toBe('no_collecting_batch');

  // The next schedule opens batch 000002; events_limit caps the 34 events of "soundbar".
  expect((await api.schedule(soundbar)).body).toEqual({
    session_id: soundbar,
    status: 'scheduled',
    batch_id: '000002',
    session_number: expect.any(Number),
  });
  const soundbarPage = await api.page('batch_id=000002&events_limit=5');
  expect(soundbarPage.body.sessions[0]).toMatchObject({ session_id: soundbar, search_query: 'soundbar' });
  expect(soundbarPage.body.sessions[0].events).toHaveLength(5);
  expect((await api.page('batch_id=000002&events_limit=1000')).body.sessions[0].events).toHaveLength(34);
});
