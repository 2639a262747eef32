/**
 * Imports OpenSearch User Behavior Insights (UBI) data: `ubi_queries` and
 * `ubi_events` documents as NDJSON, one document per line or in the bulk-API
 * form OpenSearch exports (an action line before each document). Each query
 * becomes a session, its impressions become the session's search results,
 * and every other event that names an object becomes one of its events.
 *
 * Documents are told apart by shape (an event has `action_name`), so the two
 * indexes may come in one file in any order. Events can come before their
 * query, so the whole input is read before anything is written: memory grows
 * with the file (about 0.9 KiB of heap per document; `npm run bench` measures it).
 *
 * The schema: https://github.com/opensearch-project/user-behavior-insights;
 * the mapping, field by field: README.md, "Importing UBI data".
 */
import { createHash } from 'node:crypto';
import stableStringify from 'safe-stable-stringify';
import * as v from 'valibot';
import { itemProblem } from '../data/item-limits';
import { eventItem, sessionItem } from '../data/items';
import { Event, JsonObject, NotArray, Session } from '../data-schemas';
import { Id, describeIssues } from '../schemas';
import { BLANK, decodeJsonLine, splitLines } from './lines';
import { importRun, type ImportOptions, type ImportWriter, type RejectedLine, type ValidLine } from './run';

type SearchResult = Session['search_results'][number];

/** The action that marks an impression: the result list the user saw, not something they did. */
const IMPRESSION = 'impression';

export interface UbiSkipped {
  /** Events without a query_id: they cannot be tied to a session. */
  noQueryId: number;
  /** Events whose query_id names no query in the input. */
  unknownQuery: number;
  /** Events of a known query that name no object (searches, filters, sorts…), by action_name. */
  noObject: Record<string, number>;
  /** Events identical to one read before (same content, so the same event_id). */
  repeated: number;
}

export interface UbiImportReport {
  /** Lines read, action lines and blank ones included. */
  lines: number;
  /** Query documents read; those repeating a query_id are merged into one session. */
  queries: number;
  sessions: number;
  /** Impressions that became search results. */
  impressions: number;
  events: number;
  skipped: UbiSkipped;
  rejected: RejectedLine[];
  /** Queries whose session is in a released batch, which an import never changes. */
  skippedLines: RejectedLine[];
  /** As ImportReport's: set when shouldStop ended the import. */
  stoppedAfterLine?: number;
}

/** OpenSearch `date` fields default to ISO-8601 or epoch milliseconds. */
const TIMESTAMP_RULE = 'must be an ISO-8601 date or epoch milliseconds';
const UbiTimestamp = v.pipe(
  v.union([v.string(), v.number()], TIMESTAMP_RULE),
  v.rawTransform(({ dataset, addIssue, NEVER }) => {
    const seconds = toUnixSeconds(dataset.value);
    if (seconds === undefined) addIssue({ message: TIMESTAMP_RULE });
    return seconds ?? NEVER;
  }),
);

const Text = v.optional(v.nullable(v.string('must be a string')));
const Attributes = v.optional(v.nullable(JsonObject));

/** A UBI query document: the fields the mapping reads; others are allowed and ignored. */
const UbiQuery = v.looseObject({
  query_id: Id,
  user_query: v.string('must be a string'),
  timestamp: UbiTimestamp,
  client_id: Text,
  application: Text,
  query_attributes: Attributes,
  query_response_hit_ids: v.optional(v.nullable(v.array(v.string('must be a string'), 'must be an array'))),
});

/** A UBI event document. The object and position are optional: many events (searches, filters) have neither. */
const UbiEvent = v.looseObject({
  action_name: v.pipe(v.string('must be a string'), v.minLength(1, 'must not be empty')),
  query_id: Text,
  timestamp: UbiTimestamp,
  message_type: Text,
  message: Text,
  event_attributes: v.optional(
    v.nullable(
      v.pipe(
        NotArray,
        v.looseObject(
          {
            object: v.optional(v.nullable(v.pipe(NotArray, v.looseObject({ object_id: v.optional(v.nullable(v.union([v.string(), v.number()]))) })))),
            position: v.optional(v.nullable(v.pipe(NotArray, v.looseObject({ ordinal: v.optional(v.nullable(v.number())) })))),
          },
          'must be an object',
        ),
      ),
    ),
  ),
});
type UbiEvent = v.InferOutput<typeof UbiEvent>;

