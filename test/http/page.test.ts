/**
 * GET /batch/sessions through the local server: defaults, after_number /
 * limit / events_limit semantics, walking a batch by last_number, 404s, and
 * every malformed query (400).
 */
import type { Event, Session } from '../../shared/schemas';
import { makeEvent, makeSession, writer } from '../support/handlers';
import { errorCode, startTestApi, type TestApi } from '../support/local-api';

let api: TestApi;
/** The batch's sessions in the order they were scheduled, with what the page must return for each. */
const scheduled: Array<{ session: Session; events: Event[]; batch_id: string; session_number: number }> = [];
const SESSIONS = 12;
/** The index (in `scheduled`) of the session with more events than the default events_limit. */
const BUSY = 2;

beforeAll(async () => {
  api = await startTestApi();
  for (let i = 0; i < SESSIONS; i++) {
    const session = makeSession({ search_query: `query ${i}`, search_meta: { i }, user_id: `u${i}` });
    const count = i === BUSY ? 101 : 1 + (i % 3);
    // Written newest first, so "oldest first" is the store's order, not the writing order.
    const events = Array.from({ length: count }, (_, k) => makeEvent(session.session_id, { created_at: 1_700_000_000 + k }));
    await writer().putEvents([...events].reverse());
    await writer().upsertSession(session);
    const answer = await api.schedule(session.session_id);
    expect(answer.body.status).toBe('scheduled');
    scheduled.push({ session, events, batch_id: answer.body.batch_id, session_number: answer.body.session_number });
  }
  // A fresh table: all of them went into the first batch.
  expect(new Set(scheduled.map((s) => s.batch_id))).toEqual(new Set(['000001']));
});
afterAll(() => api.server.close());

const BATCH = '000001';
const numbers = (body: any): number[] => body.sessions.map((s: any) => s.session_number);
const numberOf = (i: number) => scheduled[i]!.session_number;

test('defaults: after_number 0, limit 10, events_limit 100; every field of the session plus batch_id, session_number, events', async () => {
  const answer = await api.page({ batch_id: BATCH });
  expect(answer.status).toBe(200);
  expect(answer.body.batch_id).toBe(BATCH);
  expect(numbers(answer.body)).toEqual(scheduled.slice(0, 10).map((s) => s.session_number));
  expect(answer.body.last_number).toBe(numberOf(9));
  const { session, events, session_number } = scheduled[0]!;
  expect(answer.body.sessions[0]).toEqual({ ...session, batch_id: BATCH, session_number, events });
  expect(answer.body.sessions[BUSY].events).toEqual(scheduled[BUSY]!.events.slice(0, 100));
});

test('numbers rise in the order the sessions were scheduled', () => {
  const ordered = scheduled.map((s) => s.session_number);
  expect(ordered).toEqual([...ordered].sort((a, b) => a - b));
  expect(new Set(ordered).size).toBe(SESSIONS);
});

test('after_number: only sessions numbered above it', async () => {
  const answer = await api.page({ batch_id: BATCH, after_number: numberOf(3) });
  expect(answer.status).toBe(200);
  expect(numbers(answer.body)).toEqual(scheduled.slice(4).map((s) => s.session_number));
});

test('limit: at most that many sessions, last_number is the last one returned', async () => {
  const one = await api.page({ batch_id: BATCH, limit: 1 });
  expect(numbers(one.body)).toEqual([numberOf(0)]);
  expect(one.body.last_number).toBe(numberOf(0));
  const all = await api.page({ batch_id: BATCH, limit: 100 });
  expect(all.body.sessions).toHaveLength(SESSIONS);
  expect(all.body.last_number).toBe(numberOf(SESSIONS - 1));
});

test('events_limit: the oldest events first, at most that many; 0 gives none', async () => {
  const after = numberOf(BUSY - 1);
  const five = await api.page({ batch_id: BATCH, after_number: after, limit: 1, events_limit: 5 });
  expect(five.body.sessions[0].events).toEqual(scheduled[BUSY]!.events.slice(0, 5));
  const all = await api.page({ batch_id: BATCH, after_number: after, limit: 1, events_limit: 1000 });
  expect(all.body.sessions[0].events).toEqual(scheduled[BUSY]!.events);
  const none = await api.page({ batch_id: BATCH, limit: 100, events_limit: 0 });
  expect(none.body.sessions.every((s: any) => Array.isArray(s.events) && s.events.length === 0)).toBe(true);
});

