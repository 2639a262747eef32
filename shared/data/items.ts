/**
 * Mapping between domain objects and stored items. Items hold the wire
 * fields as they are (but for the few keys escaped below), plus the layout's
 * key attributes.
 */
import { EVENT_FIELDS, SESSION_FIELDS, type Event, type Session } from '../schemas';
import type { BatchSummary, CollectingPointer, Release, ReleaseOrigin, StoredSession } from '../domain/model';
import { batchIndexKey, batchRecordKey, eventKey, releaseKey, sessionKey } from './keys';

type Item = Record<string, unknown>;

/**
 * Keys stored with one more "~" in front: the DocumentClient cannot marshal an
 * object with its own "constructor" key (it goes by `constructor.name`), and
 * neither it nor dynalite keeps a "__proto__" key. Keys already made of "~"s
 * and one of those get one more as well, so every key comes back as written.
 */
const ESCAPED_KEY = /^~*(?:__proto__|constructor)$/;

/** Past DynamoDB's 32 levels a value cannot be stored anyway (item-limits.ts says so): no deeper walk, so no stack overflow. */
const MAX_ESCAPE_DEPTH = 33;

/** A wire value as stored: every nested key that needs it escaped (new objects; the input is untouched). */
function storedValue(value: unknown, depth = 0): unknown {
  if (value === null || typeof value !== 'object' || depth > MAX_ESCAPE_DEPTH) return value;
  if (Array.isArray(value)) return value.map((v) => storedValue(v, depth + 1));
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [ESCAPED_KEY.test(k) ? `~${k}` : k, storedValue(v, depth + 1)]));
}

/** A stored value as on the wire. It reworks the SDK's fresh objects in place, and copies only an object with an escaped key. */
function wireValue(value: unknown): unknown {
  if (value === null || typeof value !== 'object') return value;
  const record = value as Item;
  let escaped = false;
  for (const key in record) {
    record[key] = wireValue(record[key]);
    escaped ||= key.charCodeAt(0) === 0x7e /* ~ */ && ESCAPED_KEY.test(key);
  }
  // fromEntries defines own properties, so a "__proto__" key stays a key.
  return escaped ? Object.fromEntries(Object.entries(record).map(([k, v]) => [ESCAPED_KEY.test(k) ? k.slice(1) : k, v])) : value;
}

const pick = <K extends string>(item: Item, fields: readonly K[]): Record<K, unknown> => {
  const out = {} as Record<K, unknown>;
  for (const field of fields) if (item[field] !== undefined) out[field] = wireValue(item[field]);
  return out;
};

/** The session's wire fields as stored (undefined for the optional ones it does not have). */
export const storedSessionFields = (session: Session): Item =>
  Object.fromEntries(SESSION_FIELDS.map((field) => [field, storedValue(session[field])]));

export const sessionItem = (session: Session): Item => ({ ...sessionKey(session.session_id), ...stripUndefined(storedSessionFields(session)) });

export const eventItem = (event: Event): Item => ({
  ...eventKey(event.session_id, event.created_at, event.event_id),
  ...stripUndefined(Object.fromEntries(EVENT_FIELDS.map((field) => [field, storedValue(event[field])]))),
});

const stripUndefined = (item: Item): Item => Object.fromEntries(Object.entries(item).filter(([, v]) => v !== undefined));

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

/** The collecting pointer's attributes, named once for reading it here and writing it in the store. */
export const POINTER = {
  batchSeq: 'batch_seq',
  batchId: 'batch_id',
  lastNumber: 'last_number',
  releaseId: 'release_id',
  releasedAt: 'released_at',
  releaseOrigin: 'release_origin',
} as const;

export function toPointer(item: Item): CollectingPointer {
  const pointer: CollectingPointer = {
    batchSeq: item[POINTER.batchSeq] as number,
    batchId: item[POINTER.batchId] as string,
    lastNumber: item[POINTER.lastNumber] as number,
  };
  const releaseId = item[POINTER.releaseId];
  if (typeof releaseId === 'string') {
    pointer.release = {
      releaseId,
      releasedAt: item[POINTER.releasedAt] as number,
      // Pointers released before origins were recorded were all released by the workflow or announced by hand.
      origin: item[POINTER.releaseOrigin] === 'api' ? 'api' : 'workflow',
    };
  }
  return pointer;
}

/** The release record; `origin` tells the table's stream whether to start the workflow that announces it. */
export const releaseItem = (release: Release, origin: ReleaseOrigin): Item => ({
  ...releaseKey(release.release_id),
  ...release,
  origin,
});

/** The batch record: which release fenced the batch, found by batch id. */
export const batchRecordItem = (release: Release): Item => ({
  ...batchRecordKey(release.batch_id),
  batch_id: release.batch_id,
  release_id: release.release_id,
  released_at: release.released_at,
});

export const toBatchRecord = (item: Item): Required<Pick<BatchSummary, 'batch_id' | 'release_id' | 'released_at'>> => ({
  batch_id: item.batch_id as string,
  release_id: item.release_id as string,
  released_at: item.released_at as number,
});

export const toRelease = (item: Item): Release => ({
  release_id: item.release_id as string,
  batch_id: item.batch_id as string,
  released_at: item.released_at as number,
  last_session_number: item.last_session_number as number,
});
