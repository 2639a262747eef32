/** Sessions and events for tests, with ids unique per test run. */
import type { Event, Session } from '../../shared/schemas';

let counter = 0;
/** Ids unique per test run, so tests never see each other's data. */
export const uniqueId = (prefix = 's') => `${prefix}-${Date.now().toString(36)}-${(counter++).toString(36)}`;

export function makeSession(overrides: Partial<Session> = {}): Session {
  return {
    session_id: uniqueId(),
    search_query: 'red shoes',
    created_at: 1_700_000_000,
    search_results: [{ object_id: 'p1', rank: 1 }],
    is_irrelevant: false,
    is_payload_search: false,
    ...overrides,
  };
}

export function makeEvent(sessionId: string, overrides: Partial<Event> = {}): Event {
  return {
    event_id: uniqueId('e'),
    session_id: sessionId,
    object_id: 'p1',
    event_type: 'click',
    created_at: 1_700_000_010,
    ...overrides,
  };
}
