/**
 * item-limits.ts promises: an item it accepts can be written and then lived
 * with (scheduled, paged) through the service's own DocumentClient. These
 * tests hold it to that against the embedded store.
 */
import { itemBytes, itemProblem, MAX_ITEM_BYTES } from '../../shared/data/item-limits';
import { sessionItem } from '../../shared/data/items';
import { createTestTable, makeSession, pageOverHttp, scheduleOverHttp, writer } from '../support/handlers';

beforeAll(createTestTable);

test('a session at the largest size itemProblem accepts can still be scheduled and paged', async () => {
  const session = makeSession({ is_irrelevant: true, search_query: '' });
  const base = itemBytes(sessionItem(session));
  // Pad search_query so the stored item is as big as itemProblem allows.
  let padded = { ...session, search_query: 'q'.repeat(MAX_ITEM_BYTES - base) };
  while (itemProblem(sessionItem(padded))) padded = { ...padded, search_query: (padded.search_query as string).slice(1) };
  expect(MAX_ITEM_BYTES - itemBytes(sessionItem(padded))).toBeLessThan(8);

  await writer().upsertSession(padded);
  const scheduled = await scheduleOverHttp(padded.session_id);
  expect(scheduled).toMatchObject({ status: 200, body: { status: 'scheduled' } });
  const page = await pageOverHttp({ batch_id: scheduled.body.batch_id, after_number: scheduled.body.session_number - 1, limit: 1 });
  expect(page.body.sessions[0].search_query).toBe(padded.search_query);
});

describe('numbers', () => {
  const samples = [
    0, 1, -1, 0.5, -2.25, 1e-130, -1e-130, 123456.789, Number.MAX_SAFE_INTEGER, -Number.MAX_SAFE_INTEGER,
    Number.MAX_SAFE_INTEGER + 1, 2 ** 60, 1e20, -1e20, 1.5e16, 1e126, 9.9e125, 1e300, 1e-131, 5e-324, Number.MIN_VALUE,
  ];

  test.each(samples)('itemProblem accepts %p exactly when the service can write it and read it back', async (n) => {
    const session = makeSession({ search_meta: { score: n } });
    const accepted = itemProblem(sessionItem(session)) === undefined;
    const roundTrip = await writer()
      .upsertSession(session)
      .then(async () => {
        const scheduled = await scheduleOverHttp(session.session_id);
        return scheduled.status === 200;
      })
      .catch(() => false);
    expect({ n, accepted }).toEqual({ n, accepted: roundTrip });
  });
});
