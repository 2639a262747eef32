// @ts-check
/**
 * The local console: the batches, a batch's sessions and its click-through
 * rate by position, and the API reference. One page, one view per location
 * hash (#/, #/batch/<id>, #/batch/<id>/after/<number>, #/api), so a reload or
 * a shared link opens the same view and the back button pages back.
 */
import { el, fill } from './dom.js';
import {
  ApiError,
  ClickThroughTally,
  MARKS,
  MAX_EVENTS_LIMIT,
  fetchBatchList,
  fetchPage,
  formatPercent,
  formatTime,
  getJson,
  queryText,
  walkBatch,
} from './data.js';

/** @typedef {import('./data.js').BatchSession} BatchSession */
/** @typedef {import('./data.js').BatchSummary} BatchSummary */

/** Sessions on one page of the session list. */
const SESSIONS_PER_PAGE = 10;
/** How many batches are counted at once in the batch list. */
const COUNTING_AT_ONCE = 3;

/** Chart.js's browser build, loaded by index.html. */
const Chart = /** @type {typeof import('chart.js').Chart} */ (/** @type {any} */ (globalThis).Chart);

const view = /** @type {HTMLElement} */ (document.getElementById('view'));

/** Ends what the previous view still does (its requests, its chart) when the reader moves on. */
let leaveView = () => {};

async function render() {
  leaveView();
  const controller = new AbortController();
  /** @type {Array<() => void>} */
  const cleanups = [];
  leaveView = () => {
    controller.abort();
    for (const cleanup of cleanups) cleanup();
  };
  const hash = location.hash || '#/';
  const batch = /^#\/batch\/([^/]+)(?:\/after\/(\d{1,16}))?$/.exec(hash);
  markNavigation(hash === '#/api' ? 'api' : 'batches');
  try {
    if (hash === '#/' || hash === '#') await showBatches(controller.signal);
    else if (batch) await showBatch(decodeURIComponent(/** @type {string} */ (batch[1])), batch[2] ?? '0', controller.signal, cleanups);
    else if (hash === '#/api') await showApiReference();
    else fill(view, el('h2', {}, 'Nothing here'), el('p', {}, el('a', { href: '#/' }, 'See the batches')));
  } catch (error) {
    if (controller.signal.aborted) return;
    view.append(el('p', { class: 'error', role: 'alert' }, error instanceof ApiError ? error.message : `Something failed: ${String(error)}`));
  }
}

/** @param {'batches' | 'api'} current */
function markNavigation(current) {
  for (const link of document.querySelectorAll('nav a[data-nav]')) {
    if (link.getAttribute('data-nav') === current) link.setAttribute('aria-current', 'page');
    else link.removeAttribute('aria-current');
  }
}

// ---- The batches ---------------------------------------------------------------------------

/** @param {AbortSignal} signal */
async function showBatches(signal) {
  const refresh = el('button', { type: 'button', class: 'refresh' }, 'Refresh');
  refresh.addEventListener('click', () => void render());
  const heading = el('div', { class: 'heading' }, el('h2', {}, 'Batches'), refresh);
  fill(view, heading, el('p', { class: 'status' }, 'Reading the batches…'));
  const list = await fetchBatchList(signal);
  if (list.batches.length === 0) {
    fill(view, heading, emptyState(list.demo_session_id));
    return;
  }
  // Newest first: the collecting batch, then the latest releases.
  const batches = [...list.batches].reverse();
  const rows = batches.map((batch) => batchRow(batch));
  fill(
    view,
    heading,
    el(
      'table',
      { id: 'batches', class: 'data' },
      el('thead', {}, el('tr', {}, el('th', {}, 'Batch'), el('th', {}, 'State'), el('th', { class: 'number' }, 'Sessions'), el('th', {}, 'Released at'), el('th', {}, 'Release id'))),
      el('tbody', {}, rows.map((row) => row.element)),
    ),
    el(
      'p',
      { class: 'note' },
      'The store keeps no session count: each batch is counted by paging through it (GET /batch/sessions with events_limit=0), as a pipeline would.',
    ),
  );
  await runAtMost(COUNTING_AT_ONCE, rows.map((row) => () => row.count(signal)));
}

