/**
 * The local console in a real browser: headless Chromium (Debian's package)
 * driven by puppeteer-core, on the local server with this test file's store
 * and the demo data. Batches are made through the API first; what the console
 * shows is then checked against figures this test reads from the page API
 * itself (GET /batch/sessions) and computes on its own. Screenshots go to
 * .artifacts/console/ (git-ignored).
 */
import { execFile } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { promisify } from 'node:util';
import type { Page } from 'puppeteer-core';
import { createConsolePages } from '../../infra/local/console/pages';
import { DEMO_DATA_FILE, DEMO_SESSION_IDS, seedDemoData } from '../../infra/local/demo-data';
import { launchChromium, type HeadlessChromium } from '../support/chromium';
import { makeEvent, makeSession, writer } from '../support/handlers';
import { startTestApi, type TestApi } from '../support/local-api';

jest.setTimeout(60_000);

const ARTIFACTS = resolve(__dirname, '..', '..', '.artifacts', 'console');

/** A session as a page returns it: the fields this test reads. */
interface PagedSession {
  session_id: string;
  session_number: number;
  search_query: unknown;
  is_irrelevant: boolean;
  search_results: Array<{ object_id: string }>;
  events: Array<{ object_id: string; event_type: string; created_at: number }>;
}

let api: TestApi;
let chromium: HeadlessChromium;
/** The number the empty state's curl line gave ps4 (numbers are the data layer's to choose). */
let ps4Number: number;
let page: Page;
/** Every request the browser made, and everything that went wrong in the page. */
const requested: string[] = [];
const pageProblems: string[] = [];

/** A session whose query, results and meta are markup and script: they must show as text. */
const HOSTILE_QUERY = '<img src=x onerror="window.__injected = true">';
const HOSTILE_OBJECT = '<script>window.__injected = true</script>';
const hostileSession = makeSession({
  search_query: HOSTILE_QUERY,
  search_results: [
    { object_id: 'plain-1', rank: 1 },
    { object_id: HOSTILE_OBJECT, rank: 2, meta: { '<b>label</b>': '</code><img src=x onerror="window.__injected = true">' } },
  ],
  is_irrelevant: true,
});

/** The demo file's sessions (one per UBI query), in file order. */
function demoSessionIds(): string[] {
  const ids: string[] = [];
  for (const line of readFileSync(DEMO_DATA_FILE, 'utf8').split('\n')) {
    if (!line.includes('"user_query"') || line.includes('"action_name"')) continue;
    ids.push((JSON.parse(line) as { query_id: string }).query_id);
  }
  return ids;
}

beforeAll(async () => {
  mkdirSync(ARTIFACTS, { recursive: true });
  chromium = await launchChromium();
  api = await startTestApi({ localPages: await createConsolePages() });
  await seedDemoData(writer());
  await writer().putEvents([
    makeEvent(hostileSession.session_id, { object_id: HOSTILE_OBJECT, event_type: 'click', created_at: 1_700_000_020 }),
  ]);
  await writer().upsertSession(hostileSession);
  page = await chromium.browser.newPage();
  await page.setViewport({ width: 1280, height: 900 });
  page.on('request', (request) => void requested.push(request.url()));
  page.on('pageerror', (error) => void pageProblems.push(`page error: ${String(error)}`));
  page.on('console', (message) => {
    if (message.type() === 'error' || message.type() === 'warn') pageProblems.push(`console ${message.type()}: ${message.text()}`);
  });
  page.on('requestfailed', (request) => void pageProblems.push(`request failed: ${request.url()} ${request.failure()?.errorText}`));
});

afterAll(async () => {
  await chromium?.close();
  await api?.server.close();
});

/** Opens a view of the console and waits until it has read everything it shows. */
async function open(hash: string, ready: string): Promise<void> {
  // A fresh document each time: a change of hash alone could leave the previous view matching `ready`.
  await page.goto('about:blank');
  await page.goto(`${api.server.url}/${hash}`);
  await page.waitForSelector(ready);
  await page.waitForSelector('[aria-busy]', { hidden: true });
}

