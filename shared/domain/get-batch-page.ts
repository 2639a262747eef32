import type { Event } from '../schemas';
import { BatchNotFound } from './errors';
import { batchSeqOf, batchStateOf, type BatchPage, type BatchSession, type BatchState, type CollectingPointer } from './model';
import type { BatchEntry, PagingStore } from './store';

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
 * pointer and the batch's listings (every shard, strongly consistent) in
 * parallel, then every listed session's own partition (its assignment, item
 * and events), in parallel. A session is served only under the assignment
 * it holds, the commit point of scheduling: a listing its assignment does not
 * confirm (an orphan of a lost race or a crash, or a stale index entry) is
 * left out, at no extra round. The batch index is read as well, for sessions
 * an earlier version scheduled; sharded schedules write nothing there, so an
 * index's lag cannot hide any of their sessions.
 */
export async function getBatchPage(
  store: PagingStore,
  request: PageRequest,
  maxBytes = MAX_PAGE_BYTES,
): Promise<MeasuredPage> {
  const { batchId, afterNumber, limit, eventsLimit } = request;
  const allShards = { from: 0, to: store.shards };
  const [pointer, listed] = await Promise.all([
    store.readPointer(),
    store.listBatchEntries(batchId, afterNumber, limit, allShards),
  ]);
  const state = stateOfBatch(batchId, pointer);
  const shards = { from: 0, to: shardsOfBatch(store, pointer) };
  let entries = shards.to > store.shards
    ? mergeEntries(listed, await store.listBatchEntries(batchId, afterNumber, limit, { from: store.shards, to: shards.to }), limit)
    : listed;
  let sessions = await confirmedSessions(store, entries, eventsLimit);
  // Only orphans in a full listing: list on, since an empty page would tell the consumer the batch ended.
  while (sessions.length === 0 && entries.length === limit) {
    entries = await store.listBatchEntries(batchId, entries.at(-1)!.assignment.sessionNumber, limit, shards);
    sessions = await confirmedSessions(store, entries, eventsLimit);
  }

  const page: BatchPage = { batch_id: batchId, state, last_number: null, sessions: [] };
  const parts: string[] = [];
  // Measured with the widest last_number: `null` is shorter than the number the page ends with.
  let bytes = jsonBytes({ ...page, last_number: Number.MAX_SAFE_INTEGER });
  for (let item of sessions) {
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

/**
 * The state of a batch, given the pointer (read with its listing, so that a
 * page stays two rounds): batches are numbered in order, so every batch up to
 * the pointer's exists, and no other.
 */
export function stateOfBatch(batchId: string, pointer: CollectingPointer | undefined): BatchState {
  const seq = batchSeqOf(batchId);
  if (seq === undefined || !pointer || seq > pointer.batchSeq) throw new BatchNotFound(batchId);
  return batchStateOf(seq, pointer);
}

/**
 * How many shards list a batch's sessions: a batch once opened with more
 * shards than this deployment's setting keeps them (the count only grows).
 */
export const shardsOfBatch = (store: Pick<PagingStore, 'shards'>, pointer: CollectingPointer | undefined): number =>
  Math.max(store.shards, pointer?.shards ?? 0);

/**
 * The listed sessions as a page serves them, in the listing's order, with
 * their oldest `eventsLimit` events: only those whose own assignment is the
 * one they were listed under (one parallel round of session reads). A
 * payload search is never served, even one an import marked so while its
 * schedule was in flight (the two cannot be made atomic). Whatever serves a
 * batch's sessions (a page, the export) serves them through this.
 */
export async function confirmedSessions(store: Pick<PagingStore, 'readSession'>, entries: BatchEntry[], eventsLimit: number): Promise<BatchSession[]> {
  const reads = await Promise.all(entries.map((entry) => store.readSession(entry.sessionId, eventsLimit)));
  return entries.flatMap((entry, i): BatchSession[] => {
    const { session, events } = reads[i]!;
    if (!session || session.is_payload_search) return [];
    const { assignment: held, ...fields } = session;
    const confirmed = held && held.batchId === entry.assignment.batchId && held.sessionNumber === entry.assignment.sessionNumber;
    return confirmed ? [{ ...fields, batch_id: held.batchId, session_number: held.sessionNumber, events }] : [];
  });
}

/** Two ascending listings as one, at most `limit`. */
const mergeEntries = (a: BatchEntry[], b: BatchEntry[], limit: number): BatchEntry[] =>
  [...a, ...b].sort((x, y) => x.assignment.sessionNumber - y.assignment.sessionNumber).slice(0, limit);

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
