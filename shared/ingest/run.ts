/**
 * What every import format shares once its lines are parsed: the report,
 * rejecting or skipping a line, and writing chunks of valid sessions (events
 * first, then sessions) as the import rules allow.
 */
import { BATCH_WRITE_SIZE, type SessionWriter } from '../data/session-writer';
import { importVerdict, PAYLOAD_SEARCH_RULE } from '../domain/import-rules';
import type { Event, Session } from '../schemas';
import { printable } from './lines';

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
  /** Set when shouldStop ended the import early: every line up to this one is imported, the rest is not read. */
  stoppedAfterLine?: number;
}

export interface ImportOptions {
  /** Write requests in flight at once (default 16). */
  concurrency?: number;
  /** Sessions validated before their writes go out (default 500): bounds memory and in-flight work. */
  chunkSessions?: number;
  /** Called after each chunk is written: every line read so far is then durably written. */
  onProgress?: (progress: ImportProgress) => void;
  /**
   * Lines up to and including this one are read but neither parsed nor
   * written: an earlier call imported them (resuming it). The report's
   * `lines` counts every line read, those included; its other counts only
   * the lines after it (the caller merges the earlier call's).
   */
  startAfterLine?: number;
  /** Checked after each chunk is durably written; true ends the import there, with `stoppedAfterLine` in the report. */
  shouldStop?: () => boolean;
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

/**
 * Rejecting or skipping a line: kept in the report and passed to onReject /
 * onSkip, with control characters escaped.
 */
export function lineOutcomes(report: Pick<ImportReport, 'rejected' | 'skippedLines'>, options: ImportOptions): LineOutcomes {
  return {
    reject(line, reason) {
      const rejected = { line, reason: printable(reason) };
      report.rejected.push(rejected);
      options.onReject?.(rejected);
    },
    skip(line, reason) {
      const skipped = { line, reason: printable(reason) };
      report.skippedLines.push(skipped);
      options.onSkip?.(skipped);
    },
  };
}

/**
 * What the session formats share: the line outcomes, and writing a chunk of
 * valid sessions, in line order, as the import rules allow, then counting
 * them and reporting progress.
 */
export function importRun(report: ImportReport, writer: ImportWriter, options: ImportOptions) {
  const concurrency = options.concurrency ?? 16;
  const { reject, skip } = lineOutcomes(report, options);
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

export interface LineOutcomes {
  reject(line: number, reason: string): void;
  skip(line: number, reason: string): void;
}

/**
 * Checks the chunk against the store (where each session sits, which batches
 * are released), read right before writing, then writes what the rules allow:
 * events first, then sessions, so a session becomes visible only once its
 * events are stored and a schedule request racing the import never sees it
 * without them (and skips it as no_events). Returns the lines written.
 *
 * A schedule can still commit between that read and the writes (a session's
 * item and its assignment are two items, and nothing writes both at once): a
 * line that marked the session a payload search then made a scheduled session
 * one. Pages never serve a payload search, and such a line is read back and
 * reported, not counted.
 */
async function writeChunk(lines: ValidLine[], writer: ImportWriter, concurrency: number, outcomes: LineOutcomes): Promise<ValidLine[]> {
  const ids = (l: ValidLine) => l.session.session_id;
  const state = await writer.readImportState(lines.map(ids));
  const allowed = lines.filter((l) => {
    const verdict = importVerdict(l.session, state.assignments.get(ids(l)), state.pointer);
    if ('skip' in verdict) outcomes.skip(l.line, verdict.skip);
    if ('reject' in verdict) outcomes.reject(l.line, verdict.reject);
    return 'write' in verdict;
  });

  const events = allowed.flatMap((l) => l.events);
  const requests: Event[][] = [];
  for (let i = 0; i < events.length; i += BATCH_WRITE_SIZE) requests.push(events.slice(i, i + BATCH_WRITE_SIZE));
  await forEachConcurrently(requests, concurrency, (request) => writer.putEvents(request));
  await forEachConcurrently(allowed, concurrency, (l) => writer.upsertSession(l.session));

  const marked = allowed.filter((l) => l.session.is_payload_search && !state.assignments.has(ids(l)));
  if (marked.length === 0) return allowed;
  const after = await writer.readImportState(marked.map(ids));
  const late = new Set(
    marked.filter((l) => {
      const assignment = after.assignments.get(ids(l));
      if (!assignment) return false;
      outcomes.reject(
        l.line,
        `session_id "${ids(l)}" was scheduled in batch ${assignment.batchId} while this line was written: ${PAYLOAD_SEARCH_RULE}, so pages of that batch leave it out`,
      );
      return true;
    }),
  );
  return allowed.filter((l) => !late.has(l));
}

/** Runs `work` on every item with at most `limit` at a time. Hand-written: a dozen lines, not worth a dependency. */
export async function forEachConcurrently<T>(items: readonly T[], limit: number, work: (item: T) => Promise<void>) {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await work(items[next++] as T);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

