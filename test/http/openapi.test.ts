/**
 * The OpenAPI 3.1 document the local server serves at /openapi.json: a valid
 * OpenAPI document, exactly the route table's operations with every status of
 * the README's contract, request schemas that accept and reject what the
 * handlers' valibot schemas do, and a response check (the one local-api runs on
 * every answer of the HTTP tests) that does fail on a wrong answer.
 */
import { Validator } from '@seriousme/openapi-schema-validator';
import { execFile } from 'node:child_process';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import Ajv2020 from 'ajv/dist/2020';
import * as v from 'valibot';
import { ServiceUnavailable } from '../../shared/domain/errors';
import { httpHandler } from '../../shared/http/middleware';
import { buildOpenApiDocument, type OpenApiDocument } from '../../shared/openapi';
import type { LambdaHandler } from '../../infra/local/server';
import { ROUTES } from '../../shared/routes';
import { Event, Session } from '../../shared/data-schemas';
import { BatchPageQuery, ReleaseBatchBody, ScheduleSessionBody } from '../../shared/schemas';
import { contractCheckFor, type HttpExchange } from '../support/openapi-validator';
import { startTestApi, type TestApi } from '../support/local-api';

const ROOT = resolve(__dirname, '..', '..');
let api: TestApi;
let document: OpenApiDocument;
beforeAll(async () => {
  api = await startTestApi();
  const answer = await api.request('/openapi.json');
  expect(answer.status).toBe(200);
  document = answer.body;
});
afterAll(() => api.server.close());

type Operation = { operationId: string; parameters?: Array<{ name: string; required: boolean; schema: object }>; responses: Record<string, object> };
const operationAt = (method: string, path: string) =>
  (document.paths as Record<string, Record<string, Operation>>)[path]?.[method.toLowerCase()] as Operation;

/** Ajv over the whole document, strict, so each schema in it compiles as clean JSON Schema 2020-12. */
function documentAjv() {
  const ajv = new Ajv2020({ strict: true });
  ajv.addVocabulary(Object.keys(document));
  ajv.addSchema(document, 'openapi.json');
  return (pointer: string) => ajv.compile({ $ref: `openapi.json#${pointer}` });
}

/** JSON pointers of every schema in the document: components, request bodies, parameters, responses, headers. */
function schemaPointers(node: unknown, pointer = ''): string[] {
  if (typeof node !== 'object' || node === null) return [];
  return Object.entries(node).flatMap(([key, value]) => {
    const here = `${pointer}/${key.replaceAll('~', '~0').replaceAll('/', '~1')}`;
    if (key === 'schema' || pointer === '/components/schemas') return [here];
    return schemaPointers(value, here);
  });
}

describe('the served document', () => {
  test('is the built document, with this server as its server url', () => {
    expect(document).toEqual(buildOpenApiDocument({ serverUrl: api.server.url }));
    expect(document.servers).toEqual([{ url: api.server.url }]);
  });

  test('is valid OpenAPI 3.1 (the official schema, with every $ref resolving)', async () => {
    expect(document.openapi).toBe('3.1.0');
    const result = await new Validator().validate(document as unknown as Record<string, unknown>);
    expect(result.errors).toBeUndefined();
    expect(result.valid).toBe(true);
  });

  test('each of its schemas compiles with ajv in strict mode, every $ref resolved', () => {
    const compileAt = documentAjv();
    const pointers = schemaPointers(document);
    expect(pointers.length).toBeGreaterThan(30);
    for (const pointer of pointers) expect(() => compileAt(pointer)).not.toThrow();
  });

  test('lists exactly the route table’s operations, each with every status of the contract', () => {
    const operations = Object.entries(document.paths).flatMap(([path, item]) =>
      Object.entries(item as Record<string, Operation>).map(([method, op]) => [
        `${method.toUpperCase()} ${path}`,
        op.operationId,
        Object.keys(op.responses),
      ]),
    );
    expect(operations.map(([route]) => route)).toEqual(ROUTES.map((r) => `${r.method} ${r.path}`));
    expect(operations).toEqual([
      ['POST /session/use-for-improvement', 'scheduleSession', ['200', '400', '404', '413', '415', '500', '503']],
      ['GET /batch/sessions', 'getBatchPage', ['200', '400', '404', '413', '500', '503']],
      ['POST /batch/release', 'releaseBatch', ['200', '400', '404', '413', '415', '500', '503']],
    ]);
  });

  test('documents the page query parameters with the bounds and defaults of BatchPageQuery', () => {
    const parameters = operationAt('GET', '/batch/sessions').parameters;
    expect(parameters?.map((p) => [p.name, p.required, p.schema])).toEqual([
      ['batch_id', true, { $ref: '#/components/schemas/Id' }],
      ['after_number', false, { type: 'integer', minimum: 0, maximum: Number.MAX_SAFE_INTEGER, default: 0 }],
      ['limit', false, { type: 'integer', minimum: 1, maximum: 100, default: 10 }],
      ['events_limit', false, { type: 'integer', minimum: 0, maximum: 1000, default: 100 }],
    ]);
    // The defaults are the numbers the handler uses when a parameter is left out.
    const defaults = v.parse(BatchPageQuery, { batch_id: '000001' });
    for (const p of parameters?.slice(1) ?? []) expect((p.schema as { default: number }).default).toBe(defaults[p.name as keyof typeof defaults]);
  });
});

