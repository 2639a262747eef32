// @ts-check
/**
 * What the console reads and what it computes from it. Sessions come from
 * the page handler (GET /batch/sessions), paged by last_number exactly as a
 * training pipeline pages them; the batch list, which the API has no route
 * for, from the local server's /console/api/batches.
 */

/**
 * @typedef {{ object_id: string, rank?: number, meta?: object }} SearchResult
 * @typedef {{ event_id: string, object_id: string, event_type: string, created_at: number, meta?: object }} SessionEvent
 * @typedef {{
 *   session_id: string, search_query: unknown, created_at: number, search_results: SearchResult[],
 *   user_id?: string, search_meta?: object, payload_filter?: object, sort_by?: object,
 *   is_irrelevant: boolean, is_payload_search: boolean, batch_id: string, session_number: number,
 *   events: SessionEvent[], events_truncated?: true
 * }} BatchSession
 * @typedef {{ batch_id: string, state: 'collecting' | 'released', last_number: number | null, sessions: BatchSession[] }} BatchPage
 * @typedef {{ batch_id: string, state: 'collecting' | 'released', release_id?: string, released_at?: number }} BatchSummary
 * @typedef {{ batches: BatchSummary[], demo_session_id: string }} BatchList
 */

/** The API's maxima for a page (README, "GET /batch/sessions"). */
export const MAX_PAGE_LIMIT = 100;
export const MAX_EVENTS_LIMIT = 1000;

/** The event types a result is marked with, and the word shown for each. */
export const MARKS = /** @type {const} */ ([
  { eventType: 'click', label: 'clicked' },
  { eventType: 'add_to_cart', label: 'carted' },
  { eventType: 'purchase', label: 'purchased' },
]);

/** An error answer of the API, with its message for the reader. */
export class ApiError extends Error {
  /**
   * @param {number} status
   * @param {string} code
   * @param {string} message
   */
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

/**
 * @param {string} url
 * @param {AbortSignal} [signal]
 * @returns {Promise<any>}
 */
export async function getJson(url, signal) {
  const response = await fetch(url, { headers: { accept: 'application/json' }, signal });
  /** @type {any} */
  let body;
  try {
    body = await response.json();
  } catch {
    throw new ApiError(response.status, 'not_json', `${url} answered ${response.status} without JSON.`);
  }
  if (!response.ok) {
    throw new ApiError(response.status, body?.error?.code ?? 'error', body?.error?.message ?? `${url} answered ${response.status}.`);
  }
  return body;
}

/**
 * @param {AbortSignal} [signal]
 * @returns {Promise<BatchList>}
 */
export const fetchBatchList = (signal) => getJson('/console/api/batches', signal);

/**
 * One page of a batch. `afterNumber` is passed on as written: session numbers
 * go up to 2^53, so they are never computed with, only shown and sent back.
 * @param {{ batchId: string, afterNumber: number | string, limit: number, eventsLimit: number }} query
 * @param {AbortSignal} [signal]
 * @returns {Promise<BatchPage>}
 */
export function fetchPage({ batchId, afterNumber, limit, eventsLimit }, signal) {
  const query = new URLSearchParams({
    batch_id: batchId,
    after_number: String(afterNumber),
    limit: String(limit),
    events_limit: String(eventsLimit),
  });
  return getJson(`/batch/sessions?${query}`, signal);
}

/**
 * Every session of a batch: page after page, feeding last_number back as
 * after_number until a page is empty, as the README tells a pipeline to.
 * @param {string} batchId
 * @param {number} eventsLimit
 * @param {(page: BatchPage) => void} onPage
 * @param {AbortSignal} [signal]
 */
export async function walkBatch(batchId, eventsLimit, onPage, signal) {
  /** @type {number | string} */
  let afterNumber = 0;
  for (;;) {
    const page = await fetchPage({ batchId, afterNumber, limit: MAX_PAGE_LIMIT, eventsLimit }, signal);
    if (page.sessions.length === 0 || page.last_number === null) return;
    onPage(page);
    afterNumber = page.last_number;
  }
}

/**
 * Click-through rate by position, tallied one session at a time (a batch
 * may hold more sessions than a page is worth keeping).
 *
 * Position k is the k-th entry (1-based) of a session's search_results, which
 * are in ranked order. A session counts at k when one of its events is a
 * `click` on the object_id shown at k. The rate at k is the share of all the
 * batch's sessions that count at k; positions run from 1 to the longest
 * result list of the batch.
 */
export class ClickThroughTally {
  sessions = 0;
  /** @type {number[]} sessions counted at position i + 1 */
  clickedAt = [];
  /** Objects clicked in a session (each once) that its results do not show: at no position. */
  clicksOutsideResults = 0;
  /** Sessions whose events were cut (events_limit or a page's size): clicks past the cut are not seen. */
  sessionsWithEventsCut = 0;

  /** @param {BatchSession} session */
  add(session) {
    this.sessions += 1;
    const clicked = new Set(session.events.filter((e) => e.event_type === 'click').map((e) => e.object_id));
    const shown = new Set(session.search_results.map((r) => r.object_id));
    for (const objectId of clicked) if (!shown.has(objectId)) this.clicksOutsideResults += 1;
    if (session.events_truncated || session.events.length >= MAX_EVENTS_LIMIT) this.sessionsWithEventsCut += 1;
    while (this.clickedAt.length < session.search_results.length) this.clickedAt.push(0);
    session.search_results.forEach((result, i) => {
      if (clicked.has(result.object_id)) this.clickedAt[i] = (this.clickedAt[i] ?? 0) + 1;
    });
  }

  /** @returns {Array<{ position: number, clicked: number, rate: number }>} */
  positions() {
    return this.clickedAt.map((clicked, i) => ({ position: i + 1, clicked, rate: this.sessions ? clicked / this.sessions : 0 }));
  }
}

/**
 * A share as the console prints it: a percentage with one decimal.
 * @param {number} part
 * @param {number} whole
 */
export const formatPercent = (part, whole) => (whole ? `${((100 * part) / whole).toFixed(1)}%` : '–');

/**
 * Unix seconds as a UTC date and time.
 * @param {number | undefined} seconds
 */
export function formatTime(seconds) {
  if (seconds === undefined) return '';
  const date = new Date(seconds * 1000);
  return Number.isNaN(date.getTime()) ? String(seconds) : `${date.toISOString().slice(0, 19).replace('T', ' ')} UTC`;
}

/**
 * search_query is any JSON: a string is shown as it is, anything else as JSON.
 * @param {unknown} query
 */
export const queryText = (query) => (typeof query === 'string' ? query : JSON.stringify(query));