const screenshot = (name: string) => page.screenshot({ path: resolve(ARTIFACTS, `${name}.png`), fullPage: true });

/** Every session of a batch through the page API, followed by last_number as a pipeline does. */
async function readBatch(batchId: string): Promise<{ state: string; sessions: PagedSession[] }> {
  const sessions: PagedSession[] = [];
  let after = 0;
  let state = '';
  for (;;) {
    const answer = await api.page({ batch_id: batchId, after_number: after, limit: 100, events_limit: 1000 });
    expect(answer.status).toBe(200);
    state = answer.body.state;
    if (answer.body.sessions.length === 0) return { state, sessions };
    sessions.push(...answer.body.sessions);
    after = answer.body.last_number;
  }
}

/**
 * The click-through rate by position, as the console defines it: position k is
 * the k-th entry (1-based) of search_results; a session counts at k when one of
 * its click events names the object_id shown at k; the rate is over all sessions.
 */
function expectedClickThrough(sessions: PagedSession[]) {
  const longest = Math.max(0, ...sessions.map((s) => s.search_results.length));
  return Array.from({ length: longest }, (_, i) => {
    const clicked = sessions.filter((s) => {
      const shown = s.search_results[i];
      return shown !== undefined && s.events.some((e) => e.event_type === 'click' && e.object_id === shown.object_id);
    }).length;
    return { position: i + 1, clicked, percent: (100 * clicked) / sessions.length };
  });
}

const utc = (seconds: number) => `${new Date(seconds * 1000).toISOString().slice(0, 19).replace('T', ' ')} UTC`;

test('with no batch yet, the console says how to get one, and its curl line schedules a session', async () => {
  await open('#/', '.empty-state');
  const text = await page.$eval('.empty-state', (e) => e.textContent ?? '');
  expect(text).toContain('No batch yet.');
  expect(text).toContain('POST /session/use-for-improvement');
  expect(await page.$eval('.empty-state a[href="#/api"]', (a) => a.textContent)).toBe('API reference');
  await screenshot('empty-state');

  const curl = await page.$eval('#schedule-curl', (e) => e.textContent ?? '');
  expect(curl).toContain(api.server.url);
  const { stdout } = await promisify(execFile)('sh', ['-c', curl]);
  const scheduled = JSON.parse(stdout);
  expect(scheduled).toEqual({ session_id: DEMO_SESSION_IDS.ps4, status: 'scheduled', batch_id: '000001', session_number: expect.any(Number) });
  ps4Number = scheduled.session_number;
});

