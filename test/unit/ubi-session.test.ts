/**
 * The choices a UBI session is recomputed with, each made by content and
 * never by the order the documents were read in: every permutation of the
 * same documents gives the same session.
 */
import { searchResults, ubiSession, type UbiImpressionSource, type UbiQuerySource } from '../../shared/domain/ubi-session';

const permutations = <T>(items: readonly T[]): T[][] =>
  items.length <= 1 ? [[...items]] : items.flatMap((item, i) => permutations([...items.slice(0, i), ...items.slice(i + 1)]).map((rest) => [item, ...rest]));

const query = (documentId: string, timestampMs: number, extra: Partial<UbiQuerySource> = {}): UbiQuerySource => ({
  documentId,
  timestampMs,
  searchQuery: `text of ${documentId}`,
  ...extra,
});
const impression = (eventId: string, objectId: string, ordinal: number | undefined, timestampMs = 1_000): UbiImpressionSource => ({
  eventId,
  timestampMs,
  objectId,
  ...(ordinal === undefined ? {} : { ordinal }),
});

test('the earliest query document gives the fields; within the same millisecond, the smallest document id', () => {
  const documents = [query('ubi-b', 5_000), query('ubi-c', 4_999), query('ubi-a', 5_000, { userId: 'u-a' }), query('ubi-0', 5_001)];
  for (const order of permutations(documents)) {
    expect(ubiSession('q', order, [])).toMatchObject({ search_query: 'text of ubi-c', created_at: 4 });
  }
  const tied = [query('ubi-b', 5_000), query('ubi-a', 5_000, { userId: 'u-a' })];
  for (const order of permutations(tied)) expect(ubiSession('q', order, [])).toMatchObject({ search_query: 'text of ubi-a', user_id: 'u-a', created_at: 5 });
});

test('without impressions, the earliest document that lists hits gives the results; ties by document id', () => {
  const documents = [query('ubi-a', 1_000), query('ubi-c', 2_000, { hitIds: ['c-1'] }), query('ubi-b', 2_000, { hitIds: ['b-1', 'b-2'] }), query('ubi-d', 3_000, { hitIds: ['d-1'] })];
  for (const order of permutations(documents)) {
    const session = ubiSession('q', order, [])!;
    expect(session.search_query).toBe('text of ubi-a');
    expect(session.search_results).toEqual([
      { object_id: 'b-1', rank: 0 },
      { object_id: 'b-2', rank: 1 },
    ]);
  }
});

test('impressions by position, then time, then event id; each object once, at its first; no position last', () => {
  const impressions = [
    impression('ubi-9', 'p-late', 1, 2_000),
    impression('ubi-5', 'p-b', 1, 1_000),
    impression('ubi-4', 'p-a', 1, 1_000),
    impression('ubi-1', 'p-b', 0, 3_000),
    impression('ubi-2', 'p-x', undefined),
  ];
  for (const order of permutations(impressions)) {
    expect(searchResults(order, ['ignored']).map((r) => [r.object_id, r.rank])).toEqual([
      ['p-b', 0],
      ['p-a', 1],
      ['p-late', 1],
      ['p-x', undefined],
    ]);
  }
});

test('no query document stored yet: no session (its events wait for it)', () => {
  expect(ubiSession('q', [], [impression('ubi-1', 'p-a', 0)])).toBeUndefined();
});