/** @param {BatchSummary} batch */
function batchRow(batch) {
  const countCell = el('td', { class: 'sessions number', 'aria-busy': 'true' }, 'counting…');
  const element = el(
    'tr',
    { 'data-batch-id': batch.batch_id, 'data-state': batch.state },
    el('td', { class: 'batch-id' }, el('a', { href: `#/batch/${encodeURIComponent(batch.batch_id)}` }, batch.batch_id)),
    el('td', { class: 'state' }, stateBadge(batch.state)),
    countCell,
    el('td', { class: 'released-at', 'data-released-at': batch.released_at }, batch.released_at === undefined ? '—' : formatTime(batch.released_at)),
    el('td', { class: 'release-id' }, batch.release_id ?? '—'),
  );
  /** @param {AbortSignal} signal */
  const count = async (signal) => {
    let sessions = 0;
    try {
      await walkBatch(
        batch.batch_id,
        0,
        (page) => {
          sessions += page.sessions.length;
          fill(countCell, `counting… ${sessions}`);
        },
        signal,
      );
      fill(countCell, String(sessions));
      countCell.setAttribute('data-count', String(sessions));
    } catch (error) {
      if (signal.aborted) return;
      fill(countCell, el('span', { class: 'error' }, error instanceof ApiError ? error.message : String(error)));
    }
    countCell.removeAttribute('aria-busy');
  };
  return { element, count };
}

/**
 * What to do on a store with no batch: schedule a session, from the API reference or with curl.
 * @param {string} demoSessionId
 */
function emptyState(demoSessionId) {
  const curl = `curl -s -X POST ${location.origin}/session/use-for-improvement -H 'content-type: application/json' -d '${JSON.stringify({ session_id: demoSessionId })}'`;
  return el(
    'section',
    { class: 'empty-state' },
    el('p', {}, el('strong', {}, 'No batch yet.'), ' A batch opens when the first session is scheduled into it.'),
    el(
      'p',
      {},
      'Schedule one from the ',
      el('a', { href: '#/api' }, 'API reference'),
      ': POST /session/use-for-improvement, “Try it out”, with the body ',
      el('code', {}, JSON.stringify({ session_id: demoSessionId })),
      ' (a demo session with a click). Or run:',
    ),
    el('pre', {}, el('code', { id: 'schedule-curl' }, curl)),
    el('p', {}, 'Then refresh this page. POST /batch/release releases the batch; the README’s “Try it” walks through scheduling, paging and releasing.'),
  );
}

/**
 * "1 session", "2 sessions".
 * @param {number} count
 * @param {string} noun
 */
const plural = (count, noun) => `${count} ${noun}${count === 1 ? '' : 's'}`;

/** @param {'collecting' | 'released'} state */
const stateBadge = (state) => el('span', { class: `badge state-${state}` }, state);

/**
 * Runs the tasks, at most `limit` at a time.
 * @param {number} limit
 * @param {Array<() => Promise<void>>} tasks
 */
async function runAtMost(limit, tasks) {
  const queue = [...tasks];
  const worker = async () => {
    for (let task = queue.shift(); task; task = queue.shift()) await task();
  };
  await Promise.all(Array.from({ length: Math.min(limit, queue.length) }, worker));
}

// ---- One batch -----------------------------------------------------------------------------

/**
 * @param {string} batchId
 * @param {string} afterNumber as written in the location: numbers go up to 2^53
 * @param {AbortSignal} signal
 * @param {Array<() => void>} cleanups
 */
async function showBatch(batchId, afterNumber, signal, cleanups) {
  const summary = el('p', { class: 'summary' }, 'Reading the batch…');
  const ctr = el('section', { id: 'ctr', 'aria-busy': 'true' }, el('h3', {}, 'Click-through rate by position'), el('p', { class: 'status' }, 'Reading every session of the batch…'));
  const sessions = el('section', { id: 'sessions', 'aria-busy': 'true', 'data-after-number': afterNumber }, el('h3', {}, 'Sessions'), el('p', { class: 'status' }, 'Reading sessions…'));
  fill(view, el('p', { class: 'crumbs' }, el('a', { href: '#/' }, '← Batches')), el('h2', {}, `Batch ${batchId}`), summary, ctr, sessions);

  const [list] = await Promise.all([
    fetchBatchList(signal),
    showSessionPage(sessions, batchId, afterNumber, signal),
    showClickThrough(ctr, batchId, signal, cleanups),
  ]);
  const batch = list.batches.find((b) => b.batch_id === batchId);
  if (batch) {
    fill(
      summary,
      stateBadge(batch.state),
      batch.released_at === undefined ? ' Still collecting: sessions may join it.' : ` Released at ${formatTime(batch.released_at)}`,
      batch.release_id ? ` by release ${batch.release_id}.` : '',
    );
  } else {
    fill(summary, '');
  }
}

