import { ServiceUnavailable, SessionNotFound } from './errors';
import type { Assignment } from './model';
import { finishRelease } from './release-batch';
import type { SessionStore } from './store';

export type ScheduleOutcome =
  | { session_id: string; status: 'skipped'; reason: 'payload_search' | 'no_events' }
  | { session_id: string; status: 'scheduled' | 'already_scheduled'; batch_id: string; session_number: number };

export interface ScheduleOptions {
  /** Epoch ms after which the session must not be assigned any more (the release fence's settle window). */
  deadline?: number;
  now?: () => number;
}

/** How often to go round when other requests keep opening or releasing batches under us. */
const MAX_ROUNDS = 8;

/**
 * Puts an eligible session into the collecting batch, exactly once.
 *
 * Round trips on the first scheduling: read the session (1), take a number
 * from the collecting pointer (2), assign it conditionally (3). A number
 * burnt by a crash or a lost race is just a gap in the batch.
 */
export async function scheduleSession(
  store: SessionStore,
  sessionId: string,
  options: ScheduleOptions = {},
): Promise<ScheduleOutcome> {
  const now = options.now ?? Date.now;
  const found = await store.findSession(sessionId);
  if (!found) throw new SessionNotFound(sessionId);
  const { session, hasEvents } = found;

  if (session.assignment) return alreadyScheduled(sessionId, session.assignment);
  if (session.is_payload_search) return { session_id: sessionId, status: 'skipped', reason: 'payload_search' };
  // Irrelevant sessions are negative examples: eligible without events.
  if (!hasEvents && !session.is_irrelevant) return { session_id: sessionId, status: 'skipped', reason: 'no_events' };

  const ticket = await takeNumberInCollectingBatch(store);

  // The release workflow waits this request's timeout before announcing a batch;
  // past the deadline a late write could land in a batch already announced.
  if (options.deadline !== undefined && now() > options.deadline) {
    throw new ServiceUnavailable('The request ran out of time before the session could be scheduled.');
  }

  const assignment = await store.assignSession(sessionId, ticket, Math.floor(now() / 1000));
  if (assignment.batchId === ticket.batchId && assignment.sessionNumber === ticket.sessionNumber) {
    return { session_id: sessionId, status: 'scheduled', batch_id: ticket.batchId, session_number: ticket.sessionNumber };
  }
  return alreadyScheduled(sessionId, assignment);
}

async function takeNumberInCollectingBatch(store: SessionStore): Promise<Assignment> {
  for (let round = 0; round < MAX_ROUNDS; round++) {
    const grant = await store.takeNumber();
    if ('granted' in grant) return grant.granted;
    // The pointer moved on between the store's write and its read: take a number again.
    if ('moved' in grant) continue;
    // The collecting batch is released: roll its release forward (its record may
    // not be written yet if the releaser crashed), then open the next batch.
    await finishRelease(store, grant.released);
    const opened = await store.openNextBatch(grant.released);
    if (opened) return opened;
  }
  throw new ServiceUnavailable('Too many concurrent releases; try again.');
}

const alreadyScheduled = (sessionId: string, assignment: Assignment): ScheduleOutcome => ({
  session_id: sessionId,
  status: 'already_scheduled',
  batch_id: assignment.batchId,
  session_number: assignment.sessionNumber,
});
