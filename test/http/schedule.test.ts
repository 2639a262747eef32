/**
 * POST /session/use-for-improvement through the local server: every row of
 * the README's table, and every malformed request it names (400 / 415).
 */
import { gzipSync } from 'node:zlib';
import { seedSession, uniqueId } from '../support/handlers';
import { errorCode, startTestApi, type TestApi } from '../support/local-api';

let api: TestApi;
beforeAll(async () => {
  api = await startTestApi();
});
afterAll(() => api.server.close());

const PATH = '/session/use-for-improvement';
const json = { 'content-type': 'application/json' };

describe('answers', () => {
  test('unknown session → 404 session_not_found', async () => {
    const answer = await api.schedule(uniqueId('unknown'));
    expect(answer.status).toBe(404);
    expect(errorCode(answer)).toBe('session_not_found');
  });

  test('payload search → 200 skipped payload_search, even with events', async () => {
    const id = await seedSession({ is_payload_search: true }, 2);
    const answer = await api.schedule(id);
    expect(answer.status).toBe(200);
    expect(answer.body).toEqual({ session_id: id, status: 'skipped', reason: 'payload_search' });
  });

  test('no events and not irrelevant → 200 skipped no_events', async () => {
    const id = await seedSession({}, 0);
    const answer = await api.schedule(id);
    expect(answer.status).toBe(200);
    expect(answer.body).toEqual({ session_id: id, status: 'skipped', reason: 'no_events' });
  });

  test('irrelevant without events → scheduled (a negative example)', async () => {
    const id = await seedSession({ is_irrelevant: true }, 0);
    const answer = await api.schedule(id);
    expect(answer.status).toBe(200);
    expect(answer.body).toEqual({
      session_id: id,
      status: 'scheduled',
      batch_id: expect.stringMatching(/^\d{6}$/),
      session_number: expect.any(Number),
    });
  });

  test('eligible, first time → scheduled; again → already_scheduled with the same batch and number', async () => {
    const id = await seedSession({}, 1);
    const first = await api.schedule(id);
    expect(first.status).toBe(200);
    expect(first.body).toEqual({
      session_id: id,
      status: 'scheduled',
      batch_id: expect.stringMatching(/^\d{6}$/),
      session_number: expect.any(Number),
    });
    const again = await api.schedule(id);
    expect(again.status).toBe(200);
    expect(again.body).toEqual({ ...first.body, status: 'already_scheduled' });
  });

  test('already scheduled in a released batch → already_scheduled in that batch; new sessions go to the next one', async () => {
    const id = await seedSession({}, 1);
    const first = await api.schedule(id);
    const released = await api.release(uniqueId('r'));
    expect(released.status).toBe(200);
    expect(released.body.batch_id).toBe(first.body.batch_id);

    const again = await api.schedule(id);
    expect(again.status).toBe(200);
    expect(again.body).toEqual({ ...first.body, status: 'already_scheduled' });

    const next = await api.schedule(await seedSession({}, 1));
    expect(next.body.status).toBe('scheduled');
    expect(Number(next.body.batch_id)).toBe(Number(first.body.batch_id) + 1);
  });

  test('a JSON content type with parameters or a +json suffix is JSON', async () => {
    const id = await seedSession({}, 1);
    for (const contentType of ['application/json; charset=utf-8', 'application/vnd.api+json']) {
      const answer = await api.request(PATH, {
        method: 'POST',
        headers: { 'content-type': contentType },
        body: JSON.stringify({ session_id: id }),
      });
      expect(answer.status).toBe(200);
    }
  });
});