interface UbiEventLine {
  line: number;
  event: UbiEvent;
  queryId: string;
  /** From the document as read, whose content is the event's identity. */
  eventId: string;
}

type UbiQuery = v.InferOutput<typeof UbiQuery>;

/** What the documents of one query_id say, merged. */
interface QueryRecord {
  /** The line of its first document, to report a problem with the session. */
  line: number;
  /** The earliest document: it gives the session's fields. */
  earliest: UbiQuery;
  /** The earliest document's non-empty `query_response_hit_ids`: the results when there are no impressions. */
  hits: { timestamp: number; ids: string[] } | undefined;
}

interface Impression {
  objectId: string;
  ordinal: number | undefined;
  meta: Record<string, unknown> | undefined;
  /** Read order, to break ties between equal positions. */
  seq: number;
}

/** Reads UBI NDJSON, maps it to sessions and events, and writes them (events first, as the JSONL import). */
export async function importUbi(
  source: AsyncIterable<Uint8Array>,
  writer: ImportWriter,
  options: ImportOptions = {},
): Promise<UbiImportReport> {
  const report: UbiImportReport = {
    lines: 0,
    queries: 0,
    sessions: 0,
    impressions: 0,
    events: 0,
    // No prototype: an action_name such as "constructor" or "__proto__" is just a name to count.
    skipped: { noQueryId: 0, unknownQuery: 0, noObject: Object.create(null) as Record<string, number>, repeated: 0 },
    rejected: [],
    skippedLines: [],
  };
  const { reject, write } = importRun(report, writer, options);

  const queries = new Map<string, QueryRecord>();
  const events: UbiEventLine[] = [];
  for await (const bytes of splitLines(source)) {
    const line = ++report.lines;
    const decoded = decodeJsonLine(bytes);
    if (decoded === BLANK) continue;
    if ('reason' in decoded) {
      reject(line, decoded.reason);
      continue;
    }
    const document = decoded.value;
    if (isBulkAction(document)) continue;
    if (!document || typeof document !== 'object' || Array.isArray(document)) {
      reject(line, 'must be a JSON object (a UBI query or event, or a bulk action line)');
      continue;
    }
    if ('action_name' in document) {
      const event = v.safeParse(UbiEvent, document);
      if (!event.success) reject(line, `event: ${describeIssues(event.issues)}`);
      else if (!event.output.query_id) report.skipped.noQueryId++;
      else {
        // The document's own event_attributes, which metaOf copies: valibot's parsed copy drops keys
        // named "__proto__", "constructor" or "prototype", ordinary keys in JSON data.
        const attributes = (document as { event_attributes?: UbiEvent['event_attributes'] }).event_attributes;
        events.push({ line, event: { ...event.output, event_attributes: attributes }, queryId: event.output.query_id, eventId: eventIdOf(document) });
      }
    } else if ('query_id' in document) {
      const query = v.safeParse(UbiQuery, document);
      if (!query.success) reject(line, `query: ${describeIssues(query.issues)}`);
      else {
        report.queries++;
        mergeQuery(queries, line, query.output);
      }
    } else {
      reject(line, 'neither a UBI query (no query_id) nor a UBI event (no action_name)');
    }
  }

  // In the order of each query's first line, so a write error names a range of lines.
  const sessions = toSessions(queries, events, report, reject);
  const chunkSessions = options.chunkSessions ?? 500;
  for (let i = 0; i < sessions.length; i += chunkSessions) await write(sessions.slice(i, i + chunkSessions));
  return report;
}

/** `{"index": {...}}` or `{"create": {...}}`: the bulk API's line before each document. */
function isBulkAction(value: unknown): boolean {
  if (!value || typeof value !== 'object' || Array.isArray(value)) return false;
  const keys = Object.keys(value);
  return keys.length === 1 && (keys[0] === 'index' || keys[0] === 'create');
}

/**
 * A query_id seen again (clients re-send it as the user refines or pages) is
 * one session: the earliest document gives the query text, time, client and
 * application, the earliest that lists hits the fallback results (ties: the
 * one read first), whatever order the documents come in.
 */