test('`npm run openapi -- --server-url URL` prints the same document for that URL', async () => {
  const { stdout } = await promisify(execFile)(join(ROOT, 'node_modules', '.bin', 'tsx'), [
    join(ROOT, 'infra', 'cli', 'openapi.ts'),
    '--server-url',
    'https://api.example.com',
  ]);
  expect(JSON.parse(stdout)).toEqual({ ...document, servers: [{ url: 'https://api.example.com' }] });
});

describe('the document and the handlers accept the same input', () => {
  const id128 = 'a'.repeat(128);
  const session = { session_id: 's-1', search_query: 'red shoes', created_at: 1_700_000_000, search_results: [{ object_id: 'o1' }] };
  const event = { event_id: 'e-1', session_id: 's-1', object_id: 'o1', event_type: 'click', created_at: 1_700_000_001 };
  const idSamples = ['abc', 'A.b_c:d@e-9', id128, '', 'a'.repeat(129), 'a b', 'ok\n', 'é', 'a/b'];

  const cases: Array<[string, string, v.GenericSchema, unknown[]]> = [
    ['ScheduleSessionBody', '/components/schemas/ScheduleSessionBody', ScheduleSessionBody, [
      ...idSamples.map((id) => ({ session_id: id })),
      {}, { session_id: 1 }, { session_id: null }, { session_id: 'a', extra: 1 }, [], null, 'abc', 42,
    ]],
    ['ReleaseBatchBody', '/components/schemas/ReleaseBatchBody', ReleaseBatchBody, [
      ...idSamples.map((id) => ({ release_id: id })),
      {}, { session_id: 'a' }, { release_id: ['a'] }, { release_id: 'a', release: 'b' }, [{ release_id: 'a' }],
    ]],
    ['Session', '/components/schemas/Session', Session, [
      session,
      { ...session, search_query: { text: 'shoes' }, search_meta: {}, payload_filter: { a: 1 }, sort_by: { price: 'asc' }, user_id: 'u', is_irrelevant: true, is_payload_search: false },
      { ...session, search_results: [{ object_id: 'o1', rank: 1.5, meta: { x: [1] } }] },
      { ...session, search_query: undefined }, { ...session, session_id: 'a b' }, { ...session, created_at: -1 },
      { ...session, created_at: 1.5 }, { ...session, created_at: 1e12 }, { ...session, created_at: '1' },
      { ...session, search_results: {} }, { ...session, search_results: [{ object_id: '' }] },
      { ...session, search_results: [{ object_id: 'o', meta: [] }] }, { ...session, search_results: [{ object_id: 'o', rank: '1' }] },
      { ...session, search_results: [{ object_id: 'o', extra: 1 }] }, { ...session, search_meta: [] }, { ...session, search_meta: null },
      { ...session, sort_by: 'price' }, { ...session, user_id: 7 }, { ...session, is_irrelevant: 'yes' }, { ...session, batch_id: '000001' },
    ]],
    ['Event', '/components/schemas/Event', Event, [
      event, { ...event, meta: { position: 3 } }, { ...event, event_id: '' }, { ...event, object_id: '' }, { ...event, event_type: '' },
      { ...event, meta: ['x'] }, { ...event, created_at: 1.5 }, { ...event, extra: true }, { ...event, session_id: undefined },
    ]],
  ];

  test.each(cases)('%s: the document’s schema and valibot agree on every sample', (_name, pointer, schema, samples) => {
    const validate = documentAjv()(pointer);
    // undefined is no JSON value: a field set to it is a field left out.
    const disagreements = samples
      .map((sample) => JSON.parse(JSON.stringify(sample)) as unknown)
      .filter((sample) => v.safeParse(schema, sample).success !== validate(sample))
      .map((sample) => JSON.stringify(sample));
    expect(disagreements).toEqual([]);
    // Both verdicts occur, or the comparison proves nothing.
    expect(new Set(samples.map((s) => validate(JSON.parse(JSON.stringify(s)))))).toEqual(new Set([true, false]));
  });

  test('request bodies point at those schemas', () => {
    const bodySchema = (method: string, path: string) =>
      (operationAt(method, path) as unknown as { requestBody: { content: Record<string, { schema: unknown }> } }).requestBody.content['application/json']?.schema;
    expect(bodySchema('POST', '/session/use-for-improvement')).toEqual({ $ref: '#/components/schemas/ScheduleSessionBody' });
    expect(bodySchema('POST', '/batch/release')).toEqual({ $ref: '#/components/schemas/ReleaseBatchBody' });
  });

  test('query parameters: the documented bounds match what the handler accepts', () => {
    const compileAt = documentAjv();
    const parameters = operationAt('GET', '/batch/sessions').parameters ?? [];
    const numerals = ['0', '1', '9', '10', '99', '100', '101', '999', '1000', '1001', String(Number.MAX_SAFE_INTEGER)];
    const disagreements = parameters.slice(1).flatMap(({ name }, i) => {
      const validate = compileAt(`/paths/~1batch~1sessions/get/parameters/${i + 1}/schema`);
      return numerals
        .filter((text) => v.safeParse(BatchPageQuery, { batch_id: '000001', [name]: text }).success !== validate(Number(text)))
        .map((text) => `${name}=${text}`);
    });
    expect(disagreements).toEqual([]);
  });
});

