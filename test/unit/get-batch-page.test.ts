import fc from 'fast-check';
import { BatchNotFound } from '../../shared/domain/errors';
import { getBatchPage as getMeasuredPage, MAX_PAGE_BYTES, type PageRequest } from '../../shared/domain/get-batch-page';
import type { BatchPage } from '../../shared/domain/model';
import { releaseCollectingBatch } from '../../shared/domain/release-batch';
import { shardOf } from '../../shared/domain/numbering';
import { scheduleSession } from '../../shared/domain/schedule-session';
import { MemorySessionStore } from '../support/memory-store';
import { makeEvent, makeSession, uniqueId } from '../support/fixtures';
import { seed } from './fixtures';

/** The page alone, for the tests that look at its content (the JSON text is checked in its own test). */
const getBatchPage = async (...args: Parameters<typeof getMeasuredPage>) => (await getMeasuredPage(...args)).page;

let store: MemorySessionStore;
beforeEach(() => {
  store = new MemorySessionStore();
});

const request = (overrides: Partial<PageRequest> = {}): PageRequest => ({
  batchId: '000001',
  afterNumber: 0,
  limit: 10,
  eventsLimit: 100,
  ...overrides,
});

const jsonBytes = (page: BatchPage) => Buffer.byteLength(JSON.stringify(page));

let clock = 1_700_000_000_000;
/** Schedules one session on a clock a millisecond on each time: numbers rise in scheduling order. */
const schedule = (id: string) => scheduleSession(store, id, { now: () => clock++ });

/** Schedules `count` sessions with `events` events each and returns their ids in scheduling order. */
async function scheduled(count: number, events = 1): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < count; i++) {
    const id = seed(store, {}, events);
    await schedule(id);
    ids.push(id);
  }
  return ids;
}

/** The number a session was scheduled under. */
const numberOf = (id: string | undefined) => store.assignmentOf(id!)!.sessionNumber;

describe('getBatchPage: which batches exist', () => {
  test('with no batch at all, any id is BatchNotFound', async () => {
    await expect(getBatchPage(store, request())).rejects.toEqual(new BatchNotFound('000001'));
  });

  test.each(['1', '01', '000000', '0000001', 'abc', '00000a', '000002', '999999', '-00001'])(
    'batch id %p is BatchNotFound while only batch 000001 exists',
    async (batchId) => {
      await scheduled(1);
      await expect(getBatchPage(store, request({ batchId }))).rejects.toBeInstanceOf(BatchNotFound);
    },
  );

  test('a released batch and the collecting one after it are both readable', async () => {
    const [first] = await scheduled(1);
    await releaseCollectingBatch(store, uniqueId('r'));
    const [second] = await scheduled(1);
    await expect(getBatchPage(store, request({ batchId: '000001' }))).resolves.toMatchObject({ last_number: numberOf(first) });
    await expect(getBatchPage(store, request({ batchId: '000002' }))).resolves.toMatchObject({ last_number: numberOf(second) });
    await expect(getBatchPage(store, request({ batchId: '000003' }))).rejects.toBeInstanceOf(BatchNotFound);
  });

  test('a known batch past its end is an empty page with last_number null', async () => {
    const ids = await scheduled(2);
    await expect(getBatchPage(store, request({ afterNumber: numberOf(ids[1]) }))).resolves.toEqual({
      batch_id: '000001',
      state: 'collecting',
      last_number: null,
      sessions: [],
    });
  });
});

describe('getBatchPage: state', () => {
  test('a page says whether its batch is still collecting or released', async () => {
    await scheduled(1);
    expect((await getBatchPage(store, request({ batchId: '000001' }))).state).toBe('collecting');
    await releaseCollectingBatch(store, uniqueId('r'));
    expect((await getBatchPage(store, request({ batchId: '000001' }))).state).toBe('released');
    await scheduled(1);
    expect((await getBatchPage(store, request({ batchId: '000001' }))).state).toBe('released');
    expect((await getBatchPage(store, request({ batchId: '000002' }))).state).toBe('collecting');
  });
});

