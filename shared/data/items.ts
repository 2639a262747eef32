/**
 * Mapping between domain objects and stored items. Items hold the wire
 * fields as they are, plus the layout's key attributes.
 */
import { EVENT_FIELDS, SESSION_FIELDS, type Event, type Session } from '../schemas';
import type { CollectingPointer, Release, ReleaseOrigin, StoredSession } from '../domain/model';
import { batchIndexKey, collectingPointerKey, eventKey, releaseKey, sessionKey } from './keys';

type Item = Record<string, unknown>;

const pick = <K extends string>(item: Item, fields: readonly K[]): Record<K, unknown> => {
  const out = {} as Record<K, unknown>;
  for (const field of fields) if (item[field] !== undefined) out[field] = item[field];
  return out;
};

export const sessionItem = (session: Session): Item => ({ ...sessionKey(session.session_id), ...session });

export const eventItem = (event: Event): Item => ({
  ...eventKey(event.session_id, event.created_at, event.event_id),
  ...event,
});

export function toStoredSession(item: Item): StoredSession {
  const session = pick(item, SESSION_FIELDS) as unknown as StoredSession;
  if (typeof item.batch_id === 'string' && typeof item.session_number === 'number') {
    session.assignment = { batchId: item.batch_id, sessionNumber: item.session_number };
  }
  return session;
}

export const toEvent = (item: Item): Event => pick(item, EVENT_FIELDS) as unknown as Event;

/** The attributes that put a session into a batch (and onto the batch index). */
export const assignmentAttributes = (batchId: string, sessionNumber: number, scheduledAt: number): Item => ({
  batch_id: batchId,
  session_number: sessionNumber,
  scheduled_at: scheduledAt,
  ...batchIndexKey(batchId, sessionNumber),
});

export function toPointer(item: Item): CollectingPointer {
  const pointer: CollectingPointer = {
    batchSeq: item.batch_seq as number,
    batchId: item.batch_id as string,
    lastNumber: item.last_number as number,
  };
  if (typeof item.release_id === 'string') {
    pointer.release = {
      releaseId: item.release_id,
      releasedAt: item.released_at as number,
      // Pointers released before origins were recorded were all released by the workflow or announced by hand.
      origin: item.release_origin === 'api' ? 'api' : 'workflow',
    };
  }
  return pointer;
}

export const pointerKey = collectingPointerKey;

/** The release record; `origin` tells the table's stream whether to start the workflow that announces it. */
export const releaseItem = (release: Release, origin: ReleaseOrigin): Item => ({
  ...releaseKey(release.release_id),
  ...release,
  origin,
});

export const toRelease = (item: Item): Release => ({
  release_id: item.release_id as string,
  batch_id: item.batch_id as string,
  released_at: item.released_at as number,
  last_session_number: item.last_session_number as number,
});
