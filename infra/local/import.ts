/**
 * Loads sessions with their events from JSON Lines: one session per line, in
 * DESIGN.md's session shape plus an optional `events` array. Every line is
 * validated on its own; a bad line is rejected by number with the reason and
 * the rest go on. Writes are idempotent (events are keyed, sessions are
 * upserted without touching their batch assignment), so importing the same
 * file twice changes nothing.
 */
import * as v from 'valibot';
import { itemProblem } from '../../shared/data/item-limits';
import { eventItem, sessionItem } from '../../shared/data/items';
import { BATCH_WRITE_SIZE, type SessionWriter } from '../../shared/data/session-writer';
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
}

export type ImportWriter = Pick<SessionWriter, 'putEvents' | 'upsertSession'>;

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
  const report: ImportReport = { lines: 0, sessions: 0, events: 0, rejected: [] };
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
 * What every import format shares: rejecting a line (kept in the report and
 * passed to onReject), and writing a chunk of valid sessions, in line order,
 * then counting them and reporting progress.
 */
export function importRun(report: ImportReport, writer: ImportWriter, options: ImportOptions) {
  const concurrency = options.concurrency ?? 16;
  return {
    reject(line: number, reason: string): void {
      const rejected = { line, reason };
      report.rejected.push(rejected);
      options.onReject?.(rejected);
    },
    async write(lines: ValidLine[]): Promise<void> {
      try {
        await writeChunk(lines, writer, concurrency);
      } catch (error) {
        throw new ImportWriteError(lines[0]!.line, lines.at(-1)!.line, error);
      }
      report.sessions += lines.length;
      report.events += lines.reduce((sum, l) => sum + l.events.length, 0);
      const { lines: read, sessions, events, rejected } = report;
      options.onProgress?.({ lines: read, sessions, events, rejected: rejected.length });
    },
  };
}

/**
 * Events first, then sessions: a session becomes visible only once its events
 * are stored, so a schedule request racing the import never sees it without
 * them (and skips it as no_events).
 */
async function writeChunk(lines: ValidLine[], writer: ImportWriter, concurrency: number): Promise<void> {
  const events = lines.flatMap((l) => l.events);
  const requests: Event[][] = [];
  for (let i = 0; i < events.length; i += BATCH_WRITE_SIZE) requests.push(events.slice(i, i + BATCH_WRITE_SIZE));
  await forEachConcurrently(requests, concurrency, (request) => writer.putEvents(request));
  await forEachConcurrently(lines, concurrency, (l) => writer.upsertSession(l.session));
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

/** Decodes one line as a JSON value: strict UTF-8, then JSON; blank lines are BLANK. */
export function decodeJsonLine(bytes: Uint8Array | typeof TOO_LONG): { value: unknown } | { reason: string } | typeof BLANK {
  if (bytes === TOO_LONG) return { reason: `line is longer than ${MAX_LINE_BYTES} bytes` };
  let text: string;
  try {
    // fatal: a byte sequence that is not UTF-8 rejects the line instead of becoming U+FFFD.
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    return { reason: 'not valid UTF-8' };
  }
  if (text.trim() === '') return BLANK;
  try {
    return { value: JSON.parse(text) };
  } catch (error) {
    return { reason: `not valid JSON (${(error as Error).message})` };
  }
}

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