describe('getBatchPage: contents', () => {
  test('each session comes whole, with batch_id, session_number and its oldest events first', async () => {
    const session = makeSession({ user_id: 'u-1', search_meta: { lang: 'en' }, is_irrelevant: true });
    store.putSession(session);
    const events = [30, 10, 20].map((t) => makeEvent(session.session_id, { created_at: t, event_id: `e-${t}` }));
    store.putEvents(...events);
    await schedule(session.session_id);
    const number = numberOf(session.session_id);

    const page = await getBatchPage(store, request({ eventsLimit: 2 }));
    expect(page).toEqual({
      batch_id: '000001',
      state: 'collecting',
      last_number: number,
      sessions: [{ ...session, batch_id: '000001', session_number: number, events: [events[1], events[2]] }],
    });
  });

  test('events_limit 0 sends no events; each session’s own item is still read, in the same round', async () => {
    await scheduled(2, 3);
    store.calls.length = 0;
    const page = await getBatchPage(store, request({ eventsLimit: 0 }));
    expect(page.sessions.map((s) => s.events)).toEqual([[], []]);
    expect(store.calls).toEqual(['readPointer', 'listBatchEntries', 'readSession', 'readSession']);
  });

  test('limit and after_number page through the batch in ascending order', async () => {
    const ids = await scheduled(5);
    const page = await getBatchPage(store, request({ afterNumber: numberOf(ids[0]), limit: 3 }));
    expect(page.sessions.map((s) => [s.session_id, s.session_number])).toEqual(ids.slice(1, 4).map((id) => [id, numberOf(id)]));
    expect(page.last_number).toBe(numberOf(ids[3]));
  });
});

describe('getBatchPage: the page size cap', () => {
  test('the cap is 5 MB', () => {
    expect(MAX_PAGE_BYTES).toBe(5 * 1024 * 1024);
  });

  test('ends the page before the session that would cross maxBytes; last_number says where to go on', async () => {
    const ids = await scheduled(4, 5);
    const numbers = ids.map(numberOf);
    const whole = await getBatchPage(store, request());
    const twoSessions: BatchPage = { ...whole, sessions: whole.sessions.slice(0, 2), last_number: numbers[1]! };
    const maxBytes = jsonBytes(twoSessions) + 20; // room for two, not for three

    const first = await getBatchPage(store, request(), maxBytes);
    expect(first.sessions.map((s) => s.session_number)).toEqual(numbers.slice(0, 2));
    expect(first.last_number).toBe(numbers[1]);
    expect(jsonBytes(first)).toBeLessThanOrEqual(maxBytes);

    const next = await getBatchPage(store, request({ afterNumber: first.last_number! }), maxBytes);
    expect(next.sessions.map((s) => s.session_number)).toEqual(numbers.slice(2));
  });

  test('a single session too big for a page comes alone with the events that fit and events_truncated', async () => {
    const [big] = await scheduled(1, 50);
    await scheduled(1, 1);
    const whole = await getBatchPage(store, request());
    const maxBytes = Math.floor(jsonBytes({ ...whole, sessions: whole.sessions.slice(0, 1) }) / 2);

    const page = await getBatchPage(store, request(), maxBytes);
    expect(page.sessions).toHaveLength(1);
    const [only] = page.sessions;
    expect(only).toMatchObject({ session_id: big, session_number: numberOf(big), events_truncated: true });
    expect(only!.events.length).toBeGreaterThan(0);
    expect(only!.events.length).toBeLessThan(50);
    // The events kept are the oldest ones.
    expect(only!.events).toEqual(whole.sessions[0]!.events.slice(0, only!.events.length));
    expect(page.last_number).toBe(numberOf(big));
    expect(jsonBytes(page)).toBeLessThanOrEqual(maxBytes);
    expect(whole.sessions.every((s) => !('events_truncated' in s))).toBe(true);
  });

  // Regression: the envelope was measured with last_number null (4 bytes), so a page whose
  // last session number has 6+ digits could end up a few bytes over maxBytes.
  test('the cap holds exactly when session numbers are long', async () => {
    // Sessions of a batch the counter layout numbered (before sharding), listed in its index.
    const sessions = [makeSession(), makeSession()];
    store.setPointer({ batchSeq: 1, batchId: '000001', lastNumber: 1_000_000_001 });
    sessions.forEach((s, i) => {
      store.putSession(s, { batchId: '000001', sessionNumber: 1_000_000_000 + i });
      store.putEvents(makeEvent(s.session_id));
    });
    const whole = await getBatchPage(store, request({ afterNumber: 1 }));
    expect(whole.sessions).toHaveLength(2);
    for (let maxBytes = jsonBytes(whole) - 16; maxBytes <= jsonBytes(whole) + 16; maxBytes++) {
      const page = await getBatchPage(store, request({ afterNumber: 1 }), maxBytes);
      expect({ maxBytes, over: jsonBytes(page) > maxBytes }).toEqual({ maxBytes, over: false });
    }
  });

  test('property: walking any batch with any cap and limit yields every session once, in order, pages within the cap', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.record({ events: fc.nat(6), padding: fc.nat(300), numberStep: fc.integer({ min: 1, max: 400_000 }) }), {
          minLength: 1,
          maxLength: 12,
        }),
        fc.integer({ min: 1, max: 7 }),
        fc.integer({ min: 600, max: 6_000 }),
        async (specs, limit, maxBytes) => {
          const local = new MemorySessionStore();
          let number = 0;
          const expected: string[] = [];
          for (const spec of specs) {
            number += spec.numberStep; // gaps, and numbers of any width
            const session = makeSession({ search_query: 'q'.repeat(spec.padding) });
            local.putSession(session, { batchId: '000001', sessionNumber: number });
            for (let i = 0; i < spec.events; i++) local.putEvents(makeEvent(session.session_id, { created_at: i }));
            expected.push(session.session_id);
          }
          local.setPointer({ batchSeq: 1, batchId: '000001', lastNumber: number });

          const seen: string[] = [];
          let after = 0;
          for (let pages = 0; pages <= specs.length; pages++) {
            const { page, json } = await getMeasuredPage(local, request({ afterNumber: after, limit }), maxBytes);
            // The text the handler sends is exactly this page, serialized.
            expect(json).toBe(JSON.stringify(page));
            if (page.sessions.length === 0) break;
            // Only a lone session whose bare fields alone overflow may exceed the cap.
            const bareOverflow = page.sessions.length === 1 && page.sessions[0]!.events_truncated && page.sessions[0]!.events.length === 0;
            if (!bareOverflow) expect(jsonBytes(page)).toBeLessThanOrEqual(maxBytes);
            seen.push(...page.sessions.map((s) => s.session_id));
            after = page.last_number!;
          }
          expect(seen).toEqual(expected);
        },
      ),
      { numRuns: 150 },
    );
  });
});