describe('the response check fails a wrong answer', () => {
  const retryAfter = new Headers({ 'retry-after': '1' });
  const exchange = (overrides: Partial<HttpExchange>): HttpExchange => ({
    method: 'POST',
    path: '/session/use-for-improvement',
    status: 200,
    headers: new Headers(),
    body: { session_id: 's-1', status: 'scheduled', batch_id: '000001', session_number: 1 },
    ...overrides,
  });
  const pageSession = {
    session_id: 's-1', search_query: 'q', created_at: 1_700_000_000, search_results: [], is_irrelevant: false, is_payload_search: false,
    batch_id: '000001', session_number: 1, events: [],
  };
  const page = (session: object) => ({ batch_id: '000001', state: 'released', last_number: 1, sessions: [session] });
  const error = (code: string) => ({ error: { code, message: 'Something.' } });

  test.each<[string, Partial<HttpExchange>]>([
    ['a scheduled answer', {}],
    ['a skipped answer', { body: { session_id: 's-1', status: 'skipped', reason: 'no_events' } }],
    ['a page', { method: 'GET', path: '/batch/sessions', body: page(pageSession) }],
    ['an empty page past the end', { method: 'GET', path: '/batch/sessions', body: { batch_id: '000001', state: 'collecting', last_number: null, sessions: [] } }],
    ['a 404 session_not_found', { status: 404, body: error('session_not_found') }],
    ['a 503 with Retry-After', { status: 503, headers: retryAfter, body: error('service_unavailable') }],
    ['a release with its session count', { path: '/batch/release', body: { release_id: 'r', batch_id: '000001', released_at: 1_700_000_000, last_session_number: 3 } }],
    ['an unknown route’s 404', { method: 'GET', path: '/nope', status: 404, body: error('route_not_found') }],
  ])('passes %s (the control)', (_name, overrides) => {
    expect(contractCheckFor(document)(exchange(overrides))).toEqual([]);
  });

  test.each<[string, Partial<HttpExchange>, RegExp]>([
    ['a schedule answer with status "done"', { body: { session_id: 's-1', status: 'done', batch_id: '000001', session_number: 1 } }, /breaks/],
    ['a skipped answer that also has a batch', { body: { session_id: 's-1', status: 'skipped', reason: 'no_events', batch_id: '000001' } }, /breaks/],
    ['a page session with an extra field', { method: 'GET', path: '/batch/sessions', body: page({ ...pageSession, assignment: {} }) }, /breaks/],
    ['a page session without its events', { method: 'GET', path: '/batch/sessions', body: page({ ...pageSession, events: undefined }) }, /breaks/],
    ['a page with a string last_number', { method: 'GET', path: '/batch/sessions', body: { ...page(pageSession), last_number: '1' } }, /breaks/],
    ['a page with a state the contract does not know', { method: 'GET', path: '/batch/sessions', body: { ...page(pageSession), state: 'open' } }, /breaks/],
    ['a release without released_at', { path: '/batch/release', body: { release_id: 'r', batch_id: '000001', last_session_number: 3 } }, /breaks/],
    ['a 404 with another operation’s code', { status: 404, body: error('batch_not_found') }, /breaks/],
    ['a 400 with a stack in the error', { status: 400, body: { error: { code: 'invalid_request', message: 'x', stack: 'at x' } } }, /breaks/],
    ['a status the operation does not document', { status: 409, body: error('conflict') }, /status 409 is not documented for scheduleSession/],
    ['a 415 on the page, which takes no body', { method: 'GET', path: '/batch/sessions', status: 415, body: error('unsupported_media_type') }, /not documented/],
    ['a 503 without Retry-After', { status: 503, body: error('service_unavailable') }, /header Retry-After is missing/],
    ['an unknown route answering without the error shape', { method: 'GET', path: '/nope', status: 404, body: { message: 'Not Found' } }, /breaks/],
  ])('rejects %s', (_name, overrides, problem) => {
    const problems = contractCheckFor(document)(exchange(overrides));
    expect(problems).toEqual([expect.stringMatching(problem)]);
  });
});