/**
 * @param {HTMLElement} section
 * @param {string} batchId
 * @param {string} afterNumber
 * @param {AbortSignal} signal
 */
async function showSessionPage(section, batchId, afterNumber, signal) {
  const heading = el('h3', {}, 'Sessions');
  try {
    const page = await fetchPage({ batchId, afterNumber, limit: SESSIONS_PER_PAGE, eventsLimit: MAX_EVENTS_LIMIT }, signal);
    const first = page.sessions[0];
    const last = page.sessions[page.sessions.length - 1];
    const pager = el('nav', { class: 'pager', 'aria-label': 'Session pages' });
    const numbers = first === last ? `number ${first?.session_number}` : `numbers ${first?.session_number} to ${last?.session_number}`;
    fill(
      section,
      heading,
      el(
        'p',
        { class: 'status' },
        `The page after_number=${afterNumber} (limit=${SESSIONS_PER_PAGE}, events_limit=${MAX_EVENTS_LIMIT}): `,
        page.sessions.length === 0
          ? 'no sessions.'
          : `${plural(page.sessions.length, 'session')}, ${numbers}; last_number=${page.last_number}.`,
      ),
      pager,
      page.sessions.map((session) => sessionView(session)),
    );
    if (afterNumber !== '0') pager.append(el('a', { href: `#/batch/${encodeURIComponent(batchId)}`, class: 'first' }, '« First page'));
    if (page.last_number !== null) {
      // Whether another page follows: a page may end early (its size), so only asking tells.
      const next = await fetchPage({ batchId, afterNumber: page.last_number, limit: 1, eventsLimit: 0 }, signal);
      if (next.sessions.length > 0) {
        pager.append(el('a', { href: `#/batch/${encodeURIComponent(batchId)}/after/${page.last_number}`, class: 'next', rel: 'next' }, `Next page: after_number=${page.last_number} »`));
      }
    }
  } catch (error) {
    if (signal.aborted) throw error;
    fill(section, heading, el('p', { class: 'error', role: 'alert' }, error instanceof ApiError ? error.message : String(error)));
  }
  section.removeAttribute('aria-busy');
}