describe('with batches made through the API', () => {
  /** What the API answered while the batches were made. */
  const made = { released: { released_at: 0, release_id: '' }, scheduled: new Map<string, number>() };

  beforeAll(async () => {
    // Batch 000001 (after the empty state's ps4): more demo sessions with clicks, carts and purchases, and the hostile one; released.
    const ids = demoSessionIds().filter((id) => id !== DEMO_SESSION_IDS.ps4);
    const first = [DEMO_SESSION_IDS.iphoneHeadphones, DEMO_SESSION_IDS.soundbar, hostileSession.session_id, ...ids.slice(0, 60)];
    made.scheduled.set('000001', 1);
    for (const id of first) {
      const answer = await api.schedule(id);
      if (answer.body.status === 'scheduled') made.scheduled.set('000001', made.scheduled.get('000001')! + 1);
    }
    const release = await api.release('console-test-release-1');
    expect(release.body).toMatchObject({ batch_id: '000001' });
    made.released = release.body;
    // Batch 000002: a few more, still collecting.
    made.scheduled.set('000002', 0);
    for (const id of ids.slice(60, 90)) {
      const answer = await api.schedule(id);
      if (answer.body.status === 'scheduled') {
        expect(answer.body.batch_id).toBe('000002');
        made.scheduled.set('000002', made.scheduled.get('000002')! + 1);
      }
    }
    // Enough sessions for two pages of ten in the first batch, and some in the second.
    expect(made.scheduled.get('000001')).toBeGreaterThan(10);
    expect(made.scheduled.get('000002')).toBeGreaterThan(0);
  });

  test('the batch list shows each batch’s id, state, number of sessions and release time', async () => {
    await open('#/', '#batches tbody tr');
    const rows = await page.$$eval('#batches tbody tr', (trs) =>
      trs.map((tr) => ({
        id: tr.querySelector('.batch-id')?.textContent,
        state: tr.querySelector('.state')?.textContent,
        sessions: tr.querySelector('.sessions')?.textContent,
        releasedAt: tr.querySelector('.released-at')?.textContent,
        releaseId: tr.querySelector('.release-id')?.textContent,
      })),
    );
    const [second, first] = [await readBatch('000002'), await readBatch('000001')];
    // The counts the page API gives agree with what scheduling answered.
    expect(first.sessions).toHaveLength(made.scheduled.get('000001')!);
    expect(second.sessions).toHaveLength(made.scheduled.get('000002')!);
    expect(rows).toEqual([
      { id: '000002', state: second.state, sessions: String(second.sessions.length), releasedAt: '—', releaseId: '—' },
      {
        id: '000001',
        state: first.state,
        sessions: String(first.sessions.length),
        releasedAt: utc(made.released.released_at),
        releaseId: 'console-test-release-1',
      },
    ]);
    expect([first.state, second.state]).toEqual(['released', 'collecting']);
    await screenshot('batches');
  });

  test('a session shows its query, its ranked results with the clicked, carted and purchased ones marked, its events in time order and is_irrelevant', async () => {
    await open('#/', '#batches tbody tr');
    await Promise.all([page.waitForSelector('#sessions article.session'), page.click('#batches tr[data-batch-id="000001"] .batch-id a')]);
    await page.waitForSelector('[aria-busy]', { hidden: true });
    expect(new URL(page.url()).hash).toBe('#/batch/000001');

    const ps4 = await sessionOnPage(DEMO_SESSION_IDS.ps4);
    expect(ps4.query).toBe('ps4');
    expect(ps4.isIrrelevant).toBe('false');
    // The README's example: ps4's one click is on B08GPZW3FB, the third result shown.
    expect(ps4.results.filter((r) => r.marks !== '')).toEqual([
      { position: '3', objectId: 'B08GPZW3FB', marks: 'click', labels: ['clicked'], classes: 'result clicked' },
    ]);
    // And the mark is there to see: the label drawn, the row set apart from an unmarked one.
    const look = await page.$eval(`article.session[data-session-id="${DEMO_SESSION_IDS.ps4}"]`, (article) => {
      const style = (element: typeof article) => article.ownerDocument.defaultView!.getComputedStyle(element);
      const label = article.querySelector('li.result[data-position="3"] .mark');
      const box = label?.getBoundingClientRect();
      const background = (position: number) => style(article.querySelector(`li.result[data-position="${position}"]`)!).backgroundColor;
      return { labelShown: !!box && box.width > 0 && box.height > 0 && style(label!).visibility === 'visible', marked: background(3), unmarked: background(2) };
    });
    expect(look.labelShown).toBe(true);
    expect(look.marked).not.toBe(look.unmarked);
    await (await page.$(`article.session[data-session-id="${DEMO_SESSION_IDS.ps4}"]`))!.screenshot({ path: resolve(ARTIFACTS, 'session-ps4.png') });

    // Every session of the page against the page API: marks per result, events in time order.
    const apiPage = await api.page({ batch_id: '000001', limit: 10, events_limit: 1000 });
    const sessions = apiPage.body.sessions as PagedSession[];
    expect(await page.$$eval('article.session', (articles) => articles.map((a) => a.getAttribute('data-session-id')))).toEqual(
      sessions.map((s) => s.session_id),
    );
    let carted = 0;
    for (const session of sessions) {
      const shown = await sessionOnPage(session.session_id);
      expect(shown.number).toBe(`#${session.session_number}`);
      expect(shown.isIrrelevant).toBe(String(session.is_irrelevant));
      expect(shown.results.map((r) => r.objectId)).toEqual(session.search_results.map((r) => r.object_id));
      expect(shown.results.map((r) => r.marks)).toEqual(
        session.search_results.map((result) =>
          ['click', 'add_to_cart', 'purchase'].filter((type) => session.events.some((e) => e.event_type === type && e.object_id === result.object_id)).join(' '),
        ),
      );
      carted += shown.results.filter((r) => r.marks.includes('add_to_cart')).length;
      const times = [...session.events].map((e) => e.created_at).sort((a, b) => a - b);
      expect(shown.eventTimes).toEqual(times.map(String));
      expect(shown.eventTypes.slice().sort()).toEqual(session.events.map((e) => e.event_type).sort());
    }
    // The soundbar session is on this page: its add-to-carts are marked too.
    expect(carted).toBeGreaterThan(0);
    await screenshot('batch-000001');
  });

  test('what the data holds is shown as text, never run as markup', async () => {
    await open('#/batch/000001', '#sessions article.session');
    const hostile = await sessionOnPage(hostileSession.session_id);
    expect(hostile.query).toBe(HOSTILE_QUERY);
    expect(hostile.isIrrelevant).toBe('true');
    expect(hostile.badges).toContain('marked irrelevant');
    expect(hostile.results.map((r) => r.objectId)).toEqual(['plain-1', HOSTILE_OBJECT]);
    expect(hostile.results[1]!.marks).toBe('click');
    expect(await page.$$eval('#view img, #view script, #view b', (found) => found.length)).toBe(0);
    expect(await page.evaluate(() => (globalThis as { __injected?: boolean }).__injected)).toBeUndefined();
  });

  test.each(['000001', '000002'])('batch %s: the chart and the table beside it give the click-through rate by position the page API gives', async (batchId) => {
    await open(`#/batch/${batchId}`, '#ctr');
    const { sessions } = await readBatch(batchId);
    const expected = expectedClickThrough(sessions);
    // A figure that could be wrong: several positions, not all with the same rate.
    expect(expected.length).toBeGreaterThanOrEqual(3);
    expect(new Set(expected.map((p) => p.clicked)).size).toBeGreaterThan(1);

    expect(await page.$eval('#ctr-sessions', (e) => e.getAttribute('data-sessions'))).toBe(String(sessions.length));
    const table = await page.$$eval('#ctr-table tbody tr', (trs) =>
      trs.map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent)),
    );
    expect(table).toEqual(expected.map((p) => [String(p.position), String(p.clicked), `${p.percent.toFixed(1)}%`]));

    const chart = await page.evaluate(() => {
      const Chart = (globalThis as unknown as { Chart: typeof import('chart.js').Chart }).Chart;
      const drawn = Chart.getChart('ctr-chart');
      return drawn && { type: (drawn.config as { type?: string }).type, labels: drawn.data.labels, data: drawn.data.datasets[0]?.data };
    });
    expect(chart?.type).toBe('bar');
    expect(chart?.labels).toEqual(expected.map((p) => String(p.position)));
    // The drawn values are percentages computed in the page: compared to 9 decimals.
    const rounded = (values: readonly unknown[] | undefined) => values?.map((value) => Number((value as number).toFixed(9)));
    expect(rounded(chart?.data)).toEqual(rounded(expected.map((p) => p.percent)));
    await (await page.$('#ctr'))!.screenshot({ path: resolve(ARTIFACTS, `ctr-${batchId}.png`) });
  });

  test('sessions are paged by last_number, as the page API pages them', async () => {
    await open('#/batch/000001', '#sessions article.session');
    let after = 0;
    for (let pageNumber = 1; ; pageNumber++) {
      const apiPage = await api.page({ batch_id: '000001', after_number: after, limit: 10, events_limit: 0 });
      const shown = await page.$$eval('#sessions article.session', (articles) => articles.map((a) => a.getAttribute('data-session-number')));
      expect(shown).toEqual(apiPage.body.sessions.map((s: PagedSession) => String(s.session_number)));
      const following = await api.page({ batch_id: '000001', after_number: apiPage.body.last_number, limit: 1, events_limit: 0 });
      const next = await page.$('#sessions .pager a.next');
      if (following.body.sessions.length === 0) {
        expect(next).toBeNull();
        expect(pageNumber).toBeGreaterThan(1);
        return;
      }
      expect(await next!.evaluate((a) => a.getAttribute('href'))).toBe(`#/batch/000001/after/${apiPage.body.last_number}`);
      after = apiPage.body.last_number;
      await next!.click();
      await page.waitForSelector(`#sessions[data-after-number="${after}"]:not([aria-busy])`);
    }
  });

  test('session numbers up to 2^53 are shown and paged with every digit', async () => {
    const big = Number.MAX_SAFE_INTEGER; // 2^53 - 1, the highest after_number the API takes
    const fakeSession = (n: number) => ({
      ...hostileSession,
      session_id: `big-${n}`,
      search_query: 'big numbers',
      batch_id: '000001',
      session_number: n,
      events: [],
    });
    // The store cannot hold such numbers yet: this test answers those two pages itself.
    const answers = new Map([
      [`after_number=${big - 10}&limit=10`, { batch_id: '000001', state: 'released', last_number: big - 1, sessions: [fakeSession(big - 2), fakeSession(big - 1)] }],
      [`after_number=${big - 1}&limit=1`, { batch_id: '000001', state: 'released', last_number: big, sessions: [fakeSession(big)] }],
    ]);
    await page.setRequestInterception(true);
    const answer = (request: import('puppeteer-core').HTTPRequest) => {
      const url = new URL(request.url());
      const key = `after_number=${url.searchParams.get('after_number')}&limit=${url.searchParams.get('limit')}`;
      const fake = url.pathname === '/batch/sessions' ? answers.get(key) : undefined;
      void (fake ? request.respond({ status: 200, contentType: 'application/json', body: JSON.stringify(fake) }) : request.continue());
    };
    page.on('request', answer);
    try {
      await open(`#/batch/000001/after/${big - 10}`, '#sessions article.session');
      expect(await page.$$eval('#sessions .session-number', (spans) => spans.map((s) => s.textContent))).toEqual(['#9007199254740989', '#9007199254740990']);
      expect(await page.$eval('#sessions .pager a.next', (a) => a.getAttribute('href'))).toBe('#/batch/000001/after/9007199254740990');
    } finally {
      page.off('request', answer);
      await page.setRequestInterception(false);
    }
  });
});

