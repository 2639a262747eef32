/** Seeds the in-memory store for domain unit tests. */
import type { Session } from '../../shared/schemas';
import { makeEvent, makeSession } from '../support/fixtures';
import type { MemorySessionStore } from '../support/memory-store';

/** Stores a session with `eventCount` events (one second apart) and returns its id. */
export function seed(store: MemorySessionStore, overrides: Partial<Session> = {}, eventCount = 1): string {
  const session = makeSession(overrides);
  store.putSession(session);
  for (let i = 0; i < eventCount; i++) store.putEvents(makeEvent(session.session_id, { created_at: session.created_at + 10 + i }));
  return session.session_id;
}
