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
import { itemProblem } from '../../shared/data/item-limits';
import { eventItem, sessionItem } from '../../shared/data/items';
import { BATCH_WRITE_SIZE, type SessionWriter } from '../../shared/data/session-writer';
import { importVerdict, PAYLOAD_SEARCH_RULE } from '../../shared/domain/import-rules';
import { parseJsonText } from '../../shared/json-text';
import { Event, Session, describeIssues } from '../../shared/schemas';

/** Events validated before their writes go out, whatever the number of sessions: bounds memory for busy sessions. */
const CHUNK_EVENTS = 5000;

/** Longest line read; past it a line is rejected without being held in memory. */
export const MAX_LINE_BYTES = 32 * 1024 * 1024;

export interface RejectedLine {
  line: number;
  reason: string;
}

export interface ImportProgress {
  /** Lines read so far, blank ones included. */
  lines: number;
  sessions: number;
  events: number;
  rejected: number;
}

export interface ImportReport extends Omit<ImportProgress, 'rejected'> {
  rejected: RejectedLine[];
  /** Lines left out on purpose, not errors: their session is in a released batch, which never changes. */
  skippedLines: RejectedLine[];
}

export interface ImportOptions {
  /** Write requests in flight at once (default 16). */
  concurrency?: number;
  /** Sessions validated before their writes go out (default 500): bounds memory and in-flight work. */
  chunkSessions?: number;
  /** Called after each chunk is written. */
  onProgress?: (progress: ImportProgress) => void;
  /** Called for each rejected line, as soon as it is found. */
  onReject?: (rejected: RejectedLine) => void;
  /** Called for each skipped line (a session of a released batch), as soon as it is found. */
  onSkip?: (skipped: RejectedLine) => void;
}

export type ImportWriter = Pick<SessionWriter, 'putEvents' | 'upsertSession' | 'readImportState'>;

/** A write that failed after the SDK's retries: the import stops there (importing again is safe). */
export class ImportWriteError extends Error {
  override name = 'ImportWriteError';
  constructor(
    readonly firstLine: number,
    readonly lastLine: number,
    cause: unknown,
  ) {
    super(`Writing lines ${firstLine}-${lastLine} failed: ${(cause as Error)?.message ?? String(cause)}`, { cause });
  }
}

export interface ValidLine {
  line: number;
  session: Session;
  events: Event[];
}

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

  const flush = async () => {
    if (chunk.length === 0) return;
    const lines = chunk;
    chunk = [];
    chunkEvents = 0;
    await write(lines);
  };

  for await (const bytes of splitLines(source)) {
    const line = ++report.lines;
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
    if (chunk.length >= chunkSessions || chunkEvents >= CHUNK_EVENTS) await flush();
  }
  await flush();
  return report;
}

/**
 * What every import format shares: rejecting or skipping a line (kept in the
 * report and passed to onReject / onSkip, with control characters escaped),
 * and writing a chunk of valid sessions, in line order, as the import rules
 * allow, then counting them and reporting progress.
 */
export function importRun(report: ImportReport, writer: ImportWriter, options: ImportOptions) {
  const concurrency = options.concurrency ?? 16;
  const reject = (line: number, reason: string): void => {
    const rejected = { line, reason: printable(reason) };
    report.rejected.push(rejected);
    options.onReject?.(rejected);
  };
  const skip = (line: number, reason: string): void => {
    const skipped = { line, reason: printable(reason) };
    report.skippedLines.push(skipped);
    options.onSkip?.(skipped);
  };
  return {
    reject,
    async write(lines: ValidLine[]): Promise<void> {
      let written: ValidLine[];
      try {
        written = await writeChunk(lines, writer, concurrency, { reject, skip });
      } catch (error) {
        throw new ImportWriteError(lines[0]!.line, lines.at(-1)!.line, error);
      }
      report.sessions += written.length;
      report.events += written.reduce((sum, l) => sum + l.events.length, 0);
      const { lines: read, sessions, events, rejected } = report;
      options.onProgress?.({ lines: read, sessions, events, rejected: rejected.length });
    },
  };
}

interface LineOutcomes {
  reject(line: number, reason: string): void;
  skip(line: number, reason: string): void;
}

/**
 * Checks the chunk against the store (where each session sits, which batches
 * are released), read right before writing, then writes what the rules allow:
 * events first, then sessions, so a session becomes visible only once its
 * events are stored and a schedule request racing the import never sees it
 * without them (and skips it as no_events). A session read as unscheduled is
 * written only while it still is (a conditional write); one scheduled in
 * between is checked again. Returns the lines written.
 */