test('the API reference, rendered from /openapi.json, sends the three requests', async () => {
  await open('#/api', '#operations-default-scheduleSession');
  await screenshot('api-reference');
  const sessionId = DEMO_SESSION_IDS.portableCharger;

  const schedule = await tryItOut('scheduleSession', { body: JSON.stringify({ session_id: DEMO_SESSION_IDS.ps4 }) });
  expect(schedule).toEqual({ status: '200', body: { session_id: DEMO_SESSION_IDS.ps4, status: 'already_scheduled', batch_id: '000001', session_number: ps4Number } });
  // The request and its answer, as the reader sees them (the whole page is several screens of reference).
  await page.$eval('#operations-default-scheduleSession .body-param', (e) => e.scrollIntoView({ block: 'start' }));
  await page.screenshot({ path: resolve(ARTIFACTS, 'api-reference-try-it-out.png') });
  expect((await tryItOut('scheduleSession', { body: JSON.stringify({ session_id: sessionId }) })).body).toEqual({
    session_id: sessionId,
    status: 'skipped',
    reason: 'no_events',
  });

  const paged = await tryItOut('getBatchPage', { parameters: { batch_id: '000001', limit: '1' } });
  expect(paged.status).toBe('200');
  expect(paged.body).toMatchObject({ batch_id: '000001', state: 'released', last_number: ps4Number, sessions: [{ session_id: DEMO_SESSION_IDS.ps4 }] });

  const released = await tryItOut('releaseBatch', { body: JSON.stringify({ release_id: 'console-test-release-2' }) });
  expect(released).toEqual({ status: '200', body: expect.objectContaining({ release_id: 'console-test-release-2', batch_id: '000002' }) });
  // The release happened: the API answers the same release id with the same body.
  expect((await api.release('console-test-release-2')).body).toEqual(released.body);
});

