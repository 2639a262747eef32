/**
 * Every key of the single table is built here and nowhere else: the domain
 * never sees PK/SK, so the layout can change without touching it.
 *
 * | item               | PK                 | SK                                  | GSI1PK / GSI1SK           |
 * |--------------------|--------------------|-------------------------------------|---------------------------|
 * | session            | SESSION#<id>       | #SESSION                            | BATCH#<batch_id> / number |
 * | event              | SESSION#<id>       | EVENT#<created_at:12>#<event_id>    | —                         |
 * | collecting pointer | BATCH              | #COLLECTING                         | —                         |
 * | batch record       | BATCH#<batch_id>   | #BATCH                              | —                         |
 * | release record     | RELEASE#<id>       | #RELEASE                            | —                         |
 *
 * `#SESSION` sorts before `EVENT#…`, so one Query with Limit 2 on a session's
 * partition returns the session first and then its oldest event, if any.
 */
import { TABLE } from './table';

const SESSION_SK = '#SESSION';
const EVENT_SK_PREFIX = 'EVENT#';
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

export const isSessionSortKey = (sk: unknown): boolean => sk === SESSION_SK;

export const collectingPointerKey = (): Key => ({ PK: 'BATCH', SK: '#COLLECTING' });

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
