/**
 * Imports OpenSearch User Behavior Insights (UBI) data: `ubi_queries` and
 * `ubi_events` documents as NDJSON, one document per line or in the bulk-API
 * form OpenSearch exports (an action line before each document). Each query
 * becomes a session, its impressions become the session's search results,
 * and every other event that names an object becomes one of its events.
 *
 * The documents of one search may come in many inputs (Firehose cuts objects
 * by time), in any order, some twice. So the import stores what a session is
 * computed from (each query document and each impression, keyed by a hash of
 * its content) next to the session's events, and after each chunk recomputes
 * every session the chunk touched from everything stored for it
 * (shared/domain/ubi-session.ts): the table ends the same whatever the order.
 * Events whose query is not stored yet are kept and wait for it. The input is
 * read in chunks, so memory is bounded by a chunk, not by the input.
 *
 * The schema: https://github.com/opensearch-project/user-behavior-insights;
 * the mapping, field by field: README.md, "Importing UBI data".
 */
import { createHash } from 'node:crypto';
import stableStringify from 'safe-stable-stringify';
import * as v from 'valibot';
import { itemProblem } from '../data/item-limits';
import { eventItem, sessionItem, UBI_SOURCE_COUNT, ubiImpressionItem, ubiQueryItem } from '../data/items';
import { BATCH_WRITE_SIZE, type SessionWriter, type UbiSource } from '../data/session-writer';
import { releasedReason } from '../domain/import-rules';
import { ubiSession, type UbiImpressionSource, type UbiQuerySource } from '../domain/ubi-session';
import { Event, JsonObject, NotArray, Session } from '../data-schemas';
import { Id, describeIssues } from '../schemas';
import { BLANK, decodeJsonLine, splitLines } from './lines';
import { forEachConcurrently, ImportWriteError, lineOutcomes, type ImportOptions, type LineOutcomes, type RejectedLine } from './run';

/** The action that marks an impression: the result list the user saw, not something they did. */
const IMPRESSION = 'impression';

/** Documents read before a chunk is written, whatever its number of queries: bounds memory for event-heavy input. */
const CHUNK_DOCUMENTS = 5000;

/** What the UBI import writes with: the JSONL import's state read and events, plus the UBI sources and their sessions. */
export type UbiImportWriter = Pick<SessionWriter, 'readImportState' | 'putEvents' | 'putUbiSources' | 'readUbiSources' | 'upsertUbiSession'>;

/** Events that are not part of a session after the import, by reason. */
export interface UbiSkipped {
  /** Events without a query_id: they cannot be tied to a session. */
  noQueryId: number;
  /**
   * Events (impressions too) of a query_id with no query document stored when
   * their chunk was written. They are stored, and join their session once its
   * query is imported, from this input or another.
   */
  waitingForQuery: number;
  /** Events that name no object (searches, filters, sorts…), by action_name. */
  noObject: Record<string, number>;
  /** Events identical to one read before in the same chunk (same content, so the same event_id). */
  repeated: number;
}

export interface UbiImportReport {
  /** Lines read, action lines and blank ones included (those up to startAfterLine too). */
  lines: number;
  /** Query documents read; those repeating a query_id are merged into one session. */
  queries: number;
  /** Sessions written for the query documents of each chunk (a query_id whose documents span chunks counts in each). */
  sessions: number;
  /** Impressions that became search results of a stored session. */
  impressions: number;
  /** Events written to a stored session. */
  events: number;
  skipped: UbiSkipped;
  rejected: RejectedLine[];
  /** Lines of sessions in a released batch, which an import never changes. */
  skippedLines: RejectedLine[];
  /** Set when shouldStop ended the import early: every line up to this one is imported, the rest is not read. */
  stoppedAfterLine?: number;
}