test('the console sends no request beyond its own server, and nothing failed in the page', () => {
  expect(requested.length).toBeGreaterThan(0);
  expect(requested.filter((url) => !url.startsWith(`${api.server.url}/`) && !url.startsWith('data:'))).toEqual([]);
  expect(pageProblems).toEqual([]);
});

/** What the console shows of one session of the current page. */
async function sessionOnPage(sessionId: string) {
  return page.$eval(`article.session[data-session-id="${sessionId}"]`, (article) => ({
    number: article.querySelector('.session-number')?.textContent,
    query: article.querySelector('.query')?.textContent,
    isIrrelevant: article.querySelector('.is-irrelevant dd')?.textContent,
    badges: [...article.querySelectorAll('header .badge')].map((b) => b.textContent),
    results: [...article.querySelectorAll('li.result')].map((li) => ({
      position: li.getAttribute('data-position'),
      objectId: li.querySelector('.object-id')?.textContent,
      marks: li.getAttribute('data-marks'),
      labels: [...li.querySelectorAll('.mark')].map((m) => m.textContent),
      classes: li.getAttribute('class'),
    })),
    eventTimes: [...article.querySelectorAll('tr.event')].map((tr) => tr.getAttribute('data-created-at')),
    eventTypes: [...article.querySelectorAll('tr.event .event-type')].map((td) => td.textContent),
  }));
}

