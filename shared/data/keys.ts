/**
 * Every key of the single table is built here and nowhere else: the domain
 * never sees PK/SK, so the layout can change without touching it.
 *
 * | item               | PK                           | SK                               |
 * |--------------------|------------------------------|----------------------------------|
 * | assignment         | SESSION#<id>                 | #ASSIGNMENT                      |
 * | session            | SESSION#<id>                 | #SESSION                         |
 * | event              | SESSION#<id>                 | EVENT#<created_at:12>#<event_id> |
 * | UBI query source   | SESSION#<id>                 | UBI#QUERY#<document id>          |
 * | UBI impression     | SESSION#<id>                 | UBI#IMPRESSION#<event_id>        |
 * | collecting pointer | BATCH                        | #COLLECTING                      |
 * | shard              | SHARD#<shard:2>              | #SHARD                           |
 * | membership         | MEMBERS#<batch_id>#<shard:2> | <session number:16>              |
 * | batch record       | BATCH#<batch_id>             | #BATCH                           |
 * | release record     | RELEASE#<id>                 | #RELEASE                         |
 *
 * `#ASSIGNMENT` sorts before `#SESSION`, which sorts before `EVENT#…`: one
 * Query of a session's partition returns its assignment, the session and then
 * its oldest events. The UBI import's sources (what it recomputes a session
 * from) sort after every event, so a read bounded below `UBI#` never sees
 * them: pages and schedules read exactly what they read before. Sessions scheduled before sharding carry their assignment
 * on the session item and are listed in GSI1 (GSI1PK `BATCH#<batch_id>`,
 * GSI1SK the number); nothing is written to GSI1 any more.
 */
import { TABLE } from './table';

const SESSION_SK = '#SESSION';
const ASSIGNMENT_SK = '#ASSIGNMENT';
/** Shard numbers and session numbers padded so that string order is number order. */
const SHARD_DIGITS = 2;
const NUMBER_DIGITS = 16;
const EVENT_SK_PREFIX = 'EVENT#';
/** 'U' sorts after 'E' and '#': every UBI source sorts after every event of its session. */
const UBI_SOURCE_SK_PREFIX = 'UBI#';
const UBI_QUERY_SK_PREFIX = `${UBI_SOURCE_SK_PREFIX}QUERY#`;
const UBI_IMPRESSION_SK_PREFIX = `${UBI_SOURCE_SK_PREFIX}IMPRESSION#`;
/** Unix seconds padded to 12 digits sort as strings in time order until the year 33658. */
export const EVENT_TIME_DIGITS = 12;

export type Key = { [TABLE.partitionKey]: string; [TABLE.sortKey]: string };

export const sessionPartition = (sessionId: string): string => `SESSION#${sessionId}`;

export const sessionKey = (sessionId: string): Key => ({
  PK: sessionPartition(sessionId),
  SK: SESSION_SK,
});

export const eventSortKeyPrefix = EVENT_SK_PREFIX;

export const eventKey = (sessionId: string, createdAt: number, eventId: string): Key => ({
  PK: sessionPartition(sessionId),
  SK: `${EVENT_SK_PREFIX}${String(createdAt).padStart(EVENT_TIME_DIGITS, '0')}#${eventId}`,
});

export const sessionSortKey = SESSION_SK;

/**
 * The first sort key past a session's assignment, session item and events: a
 * Query of `SK < readableSortKeyEnd` reads those and none of the UBI sources.
 */
export const readableSortKeyEnd = UBI_SOURCE_SK_PREFIX;

export const ubiSourceSortKeyPrefix = UBI_SOURCE_SK_PREFIX;

/** A UBI query document of the session, by the hash of its content: the same document twice is one item. */
export const ubiQueryKey = (sessionId: string, documentId: string): Key => ({
  PK: sessionPartition(sessionId),
  SK: `${UBI_QUERY_SK_PREFIX}${documentId}`,
});

/** A UBI impression of the session, by its event id (the hash of its content). */
export const ubiImpressionKey = (sessionId: string, eventId: string): Key => ({
  PK: sessionPartition(sessionId),
  SK: `${UBI_IMPRESSION_SK_PREFIX}${eventId}`,
});

export const isUbiQuerySortKey = (sk: unknown): boolean => typeof sk === 'string' && sk.startsWith(UBI_QUERY_SK_PREFIX);

export const isUbiImpressionSortKey = (sk: unknown): boolean => typeof sk === 'string' && sk.startsWith(UBI_IMPRESSION_SK_PREFIX);

export const assignmentKey = (sessionId: string): Key => ({ PK: sessionPartition(sessionId), SK: ASSIGNMENT_SK });

export const isAssignmentSortKey = (sk: unknown): boolean => sk === ASSIGNMENT_SK;

export const isSessionSortKey = (sk: unknown): boolean => sk === SESSION_SK;

export const collectingPointerKey = (): Key => ({ PK: 'BATCH', SK: '#COLLECTING' });

export const shardKey = (shard: number): Key => ({ PK: `SHARD#${String(shard).padStart(SHARD_DIGITS, '0')}`, SK: '#SHARD' });

export const membershipPartition = (batchId: string, shard: number): string =>
  `MEMBERS#${batchId}#${String(shard).padStart(SHARD_DIGITS, '0')}`;

export const memberSortKey = (sessionNumber: number): string => String(sessionNumber).padStart(NUMBER_DIGITS, '0');

export const membershipKey = (batchId: string, shard: number, sessionNumber: number): Key => ({
  PK: membershipPartition(batchId, shard),
  SK: memberSortKey(sessionNumber),
});

/** What a released batch records about its release, to be found by batch id (a release record is found by release id). */
export const batchRecordKey = (batchId: string): Key => ({
  PK: `BATCH#${batchId}`,
  SK: '#BATCH',
});

export const releaseKey = (releaseId: string): Key => ({
  PK: `RELEASE#${releaseId}`,
  SK: '#RELEASE',
});

export const batchIndexKey = (batchId: string, sessionNumber: number) => ({
  [TABLE.gsi1.partitionKey]: batchPartition(batchId),
  [TABLE.gsi1.sortKey]: sessionNumber,
});

export const batchPartition = (batchId: string): string => `BATCH#${batchId}`;

/** Attributes that exist only for the layout and never leave the data layer. */
export const LAYOUT_ATTRIBUTES: readonly string[] = [
  TABLE.partitionKey,
  TABLE.sortKey,
  TABLE.gsi1.partitionKey,
  TABLE.gsi1.sortKey,
];