/** @param {BatchSession} session */
function sessionView(session) {
  /** @type {Map<string, Set<string>>} event types of the marks, by object_id */
  const marks = new Map();
  for (const event of session.events) {
    if (!MARKS.some((mark) => mark.eventType === event.event_type)) continue;
    const types = marks.get(event.object_id) ?? new Set();
    types.add(event.event_type);
    marks.set(event.object_id, types);
  }
  /** @type {Map<string, number>} */
  const positionOf = new Map();
  session.search_results.forEach((result, i) => positionOf.has(result.object_id) || positionOf.set(result.object_id, i + 1));
  // Oldest first, as the page returns them; sorted again (stably) so the order shown never depends on storage.
  const events = [...session.events].sort((a, b) => a.created_at - b.created_at);

  return el(
    'article',
    { class: 'session', 'data-session-id': session.session_id, 'data-session-number': session.session_number },
    el(
      'header',
      {},
      el('span', { class: 'session-number', title: 'session_number' }, `#${session.session_number}`),
      el('h4', { class: 'query', title: 'search_query' }, queryText(session.search_query)),
      session.is_irrelevant && el('span', { class: 'badge irrelevant' }, 'marked irrelevant'),
      session.is_payload_search && el('span', { class: 'badge' }, 'payload search'),
    ),
    el(
      'dl',
      { class: 'facts' },
      fact('session_id', session.session_id),
      fact('created_at', formatTime(session.created_at)),
      session.user_id !== undefined && fact('user_id', session.user_id),
      fact('is_irrelevant', String(session.is_irrelevant), 'is-irrelevant'),
      session.search_meta && fact('search_meta', JSON.stringify(session.search_meta)),
      session.payload_filter && fact('payload_filter', JSON.stringify(session.payload_filter)),
      session.sort_by && fact('sort_by', JSON.stringify(session.sort_by)),
    ),
    el(
      'div',
      { class: 'columns' },
      el(
        'section',
        { class: 'results' },
        el('h5', {}, `Results, in ranked order (${session.search_results.length})`),
        el(
          'ol',
          {},
          session.search_results.map((result, i) => {
            const types = marks.get(result.object_id) ?? new Set();
            const shownMarks = MARKS.filter((mark) => types.has(mark.eventType));
            return el(
              'li',
              {
                class: ['result', ...shownMarks.map((mark) => mark.label)].join(' '),
                'data-position': i + 1,
                'data-object-id': result.object_id,
                'data-marks': shownMarks.map((mark) => mark.eventType).join(' '),
              },
              el('span', { class: 'position', title: 'position' }, String(i + 1)),
              el('code', { class: 'object-id' }, result.object_id),
              result.rank !== undefined && el('span', { class: 'rank' }, `rank ${result.rank}`),
              shownMarks.map((mark) => el('span', { class: `mark mark-${mark.eventType}` }, mark.label)),
              result.meta && el('code', { class: 'meta' }, JSON.stringify(result.meta)),
            );
          }),
        ),
      ),
      el(
        'section',
        { class: 'events' },
        el('h5', {}, `Events, in time order (${events.length})`),
        session.events_truncated && el('p', { class: 'note' }, 'This session is too large for one page: its events were cut to fit (events_truncated).'),
        !session.events_truncated && events.length >= MAX_EVENTS_LIMIT && el('p', { class: 'note' }, `Only the first ${MAX_EVENTS_LIMIT} events (events_limit=${MAX_EVENTS_LIMIT}).`),
        events.length === 0
          ? el('p', { class: 'note' }, 'No events.')
          : el(
              'table',
              { class: 'data events' },
              el('thead', {}, el('tr', {}, el('th', {}, 'created_at'), el('th', {}, 'event_type'), el('th', {}, 'object_id'), el('th', {}, 'position'), el('th', {}, 'meta'))),
              el(
                'tbody',
                {},
                events.map((event) =>
                  el(
                    'tr',
                    { class: 'event', 'data-event-type': event.event_type, 'data-created-at': event.created_at },
                    el('td', {}, formatTime(event.created_at)),
                    el('td', { class: 'event-type' }, event.event_type),
                    el('td', {}, el('code', {}, event.object_id)),
                    el('td', {}, positionOf.has(event.object_id) ? String(positionOf.get(event.object_id)) : 'not shown'),
                    el('td', {}, event.meta && el('code', { class: 'meta' }, JSON.stringify(event.meta))),
                  ),
                ),
              ),
            ),
      ),
    ),
  );
}

/**
 * @param {string} name
 * @param {string} value
 * @param {string} [className]
 */
const fact = (name, value, className) => el('div', { class: className }, el('dt', {}, name), el('dd', {}, value));

/**
 * @param {HTMLElement} section
 * @param {string} batchId
 * @param {AbortSignal} signal
 * @param {Array<() => void>} cleanups
 */