describe('what counts as a JSON body', () => {
  const post = (body: string | Buffer, headers: Record<string, string>, path = PATH) =>
    api.request(path, { method: 'POST', headers, body });

  test.each([
    ['Application/Json'],
    ['application/JSON'],
    ['APPLICATION/JSON; CHARSET=UTF-8'],
    ['application/json ; charset=utf-8'],
    ['application/json;charset=UTF-8'],
    ['application/json; charset="utf-8"'],
    ['application/json\t;\tcharset=utf-8'],
    ['application/vnd.api+JSON'],
  ])('media types are case-insensitive, with optional whitespace around ";": %p is JSON', async (contentType) => {
    const id = await seedSession({}, 1);
    const answer = await post(JSON.stringify({ session_id: id }), { 'content-type': contentType });
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({ session_id: id, status: 'scheduled' });
  });

  test.each([['utf-16'], ['UTF-16LE'], ['latin1'], ['iso-8859-1'], ['us-ascii'], ['utf8'], ['']])(
    'a charset other than UTF-8 (%p) → 415, and nothing changes',
    async (charset) => {
      const id = await seedSession({}, 1);
      const answer = await post(JSON.stringify({ session_id: id }), { 'content-type': `application/json; charset=${charset}` });
      expect(answer.status).toBe(415);
      expect(errorCode(answer)).toBe('unsupported_media_type');
      expect(answer.body.error.message).toMatch(/UTF-8/);
      expect((await api.schedule(id)).body.status).toBe('scheduled');
    },
  );

  test.each([['gzip'], ['deflate'], ['br'], ['GZIP'], ['identity, gzip']])(
    'a content-encoding the service does not decode (%p) → 415, and nothing changes',
    async (encoding) => {
      const id = await seedSession({}, 1);
      const answer = await post(gzipSync(JSON.stringify({ session_id: id })), { ...json, 'content-encoding': encoding });
      expect(answer.status).toBe(415);
      expect(errorCode(answer)).toBe('unsupported_media_type');
      expect(answer.body.error.message).toMatch(/content-encoding/);
      expect((await api.schedule(id)).body.status).toBe('scheduled');
    },
  );

  test.each([['identity'], ['Identity']])('content-encoding %p is no encoding at all', async (encoding) => {
    const id = await seedSession({}, 1);
    const answer = await post(JSON.stringify({ session_id: id }), { ...json, 'content-encoding': encoding });
    expect(answer.body).toMatchObject({ session_id: id, status: 'scheduled' });
  });

  test('a UTF-8 byte-order mark before the JSON is ignored (RFC 8259 allows a parser to)', async () => {
    const id = await seedSession({}, 1);
    const answer = await post(`\uFEFF${JSON.stringify({ session_id: id })}`, json);
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({ session_id: id, status: 'scheduled' });
  });

  test('a key given twice → 400 naming the key, whichever value a reader would take; nothing changes', async () => {
    const [first, second] = [await seedSession({}, 1), await seedSession({}, 1)];
    for (const body of [`{"session_id":"${first}","session_id":"${second}"}`, `{"session_id":"${first}","\u0073ession_id":"${first}"}`]) {
      const answer = await post(body, json);
      expect(answer.status).toBe(400);
      expect(errorCode(answer)).toBe('invalid_request');
      expect(answer.body.error.message).toMatch(/"session_id".*twice/);
    }
    expect((await api.schedule(first)).body.status).toBe('scheduled');
    expect((await api.schedule(second)).body.status).toBe('scheduled');
  });

  test.each([['?dry_run=1', /"dry_run"/], ['?session_id=x', /"session_id"/], ['?&', /query string/]])(
    'a POST with a query string (%p) → 400 like an unknown GET parameter, and nothing changes',
    async (query, mentions) => {
      const id = await seedSession({}, 1);
      const answer = await post(JSON.stringify({ session_id: id }), json, `${PATH}${query}`);
      expect(answer.status).toBe(400);
      expect(errorCode(answer)).toBe('invalid_request');
      expect(answer.body.error.message).toMatch(mentions);
      expect((await api.schedule(id)).body.status).toBe('scheduled');
    },
  );

  test('a bare "?" is no query string (API Gateway\'s rawQueryString is empty for it too)', async () => {
    const id = await seedSession({}, 1);
    const answer = await post(JSON.stringify({ session_id: id }), json, `${PATH}?`);
    expect(answer.body).toMatchObject({ session_id: id, status: 'scheduled' });
  });

  test('messages name fields exactly as sent, never capitalised', async () => {
    const missing = await post('{}', json);
    expect(missing.body.error.message).toBe('session_id is required.');
    const wrong = await post('{"session_id": 5}', json);
    expect(wrong.body.error.message).toBe('session_id must be a string.');
    // A sentence that does not start with a field still starts with a capital.
    const unknown = await post('{"session_id": "a", "extra": 1}', json);
    expect(unknown.body.error.message).toBe('Unknown field "extra".');
  });
});

describe('malformed requests → 400 invalid_request, and nothing changes', () => {
  const post = (body: string | undefined, contentType: string | undefined = 'application/json') =>
    api.request(PATH, { method: 'POST', headers: contentType ? { 'content-type': contentType } : {}, body });

  test.each([
    ['missing session_id', '{}'],
    ['session_id not a string', '{"session_id": 42}'],
    ['session_id null', '{"session_id": null}'],
    ['empty session_id', '{"session_id": ""}'],
    ['session_id with a space', '{"session_id": "a b"}'],
    ['session_id with a slash', '{"session_id": "a/b"}'],
    ['session_id of 129 characters', JSON.stringify({ session_id: 'x'.repeat(129) })],
    ['a JSON array', '[]'],
    ['a JSON string', '"abc"'],
    ['JSON null', 'null'],
    ['malformed JSON', '{"session_id": '],
    ['an empty body', ''],
  ])('%s', async (_name, body) => {
    const answer = await post(body);
    expect(answer.status).toBe(400);
    expect(errorCode(answer)).toBe('invalid_request');
  });

  test('missing body', async () => {
    const answer = await post(undefined);
    expect(answer.status).toBe(400);
    expect(errorCode(answer)).toBe('invalid_request');
  });

  test('an unknown field is rejected and the session stays unscheduled', async () => {
    const id = await seedSession({}, 1);
    const answer = await post(JSON.stringify({ session_id: id, priority: 'high' }));
    expect(answer.status).toBe(400);
    expect(errorCode(answer)).toBe('invalid_request');
    expect(answer.body.error.message).toMatch(/priority/);
    expect((await api.schedule(id)).body.status).toBe('scheduled');
  });

  test('a session_id of 128 allowed characters is well-formed (→ 404, not 400)', async () => {
    const answer = await api.schedule(`A-z0.9_:@${uniqueId()}`.padEnd(128, 'x'));
    expect(answer.status).toBe(404);
  });
});

describe('bodies that are not JSON by content type → 415 unsupported_media_type', () => {
  test.each([['text/plain'], ['application/x-www-form-urlencoded'], ['multipart/form-data; boundary=x']])(
    '%s',
    async (contentType) => {
      const id = await seedSession({}, 1);
      const answer = await api.request(PATH, {
        method: 'POST',
        headers: { 'content-type': contentType },
        body: JSON.stringify({ session_id: id }),
      });
      expect(answer.status).toBe(415);
      expect(errorCode(answer)).toBe('unsupported_media_type');
      expect((await api.schedule(id)).body.status).toBe('scheduled');
    },
  );

  test('no content type at all', async () => {
    const answer = await api.request(PATH, { method: 'POST', body: Buffer.from('{"session_id":"x"}') });
    expect(answer.status).toBe(415);
    expect(errorCode(answer)).toBe('unsupported_media_type');
  });
});
