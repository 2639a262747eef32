/**
 * POST /batch/release through the local server, on a table of its own so
 * that "nothing is collecting" is a known state.
 */
import { seedSession, uniqueId } from '../support/handlers';
import { errorCode, startTestApi, type TestApi } from '../support/local-api';

let api: TestApi;
beforeAll(async () => {
  api = await startTestApi();
});
afterAll(() => api.server.close());

const PATH = '/batch/release';

test('nothing ever scheduled → 404 no_collecting_batch', async () => {
  const answer = await api.release(uniqueId('r'));
  expect(answer.status).toBe(404);
  expect(errorCode(answer)).toBe('no_collecting_batch');
});

test('releases the collecting batch; the same release_id answers identically forever, even after later batches', async () => {
  const session = await seedSession({}, 1);
  const { batch_id } = (await api.schedule(session)).body;
  const releaseId = uniqueId('r');
  const before = Math.floor(Date.now() / 1000);

  const first = await api.release(releaseId);
  expect(first.status).toBe(200);
  expect(first.body).toMatchObject({ release_id: releaseId, batch_id, released_at: expect.any(Number) });
  expect(Number.isInteger(first.body.released_at)).toBe(true);
  expect(first.body.released_at).toBeGreaterThanOrEqual(before);
  expect(first.body.released_at).toBeLessThanOrEqual(Math.ceil(Date.now() / 1000));

  // Released, and nothing scheduled since: nothing is collecting.
  const nothing = await api.release(uniqueId('r'));
  expect(nothing.status).toBe(404);
  expect(errorCode(nothing)).toBe('no_collecting_batch');

  expect(await api.release(releaseId)).toMatchObject({ status: 200, body: first.body });

  // A later batch, released under another id, does not change the first answer.
  const later = await api.schedule(await seedSession({}, 1));
  expect(later.body.batch_id).not.toBe(batch_id);
  const second = await api.release(uniqueId('r'));
  expect(second.status).toBe(200);
  expect(second.body.batch_id).toBe(later.body.batch_id);
  const again = await api.release(releaseId);
  expect(again.status).toBe(200);
  expect(again.body).toEqual(first.body);
});

describe('malformed requests → 400 invalid_request, and nothing is released', () => {
  const post = (body: string | undefined, contentType = 'application/json') =>
    api.request(PATH, { method: 'POST', headers: { 'content-type': contentType }, body });

  let collecting: string;
  beforeAll(async () => {
    collecting = (await api.schedule(await seedSession({}, 1))).body.batch_id;
  });

  test.each([
    ['missing release_id', '{}'],
    ['release_id not a string', '{"release_id": 7}'],
    ['empty release_id', '{"release_id": ""}'],
    ['release_id with a space', '{"release_id": "a b"}'],
    ['release_id of 129 characters', JSON.stringify({ release_id: 'r'.repeat(129) })],
    ['an unknown field', JSON.stringify({ release_id: 'r-unknown-field', force: true })],
    ['a JSON array', '[]'],
    ['malformed JSON', '{"release_id": "x"'],
    ['an empty body', ''],
    ['no body', undefined],
  ])('%s', async (_name, body) => {
    const answer = await post(body);
    expect(answer.status).toBe(400);
    expect(errorCode(answer)).toBe('invalid_request');
  });

  test('a body that is not JSON by content type → 415', async () => {
    const answer = await post(JSON.stringify({ release_id: uniqueId('r') }), 'text/plain');
    expect(answer.status).toBe(415);
    expect(errorCode(answer)).toBe('unsupported_media_type');
  });

  test.each([
    ['a query string', (id: string) => api.request(`${PATH}?force=true`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ release_id: id }) }), 400],
    ['release_id given twice', (id: string) => post(`{"release_id":"${id}","release_id":"${id}-2"}`), 400],
    ['a UTF-16 charset', (id: string) => post(JSON.stringify({ release_id: id }), 'application/json; charset=utf-16'), 415],
    ['a gzip content-encoding', (id: string) => api.request(PATH, { method: 'POST', headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' }, body: JSON.stringify({ release_id: id }) }), 415],
  ])('%s → %s', async (_name, send, status) => {
    const answer = await send(uniqueId('r'));
    expect(answer.status).toBe(status);
    expect(errorCode(answer)).toBe(status === 400 ? 'invalid_request' : 'unsupported_media_type');
  });

  test('after all of them, the batch is still collecting', async () => {
    const answer = await api.release(uniqueId('r'));
    expect(answer.status).toBe(200);
    expect(answer.body.batch_id).toBe(collecting);
  });
});