/** OpenSearch `date` fields default to ISO-8601 or epoch milliseconds. */
const TIMESTAMP_RULE = 'must be an ISO-8601 date or epoch milliseconds';
/** To epoch milliseconds: orders a query's documents within a second too. */
const UbiTimestamp = v.pipe(
  v.union([v.string(), v.number()], TIMESTAMP_RULE),
  v.rawTransform(({ dataset, addIssue, NEVER }) => {
    const ms = toEpochMs(dataset.value);
    if (ms === undefined) addIssue({ message: TIMESTAMP_RULE });
    return ms ?? NEVER;
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

/** What one chunk holds of a session: its documents by id (a repeat within the chunk is one), each with its line. */
interface ChunkSession {
  queries: Map<string, { line: number; source: UbiQuerySource }>;
  impressions: Map<string, { line: number; source: UbiImpressionSource }>;
  events: Map<string, { line: number; event: Event }>;
}

interface Chunk {
  firstLine: number;
  documents: number;
  queries: number;
  sessions: Map<string, ChunkSession>;
}

/** Reads UBI NDJSON chunk by chunk, stores each chunk's documents, and recomputes the sessions it touched. */
export async function importUbi(
  source: AsyncIterable<Uint8Array>,
  writer: UbiImportWriter,
  options: ImportOptions = {},
): Promise<UbiImportReport> {
  const report: UbiImportReport = {
    lines: 0,
    queries: 0,
    sessions: 0,
    impressions: 0,
    events: 0,
    // No prototype: an action_name such as "constructor" or "__proto__" is just a name to count.
    skipped: { noQueryId: 0, waitingForQuery: 0, noObject: Object.create(null) as Record<string, number>, repeated: 0 },
    rejected: [],
    skippedLines: [],
  };
  const outcomes = lineOutcomes(report, options);
  const chunkQueries = options.chunkSessions ?? 500;
  const startAfter = options.startAfterLine ?? 0;
  let line = 0;
  const newChunk = (): Chunk => ({ firstLine: line + 1, documents: 0, queries: 0, sessions: new Map() });
  let chunk = newChunk();

  const flush = async () => {
    const full = chunk;
    chunk = newChunk();
    if (full.sessions.size > 0) {
      try {
        await writeChunk(full, writer, report, options.concurrency ?? 16, outcomes);
      } catch (error) {
        throw new ImportWriteError(full.firstLine, line, error);
      }
    }
    const { lines, sessions, events, rejected } = report;
    options.onProgress?.({ lines, sessions, events, rejected: rejected.length });
  };

  for await (const bytes of splitLines(source)) {
    report.lines = ++line;
    if (line <= startAfter) continue;
    if (readLine(line, bytes, chunk, report, outcomes.reject) && (chunk.queries >= chunkQueries || chunk.documents >= CHUNK_DOCUMENTS)) {
      await flush();
      if (options.shouldStop?.()) {
        report.stoppedAfterLine = line;
        return report;
      }
    }
  }
  if (chunk.documents > 0) await flush();
  return report;
}

/** Parses one line into the chunk; true when it added a document. */
function readLine(line: number, bytes: Parameters<typeof decodeJsonLine>[0], chunk: Chunk, report: UbiImportReport, reject: (line: number, reason: string) => void): boolean {
  const decoded = decodeJsonLine(bytes);
  if (decoded === BLANK) return false;
  if ('reason' in decoded) {
    reject(line, decoded.reason);
    return false;
  }
  const document = decoded.value;
  if (isBulkAction(document)) return false;
  if (!document || typeof document !== 'object' || Array.isArray(document)) {
    reject(line, 'must be a JSON object (a UBI query or event, or a bulk action line)');
    return false;
  }
  const parsed = 'action_name' in document ? readEvent(document, report) : 'query_id' in document ? readQuery(document, report) : undefined;
  if (parsed === undefined) {
    reject(line, 'neither a UBI query (no query_id) nor a UBI event (no action_name)');
    return false;
  }
  if ('reason' in parsed) {
    reject(line, parsed.reason);
    return false;
  }
  if ('counted' in parsed) return false;
  chunk.documents++;
  const session = chunk.sessions.get(parsed.sessionId) ?? { queries: new Map(), impressions: new Map(), events: new Map() };
  chunk.sessions.set(parsed.sessionId, session);
  if ('query' in parsed) {
    chunk.queries++;
    session.queries.set(parsed.query.documentId, { line, source: parsed.query });
  } else if ('impression' in parsed) {
    if (session.impressions.has(parsed.impression.eventId)) report.skipped.repeated++;
    else session.impressions.set(parsed.impression.eventId, { line, source: parsed.impression });
  } else if (session.events.has(parsed.event.event_id)) report.skipped.repeated++;
  else session.events.set(parsed.event.event_id, { line, event: parsed.event });
  return true;
}

type ReadDocument = UbiSource | { sessionId: string; event: Event } | { reason: string } | { counted: true };

/** A query document as a source of its session, checked as the session it alone would make. */
function readQuery(document: object, report: UbiImportReport): ReadDocument {
  const parsed = v.safeParse(UbiQuery, document);
  if (!parsed.success) return { reason: `query: ${describeIssues(parsed.issues)}` };
  report.queries++;
  const query = parsed.output;
  const searchMeta: Record<string, unknown> = {};
  if (query.application) searchMeta.application = query.application;
  if (query.query_attributes && Object.keys(query.query_attributes).length > 0) searchMeta.query_attributes = query.query_attributes;
  const hitIds = query.query_response_hit_ids ?? [];
  const source: UbiQuerySource = {
    documentId: contentIdOf(document),
    timestampMs: query.timestamp,
    searchQuery: query.user_query,
    ...(query.client_id ? { userId: query.client_id } : {}),
    ...(Object.keys(searchMeta).length > 0 ? { searchMeta } : {}),
    ...(hitIds.length > 0 ? { hitIds } : {}),
  };
  const alone = v.safeParse(Session, ubiSession(query.query_id, [source], []));
  const problem = alone.success
    ? itemProblem(ubiQueryItem(query.query_id, source)) ?? itemProblem(sessionItem(alone.output))
    : describeIssues(alone.issues);
  return problem ? { reason: `query: ${problem}` } : { sessionId: query.query_id, query: source };
}

/** An event as an impression or an event of its query's session; events that cannot be one are counted. */
function readEvent(document: object, report: UbiImportReport): ReadDocument {
  const parsed = v.safeParse(UbiEvent, document);
  if (!parsed.success) return { reason: `event: ${describeIssues(parsed.issues)}` };
  // The document's own event_attributes, which metaOf copies: valibot's parsed copy drops keys
  // named "__proto__", "constructor" or "prototype", ordinary keys in JSON data.
  const attributes = (document as { event_attributes?: UbiEvent['event_attributes'] }).event_attributes;
  const event = { ...parsed.output, event_attributes: attributes };
  const queryId = event.query_id;
  if (!queryId) {
    report.skipped.noQueryId++;
    return { counted: true };
  }
  const { object, position } = event.event_attributes ?? {};
  const objectId = object?.object_id == null || object.object_id === '' ? undefined : String(object.object_id);
  if (objectId === undefined) {
    report.skipped.noObject[event.action_name] = (report.skipped.noObject[event.action_name] ?? 0) + 1;
    return { counted: true };
  }
  // Its session may not exist yet, but its items are keyed by this id: it must be a valid one.
  const id = v.safeParse(Id, queryId);
  if (!id.success) return { reason: `event: query_id ${describeIssues(id.issues)}` };
  const eventId = contentIdOf(document);
  if (event.action_name === IMPRESSION) {
    const impression: UbiImpressionSource = {
      eventId,
      timestampMs: event.timestamp,
      objectId,
      ...(position?.ordinal == null ? {} : { ordinal: position.ordinal }),
      ...withMeta(metaOf(event, { keepOrdinal: false })),
    };
    const problem = itemProblem(ubiImpressionItem(queryId, impression));
    return problem ? { reason: `event: ${problem}` } : { sessionId: queryId, impression };
  }
  const mapped = v.safeParse(Event, {
    event_id: eventId,
    session_id: queryId,
    object_id: objectId,
    event_type: event.action_name,
    created_at: Math.floor(event.timestamp / 1000),
    ...withMeta(metaOf(event, { keepOrdinal: true })),
  });
  const problem = mapped.success ? itemProblem(eventItem(mapped.output)) : describeIssues(mapped.issues);
  return problem || !mapped.success ? { reason: `event: ${problem}` } : { sessionId: queryId, event: mapped.output };
}

const linesOf = (s: ChunkSession): number[] =>
  [...s.queries.values(), ...s.impressions.values(), ...s.events.values()].map((d) => d.line).sort((a, b) => a - b);

/**
 * Writes one chunk as the import rules allow: a session in a released batch
 * is left alone (all its lines in the chunk skipped). For the others, the
 * sources are stored first, then each session is recomputed from everything
 * stored for it (one Query of its partition's UBI range) and checked; then
 * the events of the sessions that passed (or wait for their query) are
 * written, and last the sessions themselves, so a session becomes visible
 * only once its events are stored, as in the JSONL import.
 */
async function writeChunk(chunk: Chunk, writer: UbiImportWriter, report: UbiImportReport, concurrency: number, outcomes: LineOutcomes): Promise<void> {
  const state = await writer.readImportState([...chunk.sessions.keys()]);
  const allowed: Array<[string, ChunkSession]> = [];
  for (const [sessionId, s] of chunk.sessions) {
    const released = releasedReason(state.assignments.get(sessionId), state.pointer);
    if (released) for (const line of linesOf(s)) outcomes.skip(line, released);
    else allowed.push([sessionId, s]);
  }

  const sources: UbiSource[] = allowed.flatMap(([sessionId, s]) => [
    ...[...s.queries.values()].map(({ source: query }) => ({ sessionId, query })),
    ...[...s.impressions.values()].map(({ source: impression }) => ({ sessionId, impression })),
  ]);
  await forEachConcurrently(batches(sources), concurrency, (batch) => writer.putUbiSources(batch));

  const recomputed: Array<{ session: Session; sourceCount: number; s: ChunkSession }> = [];
  const writable: ChunkSession[] = [];
  await forEachConcurrently(allowed, concurrency, async ([sessionId, s]) => {
    const stored = await writer.readUbiSources(sessionId);
    const sourceCount = stored.queries.length + stored.impressions.length;
    const computed = ubiSession(sessionId, stored.queries, stored.impressions);
    if (!computed) {
      report.skipped.waitingForQuery += s.events.size + s.impressions.size;
      writable.push(s);
      return;
    }
    const session = v.safeParse(Session, computed);
    const problem = session.success ? itemProblem({ ...sessionItem(session.output), [UBI_SOURCE_COUNT]: sourceCount }) : describeIssues(session.issues);
    if (!session.success || problem) {
      for (const line of linesOf(s)) outcomes.reject(line, `session "${sessionId}" with this line's documents: ${problem}`);
      return;
    }
    recomputed.push({ session: session.output, sourceCount, s });
    writable.push(s);
  });

  const events = writable.flatMap((s) => [...s.events.values()].map((e) => e.event));
  await forEachConcurrently(batches(events), concurrency, (batch) => writer.putEvents(batch));
  await forEachConcurrently(recomputed, concurrency, async ({ session, sourceCount, s }) => {
    // False when an import racing this one read more sources: its session is the newer one.
    await writer.upsertUbiSession(session, sourceCount);
    if (s.queries.size > 0) report.sessions++;
    report.events += s.events.size;
    report.impressions += s.impressions.size;
  });
}

/** BatchWriteItem's 25 items a request. */
function batches<T>(items: readonly T[]): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += BATCH_WRITE_SIZE) out.push(items.slice(i, i + BATCH_WRITE_SIZE));
  return out;
}

/** `{"index": {...}}` or `{"create": {...}}`: the bulk API's line before each document. */
function isBulkAction(value: unknown): boolean {
  if (!value || typeof value !== 'object' || Array.isArray(value)) return false;
  const keys = Object.keys(value);
  return keys.length === 1 && (keys[0] === 'index' || keys[0] === 'create');
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
 * UBI documents carry no id of their own, so the id is a hash of the
 * document's content (keys sorted): the same document imported again, from
 * either form or another export of the index, gets the same id, and its
 * write is a no-op. It is also the last tie-break between documents.
 */
function contentIdOf(document: object): string {
  return `ubi-${createHash('sha256').update(stableStringify(document)!).digest('hex').slice(0, 32)}`;
}

const ISO_8601 = /^(\d{4}-\d{2}-\d{2})(?:[T ](\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?)(Z|[+-]\d{2}:?\d{2})?)?$/i;

/** ISO-8601 (UTC when it names no zone, as OpenSearch reads it) or epoch milliseconds, to epoch milliseconds; undefined if neither. */
function toEpochMs(timestamp: string | number): number | undefined {
  let ms: number;
  if (typeof timestamp === 'number' || /^\d+$/.test(timestamp)) ms = Number(timestamp);
  else {
    const match = ISO_8601.exec(timestamp);
    if (!match) return undefined;
    const [, date, time = '00:00', zone = 'Z'] = match;
    // Date.parse would read a zone-less date-time as local time, and wants "+00:00" rather than "+0000".
    ms = Date.parse(`${date}T${time}${zone.replace(/^([+-]\d{2})(\d{2})$/, '$1:$2')}`);
  }
  // Whole milliseconds: a fraction of one would be a number DynamoDB stores but this import does not need.
  return Number.isFinite(ms) && ms >= 0 ? Math.floor(ms) : undefined;
}

/**
 * The events that are not part of a session, in one sentence, e.g. "944
 * events wait for their query (kept until it is imported); 98 events
 * skipped: 2 have no query_id, 96 name no object (search 96)".
 */
export function describeSkipped({ noQueryId, waitingForQuery, noObject, repeated }: UbiSkipped): string {
  const noObjectTotal = Object.values(noObject).reduce((sum, n) => sum + n, 0);
  const total = noQueryId + noObjectTotal + repeated;
  const byAction = Object.entries(noObject)
    .sort(([a, m], [b, n]) => n - m || a.localeCompare(b))
    .map(([action, n]) => `${action} ${n}`)
    .join(', ');
  const parts = [
    noQueryId && `${noQueryId} have no query_id`,
    noObjectTotal && `${noObjectTotal} name no object (${byAction})`,
    repeated && `${repeated} repeat an earlier event`,
  ].filter(Boolean);
  const skipped = total === 0 ? 'no events skipped' : `${total} event${total === 1 ? '' : 's'} skipped: ${parts.join(', ')}`;
  if (waitingForQuery === 0) return skipped;
  const waiting = `${waitingForQuery} event${waitingForQuery === 1 ? ' waits for its' : 's wait for their'} query (kept until it is imported)`;
  return `${waiting}; ${skipped}`;
}