async function showClickThrough(section, batchId, signal, cleanups) {
  const heading = el('h3', {}, 'Click-through rate by position');
  const status = el('p', { class: 'status' }, 'Reading every session of the batch…');
  fill(section, heading, status);
  const tally = new ClickThroughTally();
  try {
    await walkBatch(
      batchId,
      MAX_EVENTS_LIMIT,
      (page) => {
        for (const session of page.sessions) tally.add(session);
        fill(status, `Reading every session of the batch… ${tally.sessions}`);
      },
      signal,
    );
  } catch (error) {
    if (signal.aborted) throw error;
    fill(section, heading, el('p', { class: 'error', role: 'alert' }, error instanceof ApiError ? error.message : String(error)));
    section.removeAttribute('aria-busy');
    return;
  }
  const positions = tally.positions();
  const canvas = el('canvas', { id: 'ctr-chart', role: 'img', 'aria-label': 'Bar chart of the click-through rate at each position; the table beside it has the same numbers.' });
  const notes = [
    tally.clicksOutsideResults > 0 &&
      `${tally.clicksOutsideResults} clicked object(s) were not among their session's results: they count at no position.`,
    tally.sessionsWithEventsCut > 0 &&
      `${tally.sessionsWithEventsCut} session(s) had their events cut (at most ${MAX_EVENTS_LIMIT} a session): clicks past the cut are not counted.`,
  ].filter((note) => typeof note === 'string');
  fill(
    section,
    heading,
    el(
      'p',
      { class: 'definition' },
      'Position k is the k-th result (1-based) of a session’s search_results, which are in ranked order. ',
      'A session counts at k when it has a click event (event_type "click") on the object_id shown at k. ',
      'The rate at k is the share of all the batch’s sessions that count at k.',
    ),
    el('p', { class: 'status', id: 'ctr-sessions', 'data-sessions': tally.sessions }, `${plural(tally.sessions, 'session')} in the batch.`),
    positions.length === 0
      ? el('p', { class: 'note' }, 'No session of this batch shows any result.')
      : el(
          'div',
          { class: 'ctr' },
          el('div', { class: 'chart' }, canvas),
          el(
            'table',
            { id: 'ctr-table', class: 'data' },
            el('thead', {}, el('tr', {}, el('th', { class: 'number' }, 'Position'), el('th', { class: 'number' }, 'Sessions with a click there'), el('th', { class: 'number' }, 'Click-through rate'))),
            el(
              'tbody',
              {},
              positions.map((p) =>
                el(
                  'tr',
                  { 'data-position': p.position },
                  el('td', { class: 'position number' }, String(p.position)),
                  el('td', { class: 'clicked number' }, String(p.clicked)),
                  el('td', { class: 'rate number' }, formatPercent(p.clicked, tally.sessions)),
                ),
              ),
            ),
          ),
        ),
    notes.map((note) => el('p', { class: 'note' }, note)),
  );
  section.removeAttribute('aria-busy');
  if (positions.length === 0) return;
  const chart = new Chart(canvas, {
    type: 'bar',
    data: {
      labels: positions.map((p) => String(p.position)),
      datasets: [{ label: 'Click-through rate (%)', data: positions.map((p) => 100 * p.rate), backgroundColor: '#2f6fdb' }],
    },
    options: {
      animation: false,
      maintainAspectRatio: false,
      scales: {
        x: { title: { display: true, text: 'Position in search_results (1 = first shown)' } },
        y: { beginAtZero: true, title: { display: true, text: 'Sessions with a click there (%)' }, ticks: { callback: (value) => `${value}%` } },
      },
      plugins: {
        legend: { display: false },
        tooltip: {
          callbacks: {
            label: (item) => {
              const p = /** @type {{ clicked: number }} */ (positions[item.dataIndex]);
              return `${p.clicked} of ${tally.sessions} sessions (${formatPercent(p.clicked, tally.sessions)})`;
            },
          },
        },
      },
    },
  });
  cleanups.push(() => chart.destroy());
}

// ---- The API reference ---------------------------------------------------------------------

/** @type {Promise<void> | undefined} */
let swaggerLoaded;

async function showApiReference() {
  const root = el('div', { id: 'swagger-ui' }, el('p', { class: 'status' }, 'Loading the API reference…'));
  fill(view, root);
  // 1.7 MB: loaded the first time the reference is opened, not with every page.
  swaggerLoaded ??= new Promise((resolve, reject) => {
    const script = el('script', { src: '/console/vendor/swagger-ui-bundle.js' });
    script.addEventListener('load', () => resolve());
    script.addEventListener('error', () => reject(new Error('the Swagger UI bundle did not load')));
    document.head.append(script);
  });
  await swaggerLoaded;
  const document_ = await getJson('/openapi.json');
  // "Try it out" sends to the document's server: this page's own origin is that server, under the
  // name the browser used for it (localhost or 127.0.0.1); another name would be a cross-origin request.
  document_.servers = [{ ...document_.servers?.[0], url: location.origin }];
  const SwaggerUIBundle = /** @type {any} */ (globalThis).SwaggerUIBundle;
  root.replaceChildren();
  SwaggerUIBundle({
    spec: document_,
    domNode: root,
    // The hash is this console's; Swagger UI's deep links would take it over.
    deepLinking: false,
    // The default validator badge calls validator.swagger.io: no network here.
    validatorUrl: null,
    docExpansion: 'list',
    defaultModelsExpandDepth: 0,
  });
}

window.addEventListener('hashchange', () => void render());
void render();