test('walking by last_number visits every session once, in order', async () => {
  const seen: string[] = [];
  let after = 0;
  for (let round = 0; round < SESSIONS; round++) {
    const answer = await api.page({ batch_id: BATCH, after_number: after, limit: 5 });
    expect(answer.status).toBe(200);
    if (answer.body.sessions.length === 0) {
      expect(answer.body.last_number).toBeNull();
      break;
    }
    seen.push(...answer.body.sessions.map((s: any) => s.session_id));
    after = answer.body.last_number;
  }
  expect(seen).toEqual(scheduled.map((s) => s.session.session_id));
});

test('a known batch past its end → 200 with no sessions and last_number null', async () => {
  const answer = await api.page({ batch_id: BATCH, after_number: numberOf(SESSIONS - 1) });
  expect(answer.status).toBe(200);
  expect(answer.body).toEqual({ batch_id: BATCH, state: expect.any(String), last_number: null, sessions: [] });
});

test.each([['999999'], ['000002'], ['1'], ['batch-x']])('unknown batch %s → 404 batch_not_found', async (batchId) => {
  const answer = await api.page({ batch_id: batchId });
  expect(answer.status).toBe(404);
  expect(errorCode(answer)).toBe('batch_not_found');
});

test.each([
  ['no batch_id', ''],
  ['empty batch_id', 'batch_id='],
  ['batch_id with a space', 'batch_id=a%20b'],
  ['batch_id with a slash', 'batch_id=a%2Fb'],
  ['negative after_number', `batch_id=${BATCH}&after_number=-1`],
  ['fractional after_number', `batch_id=${BATCH}&after_number=1.5`],
  ['empty after_number', `batch_id=${BATCH}&after_number=`],
  ['limit 0', `batch_id=${BATCH}&limit=0`],
  ['limit 101', `batch_id=${BATCH}&limit=101`],
  ['limit in exponent form', `batch_id=${BATCH}&limit=1e1`],
  ['limit in hex', `batch_id=${BATCH}&limit=0x10`],
  ['limit not a number', `batch_id=${BATCH}&limit=ten`],
  ['events_limit -1', `batch_id=${BATCH}&events_limit=-1`],
  ['events_limit 1001', `batch_id=${BATCH}&events_limit=1001`],
  ['duplicated limit', `batch_id=${BATCH}&limit=1&limit=2`],
  ['duplicated batch_id', `batch_id=${BATCH}&batch_id=${BATCH}`],
  ['unknown parameter', `batch_id=${BATCH}&color=red`],
])('%s → 400 invalid_request', async (_name, query) => {
  const answer = await api.page(query);
  expect(answer.status).toBe(400);
  expect(errorCode(answer)).toBe('invalid_request');
});

test('the largest allowed values are accepted', async () => {
  const answer = await api.page(`batch_id=${BATCH}&after_number=0&limit=100&events_limit=1000`);
  expect(answer.status).toBe(200);
  expect(answer.body.sessions).toHaveLength(SESSIONS);
});

describe('one rule for leading zeros: accepted, the value is that of the digits, the range is checked on the value', () => {
  test.each([
    ['after_number', '00000000000000001', 1],
    ['after_number', '0000000000000000000000000000000003', 3],
    ['after_number', '00', 0],
    ['limit', '010', 10],
    ['limit', '0000000000000000000000000002', 2],
    ['events_limit', '0000', 0],
  ])('%s=%s reads as %i', async (param, raw, value) => {
    const answer = await api.page(`batch_id=${BATCH}&${param}=${raw}`);
    expect(answer.status).toBe(200);
    const plain = await api.page(`batch_id=${BATCH}&${param}=${value}`);
    expect(answer.body).toEqual(plain.body);
  });

  test.each([
    ['after_number', '0009007199254740992'],
    ['limit', '000101'],
    ['limit', '0000'],
    ['events_limit', '0001001'],
  ])('%s=%s is out of range → 400', async (param, raw) => {
    const answer = await api.page(`batch_id=${BATCH}&${param}=${raw}`);
    expect(answer.status).toBe(400);
    expect(answer.body.error.message).toMatch(new RegExp(`^${param} must be a whole number from`));
  });
});

test('messages name parameters exactly as sent, never capitalised', async () => {
  expect((await api.page(`batch_id=${BATCH}&after_number=x`)).body.error.message).toBe(
    'after_number must be a whole number from 0 to 9007199254740991.',
  );
  expect((await api.page('limit=1')).body.error.message).toBe('batch_id is required.');
  expect((await api.page(`batch_id=${BATCH}&color=red`)).body.error.message).toBe('Unknown field "color".');
});
