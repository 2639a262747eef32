/**
 * Mapping between domain objects and stored items. Items hold the wire
 * fields as they are (but for the few keys escaped below), plus the layout's
 * key attributes.
 */
import { EVENT_FIELDS, SESSION_FIELDS, type Event, type Session } from '../schemas';
import type { Assignment, BatchSummary, CollectingPointer, Release, ReleaseOrigin, ShardState, StoredSession } from '../domain/model';
import type { BatchEntry, Membership } from '../domain/store';
import type { UbiImpressionSource, UbiQuerySource } from '../domain/ubi-session';
import { assignmentKey, batchIndexKey, batchRecordKey, eventKey, membershipKey, releaseKey, sessionKey, ubiImpressionKey, ubiQueryKey } from './keys';
import { TABLE } from './table';

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

/**
 * A UBI session item also counts the sources it was computed from. Sources
 * are only ever added, so of two recomputes the one that read more sources
 * read a superset: the session is written only over a count no larger than
 * its own, and two imports racing on one session cannot leave the older view.
 */
export const UBI_SOURCE_COUNT = 'ubi_sources';

/** A UBI query document as stored in its session's partition: only what the session is computed from. */
export const ubiQueryItem = (sessionId: string, q: UbiQuerySource): Item => ({
  ...ubiQueryKey(sessionId, q.documentId),
  ...stripUndefined({
    document_id: q.documentId,
    timestamp_ms: q.timestampMs,
    search_query: q.searchQuery,
    user_id: q.userId,
    search_meta: storedValue(q.searchMeta),
    hit_ids: q.hitIds,
  }),
});

export const toUbiQuerySource = (item: Item): UbiQuerySource => ({
  documentId: item.document_id as string,
  timestampMs: item.timestamp_ms as number,
  searchQuery: item.search_query as string,
  ...(item.user_id !== undefined && { userId: item.user_id as string }),
  ...(item.search_meta !== undefined && { searchMeta: wireValue(item.search_meta) as Record<string, unknown> }),
  ...(item.hit_ids !== undefined && { hitIds: item.hit_ids as string[] }),
});

/** A UBI impression as stored in its session's partition. */
export const ubiImpressionItem = (sessionId: string, i: UbiImpressionSource): Item => ({
  ...ubiImpressionKey(sessionId, i.eventId),
  ...stripUndefined({
    event_id: i.eventId,
    timestamp_ms: i.timestampMs,
    object_id: i.objectId,
    ordinal: i.ordinal,
    meta: storedValue(i.meta),
  }),
});

export const toUbiImpressionSource = (item: Item): UbiImpressionSource => ({
  eventId: item.event_id as string,
  timestampMs: item.timestamp_ms as number,
  objectId: item.object_id as string,
  ...(item.ordinal !== undefined && { ordinal: item.ordinal as number }),
  ...(item.meta !== undefined && { meta: wireValue(item.meta) as Record<string, unknown> }),
});

const stripUndefined = (item: Item): Item => Object.fromEntries(Object.entries(item).filter(([, v]) => v !== undefined));

/**
 * A session item as the domain sees it, with its assignment: its own
 * assignment item, or, for a session scheduled before sharding, the
 * assignment attributes on the session item itself.
 */
export function toStoredSession(item: Item, assignment?: Item): StoredSession {
  const session = pick(item, SESSION_FIELDS) as unknown as StoredSession;
  const held = toAssignment(assignment ?? item);
  if (held) session.assignment = held;
  return session;
}

/** The batch and number an assignment item (or a counter-layout session item) holds. */
export function toAssignment(item: Item | undefined): Assignment | undefined {
  if (typeof item?.batch_id !== 'string' || typeof item.session_number !== 'number') return undefined;
  return { batchId: item.batch_id, sessionNumber: item.session_number };
}

/** The session's one assignment: the commit point of scheduling. */
export const assignmentItem = (sessionId: string, assignment: Assignment, scheduledAt: number): Item => ({
  ...assignmentKey(sessionId),
  session_id: sessionId,
  batch_id: assignment.batchId,
  session_number: assignment.sessionNumber,
  scheduled_at: scheduledAt,
});

/** A session listed in its batch's shard under its number. */
export const membershipItem = (m: Membership): Item => ({
  ...membershipKey(m.assignment.batchId, m.shard, m.assignment.sessionNumber),
  session_id: m.sessionId,
  session_number: m.assignment.sessionNumber,
  scheduled_at: m.scheduledAt,
});

export const toBatchEntry = (item: Item, batchId: string): BatchEntry => ({
  sessionId: item.session_id as string,
  assignment: { batchId, sessionNumber: (item.session_number ?? item[TABLE.gsi1.sortKey]) as number },
});

/** A shard's attributes, named once for reading and writing it. */
export const SHARD = { batchSeq: 'batch_seq', openedAt: 'opened_at', numberFloor: 'number_floor', releaseId: 'release_id' } as const;

export const toShard = (shard: number, item: Item): ShardState => ({
  shard,
  batchSeq: item[SHARD.batchSeq] as number,
  openedAt: item[SHARD.openedAt] as number,
  numberFloor: (item[SHARD.numberFloor] as number | undefined) ?? 0,
  fenced: typeof item[SHARD.releaseId] === 'string',
});

export const toEvent = (item: Item): Event => pick(item, EVENT_FIELDS) as unknown as Event;

/** The attributes the counter layout (before sharding) put on a session item to schedule it, and onto the batch index. */
export const legacyAssignmentAttributes = (batchId: string, sessionNumber: number, scheduledAt: number): Item => ({
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
  openedAt: 'opened_at',
  shards: 'shards',
  numberFloor: 'number_floor',
  releaseId: 'release_id',
  releasedAt: 'released_at',
  releaseOrigin: 'release_origin',
} as const;

export function toPointer(item: Item): CollectingPointer {
  const pointer: CollectingPointer = {
    batchSeq: item[POINTER.batchSeq] as number,
    batchId: item[POINTER.batchId] as string,
  };
  const optional = { openedAt: POINTER.openedAt, shards: POINTER.shards, numberFloor: POINTER.numberFloor, lastNumber: POINTER.lastNumber } as const;
  for (const [field, attribute] of Object.entries(optional) as [keyof typeof optional, string][]) {
    if (typeof item[attribute] === 'number') pointer[field] = item[attribute] as number;
  }
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
  ...(typeof item.last_session_number === 'number' && { last_session_number: item.last_session_number }),
});