async function writeChunk(lines: ValidLine[], writer: ImportWriter, concurrency: number, outcomes: LineOutcomes): Promise<ValidLine[]> {
  const state = await writer.readImportState(lines.map((l) => l.session.session_id));
  const allowed = lines.filter((l) => {
    const verdict = importVerdict(l.session, state.assignments.get(l.session.session_id), state.pointer);
    if ('skip' in verdict) outcomes.skip(l.line, verdict.skip);
    if ('reject' in verdict) outcomes.reject(l.line, verdict.reject);
    return 'write' in verdict;
  });

  const events = allowed.flatMap((l) => l.events);
  const requests: Event[][] = [];
  for (let i = 0; i < events.length; i += BATCH_WRITE_SIZE) requests.push(events.slice(i, i + BATCH_WRITE_SIZE));
  await forEachConcurrently(requests, concurrency, (request) => writer.putEvents(request));

  const written: ValidLine[] = [];
  await forEachConcurrently(allowed, concurrency, async (l) => {
    const id = l.session.session_id;
    const scheduled = state.assignments.has(id);
    if (await writer.upsertSession(l.session, { ifUnscheduled: !scheduled })) return void written.push(l);
    // Scheduled since the read: its assignment is final now, so one more check decides.
    const now = await writer.readImportState([id]);
    const assignment = now.assignments.get(id)!;
    const verdict = importVerdict(l.session, assignment, now.pointer);
    if ('write' in verdict) {
      await writer.upsertSession(l.session);
      written.push(l);
      return;
    }
    const why = 'skip' in verdict ? 'that batch is released, so its fields were not changed' : PAYLOAD_SEARCH_RULE;
    const events = l.events.length > 0 ? ` (its ${l.events.length} events were written)` : '';
    outcomes.reject(l.line, `session_id "${id}" was scheduled in batch ${assignment.batchId} while this line was written: ${why}${events}`);
  });
  return lines.filter((l) => written.includes(l));
}

/** Runs `work` on every item with at most `limit` at a time. Hand-written: a dozen lines, not worth a dependency. */
async function forEachConcurrently<T>(items: readonly T[], limit: number, work: (item: T) => Promise<void>) {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await work(items[next++] as T);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

export const BLANK = Symbol('blank line');
const TOO_LONG = Symbol('line too long');

type ParsedLine = { session: Session; events: Event[] } | { reason: string } | typeof BLANK;

/** What a UTF-16 file looks like to a UTF-8 reader: NUL bytes (ASCII text), or a UTF-16 byte-order mark. */
const UTF16_HINT = 'is the file UTF-16? The import reads UTF-8';

/**
 * Decodes one line as a JSON value: strict UTF-8, then JSON by the rules HTTP
 * bodies follow too (a leading byte-order mark ignored, a key twice refused);
 * blank lines are BLANK.
 */
export function decodeJsonLine(bytes: Uint8Array | typeof TOO_LONG): { value: unknown } | { reason: string } | typeof BLANK {
  if (bytes === TOO_LONG) return { reason: `line is longer than ${MAX_LINE_BYTES} bytes` };
  let text: string;
  try {
    // fatal: a byte sequence that is not UTF-8 rejects the line instead of becoming U+FFFD.
    text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes);
  } catch {
    const utf16 = (bytes[0] === 0xff && bytes[1] === 0xfe) || (bytes[0] === 0xfe && bytes[1] === 0xff);
    return { reason: utf16 ? `not valid UTF-8 (${UTF16_HINT})` : 'not valid UTF-8' };
  }
  if (text.trim() === '') return BLANK;
  const json = parseJsonText(text);
  if ('repeatedKey' in json) return { reason: `the key ${JSON.stringify(json.repeatedKey)} appears twice in one object` };
  if ('syntaxError' in json) {
    // JSON never holds a raw NUL, not even in a string.
    return { reason: text.includes('\u0000') ? `not valid JSON: it holds NUL bytes (${UTF16_HINT})` : `not valid JSON (${json.syntaxError})` };
  }
  return json;
}

/**
 * Text safe to print on a terminal: control characters (C0, DEL, C1) and the
 * invisible bidirectional controls that reorder a line are written as \uXXXX.
 */
export const printable = (text: string): string =>
  text.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);

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

/**
 * Splits a byte stream at "\n" (a trailing "\r" is dropped), keeping bytes as
 * bytes so that each line's UTF-8 is checked on its own. Hand-written:
 * readline decodes first and would hide invalid UTF-8.
 */
export async function* splitLines(source: AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array | typeof TOO_LONG> {
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  let tooLong = false;
  const take = (tail: Buffer) => {
    const long = tooLong || pendingBytes + tail.length > MAX_LINE_BYTES;
    const line = long ? TOO_LONG : stripCarriageReturn(Buffer.concat([...pending, tail]));
    pending = [];
    pendingBytes = 0;
    tooLong = false;
    return line;
  };
  for await (const piece of source) {
    const chunk = Buffer.from(piece.buffer, piece.byteOffset, piece.byteLength);
    let start = 0;
    for (let newline = chunk.indexOf(0x0a); newline !== -1; newline = chunk.indexOf(0x0a, start)) {
      yield take(chunk.subarray(start, newline));
      start = newline + 1;
    }
    if (start < chunk.length && !tooLong) {
      pending.push(chunk.subarray(start));
      pendingBytes += chunk.length - start;
      if (pendingBytes > MAX_LINE_BYTES) {
        tooLong = true;
        pending = [];
      }
    }
  }
  if (pending.length > 0 || tooLong) yield take(Buffer.alloc(0));
}

const stripCarriageReturn = (line: Buffer): Buffer => (line.at(-1) === 0x0d ? line.subarray(0, -1) : line);
