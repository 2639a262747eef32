/**
 * A UBI session from the documents stored for it, whatever order they came
 * in. The UBI import stores each query document and each impression of a
 * query_id as its own item, then recomputes the session from all of them, so
 * a session reads the same whether its documents came in one file or many,
 * in any order, some twice. Every choice between documents is therefore made
 * by their content, never by the order they were read in.
 */
import type { Session } from '../schemas';

type SearchResult = Session['search_results'][number];

/** A query document as stored: what it says about its session, and what orders it among the session's documents. */
export interface UbiQuerySource {
  /** The hash of the document's content: the last tie-break, and its item's key. */
  documentId: string;
  timestampMs: number;
  searchQuery: string;
  userId?: string;
  searchMeta?: Record<string, unknown>;
  /** `query_response_hit_ids` when non-empty: the results when the session has no impressions. */
  hitIds?: string[];
}

/** An impression as stored: one object shown at one position. */
export interface UbiImpressionSource {
  /** The hash of the event's content: the last tie-break, and its item's key. */
  eventId: string;
  timestampMs: number;
  objectId: string;
  ordinal?: number;
  meta?: Record<string, unknown>;
}

/** Earliest first; documents of the same millisecond by id, so the pick does not depend on read order. */
const byTimeThenId = (a: { timestampMs: number; id: string }, b: { timestampMs: number; id: string }): number =>
  a.timestampMs - b.timestampMs || compareIds(a.id, b.id);

/** Code-unit order, not localeCompare: the same on every machine. */
const compareIds = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

const earliest = (queries: readonly UbiQuerySource[]): UbiQuerySource | undefined =>
  queries.map((q) => ({ q, id: q.documentId, timestampMs: q.timestampMs })).sort(byTimeThenId)[0]?.q;

/**
 * The session of a query_id, or undefined while no query document of it is
 * stored (its events wait for it). The earliest document gives the query
 * text, time, client and application; the earliest that lists hits gives the
 * fallback results; impressions, when there are any, give the results.
 */
export function ubiSession(sessionId: string, queries: readonly UbiQuerySource[], impressions: readonly UbiImpressionSource[]): Session | undefined {
  const first = earliest(queries);
  if (!first) return undefined;
  const hits = earliest(queries.filter((q) => q.hitIds && q.hitIds.length > 0))?.hitIds ?? [];
  return {
    session_id: sessionId,
    search_query: first.searchQuery,
    created_at: Math.floor(first.timestampMs / 1000),
    search_results: searchResults(impressions, hits),
    ...(first.searchMeta ? { search_meta: first.searchMeta } : {}),
    ...(first.userId ? { user_id: first.userId } : {}),
    is_irrelevant: false,
    is_payload_search: false,
  };
}

/**
 * Impressions in the order they were shown (position, then time, then event
 * id), each object once, at its first position; impressions without a
 * position last. Without impressions, the hits the query returned, in order.
 */
export function searchResults(impressions: readonly UbiImpressionSource[], hitIds: readonly string[]): SearchResult[] {
  if (impressions.length === 0) return hitIds.map((objectId, rank) => ({ object_id: objectId, rank }));
  const ordered = impressions.toSorted(
    (a, b) =>
      (a.ordinal ?? Infinity) - (b.ordinal ?? Infinity) ||
      byTimeThenId({ timestampMs: a.timestampMs, id: a.eventId }, { timestampMs: b.timestampMs, id: b.eventId }),
  );
  const seen = new Set<string>();
  const results: SearchResult[] = [];
  for (const impression of ordered) {
    if (seen.has(impression.objectId)) continue;
    seen.add(impression.objectId);
    results.push({
      object_id: impression.objectId,
      ...(impression.ordinal === undefined ? {} : { rank: impression.ordinal }),
      ...(impression.meta ? { meta: impression.meta } : {}),
    });
  }
  return results;
}
