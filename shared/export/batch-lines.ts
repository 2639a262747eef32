/**
 * A released batch as its export lines: one session per line, exactly as a
 * page serves it (the same domain call, getBatchPage), ascending by number,
 * with its oldest MAX_EVENTS_PER_SESSION events, walked in slices.
 *
 * The next slice is read while the current one is written, so the store is
 * never idle; a slice is sized from the last one to hold about
 * SLICE_TARGET_BYTES, which bounds memory whatever the sessions weigh (two
 * slices are held at most, plus one session read to its last event).
 */
import type { BatchSession } from '../domain/model';
import { getBatchPage } from '../domain/get-batch-page';
import type { PagingStore } from '../domain/store';
import { BatchNotReleased } from './errors';
import { MAX_EVENTS_PER_SESSION } from './layout';

/** Sessions a slice asks for at most: the store reads them in parallel. */
export const MAX_SLICE_SESSIONS = 200;
/** What a slice aims to weigh, as page JSON. */
export const SLICE_TARGET_BYTES = 8 * 1024 * 1024;
/** The first slice, before anything is known of the sessions' size. */
const FIRST_SLICE_SESSIONS = 20;

export interface ExportLine {
  sessionNumber: number;
  events: number;
  /** The session's JSON and a newline. */
  text: string;
  bytes: number;
}

interface Slice {
  sessions: BatchSession[];
  lastNumber: number | null;
  /** Page JSON characters per session: what sizes the next slice. */
  charsPerSession: number;
}

export class BatchLines {
  private pending: Promise<Slice>;
  private buffered: BatchSession[] = [];
  private nextIndex = 0;
  private ended = false;

  constructor(
    private readonly store: PagingStore,
    private readonly batchId: string,
    afterNumber: number,
  ) {
    this.pending = this.readSlice(afterNumber, FIRST_SLICE_SESSIONS);
  }

  /** The next line, or undefined once the batch has no session left. */
  async next(): Promise<ExportLine | undefined> {
    if (this.nextIndex === this.buffered.length && !this.ended) await this.take();
    const session = this.buffered[this.nextIndex++];
    return session && toLine(session);
  }

  private async take(): Promise<void> {
    const slice = await this.pending;
    if (slice.lastNumber === null) {
      this.ended = true;
      return;
    }
    const limit = Math.max(1, Math.min(MAX_SLICE_SESSIONS, Math.floor(SLICE_TARGET_BYTES / slice.charsPerSession)));
    this.pending = this.readSlice(slice.lastNumber, limit);
    this.buffered = slice.sessions;
    this.nextIndex = 0;
  }

  private readSlice(afterNumber: number, limit: number): Promise<Slice> {
    const read = (async () => {
      const { page, json } = await getBatchPage(
        this.store,
        // One event more than a line carries tells whether the session has more.
        { batchId: this.batchId, afterNumber, limit, eventsLimit: MAX_EVENTS_PER_SESSION + 1 },
        // No page size limit: the line limit on events is the export's only cut.
        Number.POSITIVE_INFINITY,
      );
      if (page.state !== 'released') throw new BatchNotReleased(this.batchId);
      return {
        sessions: page.sessions,
        lastNumber: page.last_number,
        charsPerSession: json.length / Math.max(1, page.sessions.length),
      };
    })();
    // Read ahead: if the export stops before it needs this slice, its failure must not go unhandled.
    read.catch(() => undefined);
    return read;
  }
}

/** The session as a page serves it, cut to its first MAX_EVENTS_PER_SESSION events if it has more. */
function toLine(session: BatchSession): ExportLine {
  const line =
    session.events.length > MAX_EVENTS_PER_SESSION
      ? { ...session, events: session.events.slice(0, MAX_EVENTS_PER_SESSION), events_truncated: true as const }
      : session;
  const text = `${JSON.stringify(line)}\n`;
  return { sessionNumber: session.session_number, events: line.events.length, text, bytes: Buffer.byteLength(text) };
}
