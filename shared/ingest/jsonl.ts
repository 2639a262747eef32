/**
 * Loads sessions with their events from JSON Lines: one session per line, in
 * the session shape of the API plus an optional `events` array. Every line is
 * validated on its own; a bad line is rejected by number with the reason and
 * the rest go on. Writes are idempotent (events are keyed, sessions are
 * upserted without touching their batch assignment), so importing the same
 * file twice changes nothing. What an import may change at all is decided by
 * shared/domain/import-rules.ts: a line for a session in a released batch is
 * skipped, one marking a scheduled session as a payload search is rejected.
 */
import * as v from 'valibot';
import { itemProblem } from '../data/item-limits';
import { eventItem, sessionItem } from '../data/items';
import { Event, Session } from '../data-schemas';
import { describeIssues } from '../schemas';
import { BLANK, decodeJsonLine, splitLines, type TOO_LONG } from './lines';
import { importRun, type ImportOptions, type ImportReport, type ImportWriter, type ValidLine } from './run';

/** Events validated before their writes go out, whatever the number of sessions: bounds memory for busy sessions. */
const CHUNK_EVENTS = 5000;
/** Line bytes validated before their writes go out, whatever the number of sessions: bounds memory for large sessions. */
const CHUNK_BYTES = 8 * 1024 * 1024;

/** Imports a JSONL byte stream (a file, stdin) and reports what was written and what was rejected. */
export async function importSessions(
  source: AsyncIterable<Uint8Array>,
  writer: ImportWriter,
  options: ImportOptions = {},
): Promise<ImportReport> {
  const chunkSessions = options.chunkSessions ?? 500;
  const report: ImportReport = { lines: 0, sessions: 0, events: 0, rejected: [], skippedLines: [] };
  const { reject, write } = importRun(report, writer, options);
  /** The line each session_id first appeared on: a second line for it would race the first one's writes. */
  const seen = new Map<string, number>();
  let chunk: ValidLine[] = [];
  let chunkEvents = 0;
  let chunkBytes = 0;

  const startAfterLine = options.startAfterLine ?? 0;
  /** Writes the chunk; true when the caller asks to stop there. */
  const flush = async (): Promise<boolean> => {
    if (chunk.length === 0) return false;
    const lines = chunk;
    chunk = [];
    chunkEvents = 0;
    chunkBytes = 0;
    await write(lines);
    return options.shouldStop?.() ?? false;
  };

  for await (const bytes of splitLines(source)) {
    const line = ++report.lines;
    // A resumed import: an earlier call imported the lines before. (A session_id repeated across
    // the two calls is then not noticed: its later line is imported, where one call rejects it.)
    if (line <= startAfterLine) continue;
    const parsed = parseLine(bytes);
    if (parsed === BLANK) continue;
    if ('reason' in parsed) {
      reject(line, parsed.reason);
      continue;
    }
    const firstLine = seen.get(parsed.session.session_id);
    if (firstLine !== undefined) {
      reject(line, `session_id "${parsed.session.session_id}" already appeared on line ${firstLine}`);
      continue;
    }
    seen.set(parsed.session.session_id, line);
    chunk.push({ line, ...parsed });
    chunkEvents += parsed.events.length;
    chunkBytes += typeof bytes === 'symbol' ? 0 : bytes.length;
    if ((chunk.length >= chunkSessions || chunkEvents >= CHUNK_EVENTS || chunkBytes >= CHUNK_BYTES) && (await flush())) {
      report.stoppedAfterLine = line;
      return report;
    }
  }
  await flush();
  return report;
}

type ParsedLine = { session: Session; events: Event[] } | { reason: string } | typeof BLANK;

/** Validates one line: UTF-8, JSON, the session and event schemas, and DynamoDB's item limits. */
export function parseLine(bytes: Uint8Array | typeof TOO_LONG): ParsedLine {
  const decoded = decodeJsonLine(bytes);
  if (decoded === BLANK || 'reason' in decoded) return decoded;
  const { value } = decoded;
  if (!value || typeof value !== 'object' || Array.isArray(value)) return { reason: 'must be a JSON object (one session)' };

  const { events: rawEvents = [], ...rawSession } = value as Record<string, unknown>;
  const session = v.safeParse(Session, rawSession);
  if (!session.success) return { reason: describeIssues(session.issues) };
  const sessionId = session.output.session_id;
  if (!Array.isArray(rawEvents)) return { reason: 'events must be an array' };

  const events: Event[] = [];
  const eventIds = new Set<string>();
  for (const [i, raw] of rawEvents.entries()) {
    // An event may leave out its session_id: it belongs to the line's session.
    const withSession = raw && typeof raw === 'object' && !('session_id' in raw) ? { ...raw, session_id: sessionId } : raw;
    const event = v.safeParse(Event, withSession);
    if (!event.success) return { reason: `events[${i}]: ${describeIssues(event.issues)}` };
    if (event.output.session_id !== sessionId) {
      return { reason: `events[${i}]: session_id "${event.output.session_id}" is not the line's session_id "${sessionId}"` };
    }
    if (eventIds.has(event.output.event_id)) return { reason: `events[${i}]: event_id "${event.output.event_id}" appears twice` };
    eventIds.add(event.output.event_id);
    events.push(event.output);
  }

  const problem = storageProblem(session.output, events);
  return problem ? { reason: problem } : { session: session.output, events };
}

/** Why DynamoDB would refuse the session or one of its events, or undefined. */
function storageProblem(session: Session, events: readonly Event[]): string | undefined {
  const sessionProblem = itemProblem(sessionItem(session));
  if (sessionProblem) return `session: ${sessionProblem}`;
  for (const [i, event] of events.entries()) {
    const problem = itemProblem(eventItem(event));
    if (problem) return `events[${i}]: ${problem}`;
  }
  return undefined;
}