/**
 * Sets a field as typing into it would, in one step (typing a key at a time
 * into Swagger UI's fields takes seconds): the value through the element's own
 * setter, the input event React listens for, then leaving the field, which
 * makes Swagger UI's debounced inputs take the value at once.
 */
async function setField(selector: string, value: string): Promise<void> {
  const field = (await page.waitForSelector(selector))!;
  await field.evaluate((element, text) => {
    // The setter of the element's own class (textarea or input): React wraps the instance's.
    const field = element as unknown as { focus(): void; blur(): void; dispatchEvent(event: Event): boolean };
    field.focus();
    Object.getOwnPropertyDescriptor(Object.getPrototypeOf(element), 'value')!.set!.call(element, text);
    field.dispatchEvent(new Event('input', { bubbles: true }));
    field.blur();
  }, value);
}

/**
 * Sends one request from Swagger UI as a reader would: open the operation,
 * "Try it out", fill in the body or the parameters, "Execute"; returns the
 * status and body Swagger UI shows.
 */
async function tryItOut(operationId: string, input: { body?: string; parameters?: Record<string, string> }) {
  const operation = `#operations-default-${operationId}`;
  if (!(await page.$(`${operation}.is-open`))) await page.click(`${operation} .opblock-summary-control`);
  const tryOut = await page.waitForSelector(`${operation} .try-out__btn`);
  // The same button says "Cancel" once the operation is in try-out mode.
  if (!(await tryOut!.evaluate((b) => b.classList.contains('cancel')))) await tryOut!.click();
  if (input.body !== undefined) {
    await setField(`${operation} textarea.body-param__text`, input.body);
  }
  for (const [name, value] of Object.entries(input.parameters ?? {})) {
    await setField(`${operation} tr[data-param-name="${name}"] input`, value);
  }
  // The previous answer, if any, is cleared first so the one read below is this request's.
  const clear = await page.$(`${operation} .btn-clear`);
  if (clear) await clear.click();
  await page.click(`${operation} .execute`);
  const answer = `${operation} .live-responses-table tbody tr.response`;
  const status = await page.waitForSelector(`${answer} .response-col_status`);
  const body = await page.$eval(`${answer} .response-col_description .highlight-code pre`, (pre) => pre.textContent ?? '');
  return { status: (await status!.evaluate((td) => td.textContent ?? '')).trim(), body: JSON.parse(body) as unknown };
}
