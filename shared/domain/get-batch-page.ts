import type { Event } from '../schemas';
import { BatchNotFound } from './errors';
import { batchSeqOf, type BatchPage, type BatchSession } from './model';
import type { SessionStore } from './store';

/** Lambda answers at most 6 MB; a page stays under 5 MB of JSON to leave room for the envelope. */
export const MAX_PAGE_BYTES = 5 * 1024 * 1024;

export interface PageRequest {
  batchId: string;
  afterNumber: number;
  limit: number;
  eventsLimit: number;
}

/**
 * One page of a batch in two sequential rounds, whatever the limit: the
 * pointer and the batch's sessions (from the index, projected in full) in
 * parallel, then every session's events in parallel.
 */
export async function getBatchPage(
  store: SessionStore,
  request: PageRequest,
  maxBytes = MAX_PAGE_BYTES,
): Promise<BatchPage> {
  const { batchId, afterNumber, limit, eventsLimit } = request;
  const [pointer, sessions] = await Promise.all([
    store.readPointer(),
    store.listBatchSessions(batchId, afterNumber, limit),
  ]);
  // Batches are numbered in order, so every batch up to the pointer's exists.
  const seq = batchSeqOf(batchId);
  if (seq === undefined || !pointer || seq > pointer.batchSeq) throw new BatchNotFound(batchId);

  const events = await Promise.all(
    sessions.map((s) => (eventsLimit > 0 ? store.listEvents(s.session_id, eventsLimit) : Promise.resolve([]))),
  );

  const page: BatchPage = { batch_id: batchId, last_number: null, sessions: [] };
  // Measured with the widest last_number: `null` is shorter than the number the page ends with.
  let bytes = jsonBytes({ ...page, last_number: Number.MAX_SAFE_INTEGER });
  for (const [i, stored] of sessions.entries()) {
    const { assignment, ...session } = stored;
    let item: BatchSession = {
      ...session,
      batch_id: assignment.batchId,
      session_number: assignment.sessionNumber,
      events: events[i] as Event[],
    };
    let size = jsonBytes(item) + 1; // + the comma
    if (bytes + size > maxBytes) {
      if (page.sessions.length > 0) break;
      // A single session too big for a page: send it with the events that fit,
      // or a consumer could never get past it.
      item = fitEvents(item, maxBytes - bytes);
      size = jsonBytes(item);
    }
    page.sessions.push(item);
    page.last_number = item.session_number;
    bytes += size;
  }
  return page;
}

function fitEvents(item: BatchSession, budget: number): BatchSession {
  const bare = jsonBytes({ ...item, events: [], events_truncated: true });
  const events: Event[] = [];
  let used = bare;
  for (const event of item.events) {
    const size = jsonBytes(event) + 1;
    if (used + size > budget) break;
    events.push(event);
    used += size;
  }
  return { ...item, events, events_truncated: true };
}

const jsonBytes = (value: unknown): number => Buffer.byteLength(JSON.stringify(value));