function mergeQuery(queries: Map<string, QueryRecord>, line: number, query: UbiQuery): void {
  const hitIds = query.query_response_hit_ids ?? [];
  const hits = hitIds.length > 0 ? { timestamp: query.timestamp, ids: hitIds } : undefined;
  const known = queries.get(query.query_id);
  if (!known) {
    queries.set(query.query_id, { line, earliest: query, hits });
    return;
  }
  if (query.timestamp < known.earliest.timestamp) known.earliest = query;
  if (hits && (!known.hits || hits.timestamp < known.hits.timestamp)) known.hits = hits;
}

/** The session a query's earliest document describes, before its results are known. */
function sessionOf(query: UbiQuery): Session {
  const searchMeta: Record<string, unknown> = {};
  if (query.application) searchMeta.application = query.application;
  if (query.query_attributes && Object.keys(query.query_attributes).length > 0) searchMeta.query_attributes = query.query_attributes;
  return {
    session_id: query.query_id,
    search_query: query.user_query,
    created_at: query.timestamp,
    search_results: [],
    ...(Object.keys(searchMeta).length > 0 ? { search_meta: searchMeta } : {}),
    ...(query.client_id ? { user_id: query.client_id } : {}),
    is_irrelevant: false,
    is_payload_search: false,
  };
}

/** Joins events to their queries: impressions become search results, events with an object become events. */
function toSessions(
  queries: Map<string, QueryRecord>,
  events: UbiEventLine[],
  report: UbiImportReport,
  reject: (line: number, reason: string) => void,
): ValidLine[] {
  const impressions = new Map<string, Impression[]>();
  const eventsOf = new Map<string, Map<string, Event>>();
  for (const [seq, { line, event, queryId, eventId }] of events.entries()) {
    if (!queries.has(queryId)) {
      report.skipped.unknownQuery++;
      continue;
    }
    const { object, position } = event.event_attributes ?? {};
    const objectId = object?.object_id == null || object.object_id === '' ? undefined : String(object.object_id);
    if (objectId === undefined) {
      report.skipped.noObject[event.action_name] = (report.skipped.noObject[event.action_name] ?? 0) + 1;
      continue;
    }
    if (event.action_name === IMPRESSION) {
      const ordinal = position?.ordinal ?? undefined;
      const list = impressions.get(queryId) ?? [];
      list.push({ objectId, ordinal, meta: metaOf(event, { keepOrdinal: false }), seq });
      impressions.set(queryId, list);
      report.impressions++;
      continue;
    }
    const mapped = {
      event_id: eventId,
      session_id: queryId,
      object_id: objectId,
      event_type: event.action_name,
      created_at: event.timestamp,
      ...withMeta(metaOf(event, { keepOrdinal: true })),
    };
    const parsed = v.safeParse(Event, mapped);
    const problem = parsed.success ? itemProblem(eventItem(parsed.output)) : describeIssues(parsed.issues);
    if (!parsed.success || problem) {
      reject(line, `event: ${problem}`);
      continue;
    }
    const byId = eventsOf.get(queryId) ?? new Map<string, Event>();
    if (byId.has(parsed.output.event_id)) report.skipped.repeated++;
    else byId.set(parsed.output.event_id, parsed.output);
    eventsOf.set(queryId, byId);
  }

  const sessions: ValidLine[] = [];
  for (const [queryId, query] of queries) {
    const session = v.safeParse(Session, {
      ...sessionOf(query.earliest),
      search_results: searchResults(impressions.get(queryId), query.hits?.ids ?? []),
    });
    if (!session.success) {
      reject(query.line, `query: ${describeIssues(session.issues)}`);
      continue;
    }
    const problem = itemProblem(sessionItem(session.output));
    if (problem) {
      reject(query.line, `query: ${problem}`);
      continue;
    }
    sessions.push({ line: query.line, session: session.output, events: [...(eventsOf.get(queryId)?.values() ?? [])] });
  }
  return sessions;
}

/**
 * Impressions in the order they were shown (position, then read order), each
 * object once; without impressions, the hits the query returned, in order.
 */