describe('failure answers through the local server keep the contract', () => {
  // The real middy stack and error mapping around a failing domain call; local-api checks each answer.
  let failing: TestApi;
  beforeAll(async () => {
    failing = await startTestApi({
      loadHandler: async (route) =>
        httpHandler(
          async (event) => {
            throw event.headers['x-fail'] === 'bug' ? new Error('boom') : new ServiceUnavailable('Throttled.');
          },
          { jsonBody: route.method === 'POST' },
        ) as LambdaHandler,
    });
  });
  afterAll(() => failing.server.close());

  test.each(ROUTES.map((r) => [r.method, r.path]))('%s %s: an outage → 503 with Retry-After, a bug → 500', async (method, path) => {
    const send = (fail: string) =>
      // A POST takes no query string (400), so only the GET carries one.
      failing.request(method === 'GET' ? `${path}?batch_id=000001` : path, {
        method,
        headers: { 'content-type': 'application/json', 'x-fail': fail },
        ...(method === 'POST' && { body: '{}' }),
      });
    const unavailable = await send('outage');
    expect([unavailable.status, unavailable.headers.get('retry-after')]).toEqual([503, '1']);
    expect((await send('bug')).status).toBe(500);
  });
});

describe('the document states the input rules a client cannot guess', () => {
  test.each(ROUTES.filter((r) => r.method === 'POST').map((r) => [r.path]))('%s: content type, charset, content-encoding, BOM, keys named twice, no query string', (path) => {
    const operation = operationAt('POST', path) as Operation & { requestBody: { description: string } };
    const rules = operation.requestBody.description;
    expect(rules).toMatch(/case-insensitive/);
    expect(rules).toMatch(/charset.*utf-8.*content-encoding.*identity.*415/s);
    expect(rules).toMatch(/byte-order mark is ignored/);
    expect(rules).toMatch(/names a key twice is 400/);
    expect(rules).toMatch(/no query string/);
    expect(JSON.stringify(operation.responses[415])).toMatch(/charset other than UTF-8.*content-encoding/);
  });

  test('every query integer states the rule for leading zeros', () => {
    const parameters = operationAt('GET', '/batch/sessions').parameters as unknown as Array<{ name: string; description: string }>;
    for (const name of ['after_number', 'limit', 'events_limit']) {
      expect([name, parameters.find((p) => p.name === name)?.description]).toEqual([name, expect.stringMatching(/leading zeros are allowed.*010 is 10/)]);
    }
  });

  test('free objects are kept as written, reserved-looking keys included', () => {
    expect((document.info as { description: string }).description).toMatch(/exactly as written, keys such as constructor, prototype and __proto__ included/);
  });
});
