/**
 * Synthetic sessions and events for the benchmark, shaped like the sample
 * data (a shopping query, ten results, clicks and views with a position), so
 * item sizes and page sizes are realistic: a session item is ~0.7 KB, an
 * event item ~0.2 KB.
 */
import type { Event, Session } from '../../shared/schemas';

const EVENT_TYPES = ['impression', 'click', 'add_to_cart', 'purchase'] as const;
const BASE_TIME = 1_733_788_800; // 2024-12-10, the sample data's day

export const benchSessionId = (prefix: string, n: number) => `${prefix}-${String(n).padStart(6, '0')}`;

export function benchSession(sessionId: string, n: number): Session {
  return {
    session_id: sessionId,
    search_query: `portable charger ${n % 97}`,
    created_at: BASE_TIME + n,
    search_results: Array.from({ length: 10 }, (_, rank) => ({
      object_id: `B0${String((n * 31 + rank) % 1_000_000).padStart(8, '0')}`,
      rank: rank + 1,
    })),
    search_meta: { application: 'esci_ubi_sample', page: 1 },
    user_id: `client-${n % 1000}`,
    is_irrelevant: false,
    is_payload_search: false,
  };
}

export function benchEvents(session: Session, count: number): Event[] {
  return Array.from({ length: count }, (_, i) => ({
    event_id: `${session.session_id}-e${String(i).padStart(3, '0')}`,
    session_id: session.session_id,
    object_id: session.search_results[i % session.search_results.length]!.object_id,
    event_type: EVENT_TYPES[i % EVENT_TYPES.length]!,
    meta: { position: (i % 10) + 1, message_type: 'INFO' },
    created_at: session.created_at + i + 1,
  }));
}