function searchResults(impressions: Impression[] = [], hitIds: string[]): SearchResult[] {
  if (impressions.length === 0) return hitIds.map((objectId, rank) => ({ object_id: objectId, rank }));
  const ordered = impressions.toSorted((a, b) => (a.ordinal ?? Infinity) - (b.ordinal ?? Infinity) || a.seq - b.seq);
  const seen = new Set<string>();
  const results: SearchResult[] = [];
  for (const impression of ordered) {
    if (seen.has(impression.objectId)) continue;
    seen.add(impression.objectId);
    results.push({
      object_id: impression.objectId,
      ...(impression.ordinal === undefined ? {} : { rank: impression.ordinal }),
      ...withMeta(impression.meta),
    });
  }
  return results;
}

/**
 * Everything in `event_attributes` but the object id (and, for an impression,
 * the ordinal, which becomes the rank), plus `message_type` and `message`.
 */
function metaOf(event: UbiEvent, { keepOrdinal }: { keepOrdinal: boolean }): Record<string, unknown> | undefined {
  const { object, position, ...attributes } = event.event_attributes ?? {};
  const { object_id: _objectId, ...objectRest } = object ?? {};
  const { ordinal, ...positionRest } = position ?? {};
  const keptPosition = keepOrdinal && ordinal != null ? { ordinal, ...positionRest } : positionRest;
  const meta: Record<string, unknown> = { ...attributes };
  if (Object.keys(objectRest).length > 0) meta.object = objectRest;
  if (Object.keys(keptPosition).length > 0) meta.position = keptPosition;
  if (event.message_type != null) meta.message_type = event.message_type;
  if (event.message != null) meta.message = event.message;
  return Object.keys(meta).length > 0 ? meta : undefined;
}

const withMeta = (meta: Record<string, unknown> | undefined) => (meta ? { meta } : {});

/**
 * UBI events carry no id of their own, so the id is a hash of the event's
 * content (keys sorted): the same event imported again, from either form or
 * another export of the index, gets the same id, and the write is a no-op.
 */
function eventIdOf(document: object): string {
  return `ubi-${createHash('sha256').update(stableStringify(document)!).digest('hex').slice(0, 32)}`;
}

const ISO_8601 = /^(\d{4}-\d{2}-\d{2})(?:[T ](\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?)(Z|[+-]\d{2}:?\d{2})?)?$/i;

/** ISO-8601 (UTC when it names no zone, as OpenSearch reads it) or epoch milliseconds, to unix seconds; undefined if neither. */
function toUnixSeconds(timestamp: string | number): number | undefined {
  let ms: number;
  if (typeof timestamp === 'number' || /^\d+$/.test(timestamp)) ms = Number(timestamp);
  else {
    const match = ISO_8601.exec(timestamp);
    if (!match) return undefined;
    const [, date, time = '00:00', zone = 'Z'] = match;
    // Date.parse would read a zone-less date-time as local time, and wants "+00:00" rather than "+0000".
    ms = Date.parse(`${date}T${time}${zone.replace(/^([+-]\d{2})(\d{2})$/, '$1:$2')}`);
  }
  return Number.isFinite(ms) && ms >= 0 ? Math.floor(ms / 1000) : undefined;
}

/** The skipped events in one sentence, e.g. "1042 events skipped: 944 name a query not in the input, …". */
export function describeSkipped({ noQueryId, unknownQuery, noObject, repeated }: UbiSkipped): string {
  const noObjectTotal = Object.values(noObject).reduce((sum, n) => sum + n, 0);
  const total = noQueryId + unknownQuery + noObjectTotal + repeated;
  if (total === 0) return 'no events skipped';
  const byAction = Object.entries(noObject)
    .sort(([a, m], [b, n]) => n - m || a.localeCompare(b))
    .map(([action, n]) => `${action} ${n}`)
    .join(', ');
  const parts = [
    unknownQuery && `${unknownQuery} name a query not in the input`,
    noQueryId && `${noQueryId} have no query_id`,
    noObjectTotal && `${noObjectTotal} name no object (${byAction})`,
    repeated && `${repeated} repeat an earlier event`,
  ].filter(Boolean);
  return `${total} event${total === 1 ? '' : 's'} skipped: ${parts.join(', ')}`;
}
