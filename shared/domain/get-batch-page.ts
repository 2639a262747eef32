import type { Event } from '../schemas';
import { BatchNotFound } from './errors';
import { batchSeqOf, batchStateOf, type Assignment, type BatchPage, type BatchSession, type StoredSession } from './model';
import type { BatchEntry, SessionStore } from './store';

/** Lambda answers at most 6 MB; a page stays under 5 MB of JSON to leave room for the envelope. */
export const MAX_PAGE_BYTES = 5 * 1024 * 1024;

/**
 * A page and its JSON text, exactly JSON.stringify(page): the text it was
 * measured with while it was built, so the handler sends it as is instead of
 * serializing up to 5 MB a second time.
 */
export interface MeasuredPage {
  page: BatchPage;
  json: string;
}

export interface PageRequest {
  batchId: string;
  afterNumber: number;
  limit: number;
  eventsLimit: number;
}

/**
 * One page of a batch in two sequential rounds, whatever the limit: the
 * pointer and the batch index in parallel, then every listed session's own
 * item with its events, in parallel. A session is served only under the
 * assignment its item holds: an index entry the item does not confirm (a
 * stale one, as dynalite can keep after a crash) is left out, at no extra round.
 */
export async function getBatchPage(
  store: SessionStore,
  request: PageRequest,
  maxBytes = MAX_PAGE_BYTES,
): Promise<MeasuredPage> {
  const { batchId, afterNumber, limit, eventsLimit } = request;
  const [pointer, entries] = await Promise.all([
    store.readPointer(),
    store.listBatchEntries(batchId, afterNumber, limit),
  ]);
  // Batches are numbered in order, so every batch up to the pointer's exists.
  const seq = batchSeqOf(batchId);
  if (seq === undefined || !pointer || seq > pointer.batchSeq) throw new BatchNotFound(batchId);

  let listed = entries;
  let sessions = await confirmedSessions(store, listed, eventsLimit);
  // Only stale entries in a full listing: list on, since an empty page would tell the consumer the batch ended.
  while (sessions.length === 0 && listed.length === limit) {
    listed = await store.listBatchEntries(batchId, listed.at(-1)!.assignment.sessionNumber, limit);
    sessions = await confirmedSessions(store, listed, eventsLimit);
  }

  const page: BatchPage = { batch_id: batchId, state: batchStateOf(seq, pointer), last_number: null, sessions: [] };
  const parts: string[] = [];
  // Measured with the widest last_number: `null` is shorter than the number the page ends with.
  let bytes = jsonBytes({ ...page, last_number: Number.MAX_SAFE_INTEGER });
  for (const { session: stored, events } of sessions) {
    const { assignment, ...session } = stored;
    let item: BatchSession = {
      ...session,
      batch_id: assignment.batchId,
      session_number: assignment.sessionNumber,
      events,
    };
    let json = JSON.stringify(item);
    let size = Buffer.byteLength(json) + 1; // + the comma
    if (bytes + size > maxBytes) {
      if (page.sessions.length > 0) break;
      // A single session too big for a page: send it with the events that fit,
      // or a consumer could never get past it.
      item = fitEvents(item, maxBytes - bytes);
      json = JSON.stringify(item);
      size = Buffer.byteLength(json);
    }
    page.sessions.push(item);
    parts.push(json);
    page.last_number = item.session_number;
    bytes += size;
  }
  // Same key order as the page object, so this is exactly JSON.stringify(page).
  const json = `{"batch_id":${JSON.stringify(page.batch_id)},"state":"${page.state}","last_number":${page.last_number},"sessions":[${parts.join(',')}]}`;
  return { page, json };
}

/** The listed sessions whose own item holds the assignment they were listed under, with their events. */
async function confirmedSessions(store: SessionStore, entries: BatchEntry[], eventsLimit: number) {
  const reads = await Promise.all(entries.map((entry) => store.readSession(entry.sessionId, eventsLimit)));
  return entries.flatMap((entry, i) => {
    const { session, events } = reads[i]!;
    const held = session?.assignment;
    return held && held.batchId === entry.assignment.batchId && held.sessionNumber === entry.assignment.sessionNumber
      ? [{ session: session as StoredSession & { assignment: Assignment }, events }]
      : [];
  });
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