describe('getBatchPage: listings no assignment confirms (orphans of lost races, crashes, deadlines)', () => {
  test('a session listed under a released batch and under the next is served in the next only', async () => {
    const [first] = await scheduled(1);
    const moved = seed(store, {}, 1);
    store.plantOrphan(moved, { batchId: '000001', sessionNumber: numberOf(first) + 1 });
    await releaseCollectingBatch(store, uniqueId('r'));
    await schedule(moved);
    const released = await getBatchPage(store, request({ batchId: '000001' }));
    expect(released.sessions.map((s) => s.session_id)).toEqual([first]);
    expect(released.last_number).toBe(numberOf(first));
    const next = await getBatchPage(store, request({ batchId: '000002' }));
    expect(next.sessions.map((s) => [s.session_id, s.session_number])).toEqual([[moved, numberOf(moved)]]);
  });

  test('a session listed twice in one batch is served once, under the number its assignment holds', async () => {
    const [a, b] = await scheduled(2);
    store.plantOrphan(b!, { batchId: '000001', sessionNumber: numberOf(a) - 1 });
    const page = await getBatchPage(store, request());
    expect(page.sessions.map((s) => [s.session_id, s.session_number])).toEqual([
      [a, numberOf(a)],
      [b, numberOf(b)],
    ]);
  });

  test('a listing of a session never assigned is not served', async () => {
    const [a] = await scheduled(1);
    store.plantOrphan(seed(store, {}, 1), { batchId: '000001', sessionNumber: numberOf(a) + 1 });
    expect((await getBatchPage(store, request())).sessions).toHaveLength(1);
  });

  test('a listing of orphans only reads on, so an empty page still means the end of the batch', async () => {
    const [a, b] = await scheduled(2);
    for (const k of [1, 2, 3]) store.plantOrphan(a!, { batchId: '000001', sessionNumber: numberOf(b) + k });
    const [c] = await scheduled(1);
    expect(numberOf(c)).toBeGreaterThan(numberOf(b) + 3);
    store.calls.length = 0;
    const page = await getBatchPage(store, request({ afterNumber: numberOf(b), limit: 2 }));
    expect(page.sessions.map((s) => [s.session_id, s.session_number])).toEqual([[c, numberOf(c)]]);
    expect(store.calls.filter((call) => call === 'listBatchEntries')).toHaveLength(2);
  });

  test('a batch once opened with more shards than the setting: its extra shards are listed too, in one more round', async () => {
    const wide = new MemorySessionStore(8);
    let id = seed(wide, {}, 1);
    while (shardOf(id, 8) < 2) id = seed(wide, {}, 1); // on a shard the narrower setting would not list
    await scheduleSession(wide, id);
    // The deployment's setting was lowered since; the batch keeps the shards it was opened with.
    const narrow = Object.assign(Object.create(Object.getPrototypeOf(wide)), wide, { shards: 2 }) as MemorySessionStore;
    narrow.calls.length = 0;
    const page = await getBatchPage(narrow, request());
    expect(page.sessions.map((s) => s.session_id)).toEqual([id]);
    expect(narrow.calls.filter((call) => call === 'listBatchEntries')).toHaveLength(2);
  });
});

describe('getBatchPage: payload searches', () => {
  test('a session marked a payload search after it was scheduled (an import racing its schedule) is never served', async () => {
    const [a, b] = await scheduled(2);
    const { assignment: _, ...session } = (await store.findSession(b!))!.session;
    store.putSession({ ...session, is_payload_search: true });
    const page = await getBatchPage(store, request());
    expect(page.sessions.map((s) => s.session_id)).toEqual([a]);
  });
});
