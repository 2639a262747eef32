/**
 * GET /batch/sessions never answers more than 5 MB of JSON (Lambda's limit is
 * 6 MB): with big sessions the page ends early, and last_number still walks
 * the whole batch. Through the local server, so the size is the real body.
 */
import { makeEvent, makeSession, writer } from '../support/handlers';
import { startTestApi, type TestApi } from '../support/local-api';

const FIVE_MB = 5 * 1024 * 1024;
const SESSIONS = 16;
/** 16 sessions with a 350 KB event each: about 5.6 MB, more than one page. */
const EVENT_META_BYTES = 350 * 1024;

let api: TestApi;
const ids: string[] = [];
beforeAll(async () => {
  api = await startTestApi();
  for (let i = 0; i < SESSIONS; i++) {
    const session = makeSession();
    await writer().putEvents([makeEvent(session.session_id, { meta: { blob: 'x'.repeat(EVENT_META_BYTES) } })]);
    await writer().upsertSession(session);
    expect((await api.schedule(session.session_id)).body).toMatchObject({ status: 'scheduled', batch_id: '000001' });
    ids.push(session.session_id);
  }
});
afterAll(() => api.server.close());

test('a page of big sessions ends before 5 MB, and walking by last_number still returns every session once', async () => {
  const seen: string[] = [];
  let after = 0;
  let pages = 0;
  for (;;) {
    const response = await fetch(`${api.server.url}/batch/sessions?batch_id=000001&limit=100&after_number=${after}`);
    const text = await response.text();
    expect(response.status).toBe(200);
    expect(Buffer.byteLength(text)).toBeLessThanOrEqual(FIVE_MB);
    const page = JSON.parse(text);
    if (page.sessions.length === 0) break;
    pages++;
    seen.push(...page.sessions.map((s: { session_id: string }) => s.session_id));
    after = page.last_number;
  }
  expect(pages).toBeGreaterThan(1);
  expect(seen).toEqual(ids);
});
