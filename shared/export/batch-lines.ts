/**
 * A released batch as its export lines: one session per line, exactly as a
 * page serves it (the domain's batch walk, which reads and confirms sessions
 * with the page's own code), ascending by number, with its oldest
 * MAX_EVENTS_PER_SESSION events, walked in slices.
 *
 * The next slice is read while the current one is written, so the store is
 * never idle; a slice is sized from the last one to hold about
 * SLICE_TARGET_BYTES, which bounds memory whatever the sessions weigh (two
 * slices are held at most, plus one session read to its last event, plus the
 * walk's listing buffers: LISTING_PAGE small entries a shard).
 */
import { walkBatch, type BatchWalk } from '../domain/walk-batch';
import type { PagingStore } from '../domain/store';
import type { BatchSession } from '../domain/model';
import { BatchNotReleased } from './errors';
import { MAX_EVENTS_PER_SESSION } from './layout';

/** Sessions a slice asks for at most: the store reads them in parallel. */
export const MAX_SLICE_SESSIONS = 200;
/** What a slice aims to weigh, as JSON Lines. */
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
  /** None: the batch has no session left. */
  lines: ExportLine[];
  /** JSON characters per session: what sizes the next slice. */
  charsPerSession: number;
}

export class BatchLines {
  private readonly walk: Promise<BatchWalk>;
  private pending: Promise<Slice>;
  private buffered: ExportLine[] = [];
  private nextIndex = 0;
  private ended = false;

  constructor(store: PagingStore, batchId: string, afterNumber: number) {
    this.walk = (async () => {
      // One event more than a line carries tells whether the session has more.
      const walk = await walkBatch(store, { batchId, afterNumber, eventsLimit: MAX_EVENTS_PER_SESSION + 1 });
      if (walk.state !== 'released') throw new BatchNotReleased(batchId);
      return walk;
    })();
    this.pending = this.readSlice(FIRST_SLICE_SESSIONS);
  }

  /** The next line, or undefined once the batch has no session left. */
  async next(): Promise<ExportLine | undefined> {
    if (this.nextIndex === this.buffered.length && !this.ended) await this.take();
    return this.buffered[this.nextIndex++];
  }

  private async take(): Promise<void> {
    const slice = await this.pending;
    if (slice.lines.length === 0) {
      this.ended = true;
      return;
    }
    const limit = Math.max(1, Math.min(MAX_SLICE_SESSIONS, Math.floor(SLICE_TARGET_BYTES / slice.charsPerSession)));
    this.pending = this.readSlice(limit);
    this.buffered = slice.lines;
    this.nextIndex = 0;
  }

  private readSlice(limit: number): Promise<Slice> {
    const read = (async () => {
      const lines = (await (await this.walk).next(limit)).map(toLine);
      return { lines, charsPerSession: lines.reduce((n, line) => n + line.text.length, 0) / Math.max(1, lines.length) };
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
