/** Sessions and events for domain unit tests, with ids unique per run. */
import { randomUUID } from 'node:crypto';
import type { Event, Session } from '../../shared/schemas';
import type { MemorySessionStore } from '../support/memory-store';

export const freshId = (prefix = 's') => `${prefix}-${randomUUID()}`;

export const aSession = (overrides: Partial<Session> = {}): Session => ({
  session_id: freshId(),
  search_query: 'red shoes',
  created_at: 1_700_000_000,
  search_results: [{ object_id: 'p1', rank: 1 }],
  is_irrelevant: false,
  is_payload_search: false,
  ...overrides,
});

export const anEvent = (sessionId: string, overrides: Partial<Event> = {}): Event => ({
  event_id: freshId('e'),
  session_id: sessionId,
  object_id: 'p1',
  event_type: 'click',
  created_at: 1_700_000_010,
  ...overrides,
});

/** Stores a session with `eventCount` events (one second apart) and returns its id. */
export function seed(store: MemorySessionStore, overrides: Partial<Session> = {}, eventCount = 1): string {
  const session = aSession(overrides);
  store.putSession(session);
  for (let i = 0; i < eventCount; i++) store.putEvents(anEvent(session.session_id, { created_at: session.created_at + 10 + i }));
  return session.session_id;
}
