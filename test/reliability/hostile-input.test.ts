/**
 * Hostile input corpus (guarantee 6 of the README: bad input changes nothing and
 * never yields a 5xx). Every HTTP case goes over real HTTP to the local server
 * (so the 1 MB body cap and the route table are in play); every import case
 * is one JSONL line (or one UBI document) fed to the import logic. Each HTTP case must get a 4xx
 * with the contract's error shape and a readable message; each import line
 * must be rejected with a reason. A scan of the whole table before and after
 * the corpus must be identical.
 */
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { connect } from 'node:net';
import { networkInterfaces } from 'node:os';
import { gzipSync } from 'node:zlib';
import { buildHttpEvent, buildLambdaContext } from '../../infra/local/lambda-event';
import { importSessions } from '../../shared/ingest/jsonl';
import { importUbi } from '../../shared/ingest/ubi';
import { createLocalServer, MAX_BODY_BYTES, type LocalServer } from '../../infra/local/server';
import { documentClient } from '../../shared/data/store-from-env';
import { BatchPageQuery, ReleaseBatchBody, ScheduleSessionBody } from '../../shared/schemas';
import { checkAgainstBuiltDocument } from '../support/openapi-validator';
import { scanTable } from '../support/scan-table';
import {
  createTestTable,
  makeEvent,
  makeSession,
  pageHandler,
  releaseOverHttp,
  scheduleOverHttp,
  seedSession,
  uniqueId,
  writer,
} from '../support/handlers';

interface RawRequest {
  method: string;
  path: string;
  headers?: Record<string, string>;
  body?: string | Buffer;
}

interface RawAnswer {
  status: number;
  headers: IncomingHttpHeaders;
  text: string;
}

interface HttpCase {
  name: string;
  request: RawRequest;
  status: number;
  code: string;
  /** Something the message must name, so the client knows what to fix. */
  mentions?: RegExp;
}

const SCHEDULE = '/session/use-for-improvement';
const RELEASE = '/batch/release';
const PAGE = '/batch/sessions';
const JSON_TYPE = { 'content-type': 'application/json' };

// Real stored things (seeded in beforeAll), so a bad request aimed at them could do harm if it got through.
const known = {
  sessionId: uniqueId('target'),
  releasedBatch: '000001',
  collectingBatch: '000002',
  /** Scheduled into the released batch 000001. */
  releasedSessionId: uniqueId('released'),
  releaseId: uniqueId('r'),
  /** Unscheduled, with free objects whose keys look reserved. */
  reservedKeysSession: makeSession({
    session_id: uniqueId('reserved'),
    search_meta: JSON.parse('{"constructor":"Bosch","prototype":{"a":1},"__proto__":{"admin":true},"~constructor":1}'),
  }),
};

const postJson = (path: string, body: string | Buffer, headers: Record<string, string> = JSON_TYPE): RawRequest => ({
  method: 'POST',
  path,
  headers,
  body,
});
const schedule = (body: string | Buffer, headers?: Record<string, string>) => postJson(SCHEDULE, body, headers);
const release = (body: string | Buffer, headers?: Record<string, string>) => postJson(RELEASE, body, headers);
const page = (query: string): RawRequest => ({ method: 'GET', path: `${PAGE}?${query}` });

const nested = (depth: number, leaf = '"x"') => '['.repeat(depth) + leaf + ']'.repeat(depth);
const nestedObject = (depth: number) => '{"a":'.repeat(depth) + '1' + '}'.repeat(depth);

/** Strings that look like keys of the single table, or that a careless layer might mistake for one. */
const KEY_LIKE_IDS: Array<[string, string]> = [
  ['"#"', '#'],
  ['"SESSION#x"', 'SESSION#x'],
  ['"BATCH#000001"', 'BATCH#000001'],
  ['"RELEASE#r1"', 'RELEASE#r1'],
  ['"#SESSION"', '#SESSION'],
  ['"EVENT#000000000001#e"', 'EVENT#000000000001#e'],
  ['"BATCH" with a "#COLLECTING" suffix', 'BATCH#COLLECTING'],
];

const BAD_IDS: Array<[string, unknown]> = [
  ['an empty string', ''],
  ['129 characters', 'x'.repeat(129)],
  ['a NUL byte', 'a\u0000b'],
  ['a newline', 'a\nb'],
  ['a trailing newline', 'abc\n'],
  ['a tab', 'a\tb'],
  ['a DEL control character', 'a\u007fb'],
  ['a Cyrillic look-alike "ѕ"', 'ѕession-1'],
  ['fullwidth letters', 'ａｂｃ'],
  ['a zero-width space', 'a\u200bb'],
  ['a right-to-left override', 'a\u202eb'],
  ['an emoji', 'ok-🙂'],
  ['a path traversal', '../etc/passwd'],
  ['a percent-encoded slash', 'a%2Fb'],
  ['a space', 'a b'],
  ['a number', 42],
  ['null', null],
  ['true', true],
  ['an object', { id: 'x' }],
  ['an array', ['x']],
];

function httpCases(): HttpCase[] {
  const invalid = (name: string, request: RawRequest, mentions?: RegExp): HttpCase => ({
    name,
    request,
    status: 400,
    code: 'invalid_request',
    mentions,
  });
  const unsupported = (name: string, request: RawRequest): HttpCase => ({
    name,
    request,
    status: 415,
    code: 'unsupported_media_type',
  });
  const tooLarge = (name: string, request: RawRequest): HttpCase => ({ name, request, status: 413, code: 'payload_too_large' });
  const cases: HttpCase[] = [];

  for (const [endpoint, send, field] of [
    ['schedule', schedule, 'session_id'],
    ['release', release, 'release_id'],
  ] as const) {
    const ok = () => (endpoint === 'schedule' ? known.sessionId : uniqueId('r'));
    cases.push(
      // Malformed JSON.
      invalid(`${endpoint}: truncated JSON`, send(`{"${field}": "${ok()}`), /JSON/i),
      invalid(`${endpoint}: unquoted key`, send(`{${field}: "x"}`), /JSON/i),
      invalid(`${endpoint}: trailing comma`, send(`{"${field}": "x",}`), /JSON/i),
      invalid(`${endpoint}: single quotes`, send(`{'${field}': 'x'}`), /JSON/i),
      invalid(`${endpoint}: a byte-order mark before JSON with a bad ${field} (the mark is ignored, the id is not)`, send(`\uFEFF{"${field}": "SESSION#x"}`), new RegExp(field)),
      invalid(`${endpoint}: a byte-order mark inside the JSON`, send(`{"${field}": "${ok()}"\uFEFF}`), /JSON/),
      invalid(`${endpoint}: two JSON documents`, send(`{"${field}": "x"}{"${field}": "y"}`), /JSON/i),
      invalid(`${endpoint}: bytes that are not UTF-8`, send(Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x3a, 0x31, 0x7d]))),
      // Not an object, or empty.
      invalid(`${endpoint}: an empty body`, send('')),
      invalid(`${endpoint}: a body of spaces`, send('   \n ')),
      invalid(`${endpoint}: JSON null`, send('null')),
      invalid(`${endpoint}: a JSON array`, send(`[{"${field}": "x"}]`)),
      invalid(`${endpoint}: a JSON string`, send(`"${field}"`)),
      invalid(`${endpoint}: a JSON number`, send('42')),
      // Content types that are not JSON.
      unsupported(`${endpoint}: text/plain`, send(`{"${field}": "x"}`, { 'content-type': 'text/plain' })),
      unsupported(`${endpoint}: a form`, send(`${field}=x`, { 'content-type': 'application/x-www-form-urlencoded' })),
      unsupported(`${endpoint}: multipart`, send('--b\r\n\r\nx\r\n--b--', { 'content-type': 'multipart/form-data; boundary=b' })),
      unsupported(`${endpoint}: application/jsonx`, send(`{"${field}": "x"}`, { 'content-type': 'application/jsonx' })),
      unsupported(`${endpoint}: application/xml`, send(`<${field}>x</${field}>`, { 'content-type': 'application/xml' })),
      unsupported(`${endpoint}: no content type`, send(`{"${field}": "x"}`, {})),
      unsupported(`${endpoint}: charset=utf-16`, send(Buffer.from(`{"${field}": "${ok()}"}`, 'utf16le'), { 'content-type': 'application/json; charset=utf-16' })),
      unsupported(`${endpoint}: charset=latin1`, send(`{"${field}": "${ok()}"}`, { 'content-type': 'application/json; charset=latin1' })),
      unsupported(`${endpoint}: content-encoding gzip`, send(gzipSync(`{"${field}": "${ok()}"}`), { ...JSON_TYPE, 'content-encoding': 'gzip' })),
      unsupported(`${endpoint}: content-encoding br`, send(`{"${field}": "${ok()}"}`, { ...JSON_TYPE, 'content-encoding': 'br' })),
      // Sizes and depth.
      tooLarge(`${endpoint}: a body over the 1 MB cap`, send(JSON.stringify({ [field]: 'x'.repeat(MAX_BODY_BYTES + 10) }))),
      invalid(`${endpoint}: a 900 KB id`, send(JSON.stringify({ [field]: 'x'.repeat(900 * 1024) })), new RegExp(field, 'i')),
      invalid(`${endpoint}: 10,000 levels of nested arrays`, send(`{"${field}": ${nested(10_000)}}`), new RegExp(field, 'i')),
      invalid(`${endpoint}: 100,000 levels of nested objects`, send(`{"${field}": ${nestedObject(100_000)}}`), new RegExp(field, 'i')),
      // Fields.
      invalid(`${endpoint}: no ${field}`, send('{}'), new RegExp(field, 'i')),
      invalid(`${endpoint}: the other endpoint's field`, send(JSON.stringify({ [field === 'session_id' ? 'release_id' : 'session_id']: 'x' }))),
      invalid(`${endpoint}: an unknown field next to a good ${field}`, send(JSON.stringify({ [field]: ok(), force: true })), /force/i),
      invalid(`${endpoint}: a "__proto__" key`, send(`{"${field}": "${ok()}", "__proto__": {"admin": true}}`), /__proto__/i),
      invalid(`${endpoint}: ${field} only inside "__proto__"`, send(`{"__proto__": {"${field}": "${ok()}"}}`)),
      invalid(`${endpoint}: a "constructor.prototype" key`, send(`{"${field}": "${ok()}", "constructor": {"prototype": {"admin": true}}}`), /constructor/i),
      invalid(`${endpoint}: a duplicated ${field} whose last value is bad`, send(`{"${field}": "${ok()}", "${field}": "SESSION#x"}`), new RegExp(field, 'i')),
      invalid(`${endpoint}: ${field} twice, both good`, send(`{"${field}": "${ok()}", "${field}": "${ok()}-2"}`), new RegExp(`"${field}".*twice`)),
      invalid(`${endpoint}: ${field} twice, once spelled with an escape`, send(`{"${field}": "${ok()}", "\\u00${field.charCodeAt(0).toString(16)}${field.slice(1)}": "${ok()}"}`), new RegExp(`"${field}".*twice`)),
      invalid(`${endpoint}: a query string`, postJson(`${endpoint === 'schedule' ? SCHEDULE : RELEASE}?${field}=${ok()}`, `{"${field}": "${ok()}"}`), new RegExp(`"${field}"`)),
      invalid(`${endpoint}: a query string of one "&"`, postJson(`${endpoint === 'schedule' ? SCHEDULE : RELEASE}?&`, `{"${field}": "${ok()}"}`), /query string/),
    );
    for (const [name, id] of [...BAD_IDS, ...KEY_LIKE_IDS]) {
      cases.push(invalid(`${endpoint}: ${field} is ${name}`, send(JSON.stringify({ [field]: id })), new RegExp(field, 'i')));
    }
  }

  const batch = () => known.collectingBatch;
  const pageInvalid = (name: string, query: () => string, mentions: RegExp) => ({ name, query, mentions });
  const pageQueries = [
    pageInvalid('no batch_id', () => 'limit=1', /batch_id/i),
    pageInvalid('an empty batch_id', () => 'batch_id=', /batch_id/i),
    pageInvalid('batch_id "BATCH#000001"', () => 'batch_id=BATCH%23000001', /batch_id/i),
    pageInvalid('batch_id "SESSION#x"', () => 'batch_id=SESSION%23x', /batch_id/i),
    pageInvalid('batch_id "#COLLECTING"', () => 'batch_id=%23COLLECTING', /batch_id/i),
    pageInvalid('batch_id of 129 characters', () => `batch_id=${'1'.repeat(129)}`, /batch_id/i),
    pageInvalid('batch_id with a NUL byte', () => 'batch_id=000001%00', /batch_id/i),
    pageInvalid('batch_id with a trailing space', () => 'batch_id=000001%20', /batch_id/i),
    pageInvalid('batch_id given twice', () => `batch_id=${batch()}&batch_id=000001`, /batch_id/i),
    pageInvalid('batch_id as an array (batch_id[]=)', () => `batch_id[]=${batch()}`, /batch_id/i),
    pageInvalid('batch_id in Cyrillic look-alike digits', () => 'batch_id=00000%D0%86', /batch_id/i),
  ];
  for (const [param, bad] of [
    ['after_number', ['-1', '1.5', '1e3', '0x10', '+1', ' 1', '', 'NaN', 'Infinity', '99999999999999999', '9007199254740992', '0009007199254740992', '1_000', '١']],
    ['limit', ['0', '101', '-1', '1.0', '1e1', '0x1', '', '10000000000000000000000', '0000', '000101']],
    ['events_limit', ['-1', '1001', 'abc', '1e2', '', '0001001']],
  ] as const) {
    for (const value of bad) {
      pageQueries.push(pageInvalid(`${param} = ${JSON.stringify(value)}`, () => `batch_id=${batch()}&${param}=${encodeURIComponent(value)}`, new RegExp(param, 'i')));
    }
    pageQueries.push(pageInvalid(`${param} given twice`, () => `batch_id=${batch()}&${param}=1&${param}=2`, new RegExp(param, 'i')));
  }
  pageQueries.push(
    pageInvalid('an unknown query parameter', () => `batch_id=${batch()}&offset=5`, /offset/i),
    pageInvalid('a "constructor" query parameter', () => `batch_id=${batch()}&constructor=x`, /constructor/i),
    pageInvalid('a "__proto__" query parameter', () => `batch_id=${batch()}&__proto__=x`, /__proto__/i),
    pageInvalid('a "__proto__[after_number]" query parameter', () => `batch_id=${batch()}&__proto__[after_number]=5`, /__proto__/i),
  );
  for (const q of pageQueries) {
    cases.push({
      name: `page: ${q.name}`,
      request: page(q.query()),
      status: 400,
      code: 'invalid_request',
      mentions: q.mentions,
    });
  }
  for (const [name, batchId] of [
    ['batch 000000', '000000'],
    ['an unpadded batch id', '1'],
    ['a seven-digit batch id', '0000001'],
    ['a batch far past the last one', '999999'],
    ['a well-formed id that is no batch', 'abc'],
  ]) {
    cases.push({ name: `page: ${name} → 404`, request: page(`batch_id=${batchId}`), status: 404, code: 'batch_not_found', mentions: /batch_id/i });
  }

  // Routes API Gateway would not match: 404 route_not_found (HTTP APIs have no 405).
  for (const [name, request] of [
    ['GET on the schedule route', { method: 'GET', path: SCHEDULE }],
    ['DELETE on the release route', { method: 'DELETE', path: RELEASE }],
    ['POST on the page route', postJson(PAGE, '{}')],
    ['a path below a route', { method: 'GET', path: `${PAGE}/000001` }],
    ['a path with a trailing slash', postJson(`${RELEASE}/`, '{"release_id":"x"}')],
    ['an encoded path', postJson('/batch%2Frelease', '{"release_id":"x"}')],
    ['an unknown path', { method: 'GET', path: '/admin' }],
  ] as Array<[string, RawRequest]>) {
    cases.push({ name: `route: ${name}`, request, status: 404, code: 'route_not_found' });
  }
  // The raw path exactly, as API Gateway routes: no URL parsing turns "//host/…" into a host or "\\" into "/".
  for (const [name, request, path] of [
    ['a path that URL parsing reads as a host', schedule(`{"session_id": "${known.sessionId}"}`), `//evil.example${SCHEDULE}`],
    ['a doubled leading slash', schedule(`{"session_id": "${known.sessionId}"}`), `/${SCHEDULE}`],
    ['a backslash for a slash', page(`batch_id=${known.collectingBatch}`), '/batch\\sessions'],
    ['a dot segment', release(`{"release_id": "${uniqueId('r')}"}`), '/batch/./release'],
  ] as Array<[string, RawRequest, string]>) {
    const query = request.path.includes('?') ? request.path.slice(request.path.indexOf('?')) : '';
    cases.push({
      name: `route: ${name}`,
      request: { ...request, path: `${path}${query}` },
      status: 404,
      code: 'route_not_found',
      mentions: new RegExp(`No route for ${request.method} ${path.replace(/[\\.]/g, '\\$&')}\\.`),
    });
  }
  return cases;
}

/**
 * Requests the service must accept (the issue-11 rules: media types are
 * case-insensitive, a UTF-8 byte-order mark is ignored, leading zeros are
 * allowed), each aimed where accepting it changes nothing: an already
 * scheduled session, a release id already used, a read.
 */
function acceptedCases(): Array<{ name: string; request: () => RawRequest }> {
  const scheduleKnown = (headers: Record<string, string>, prefix = '') => () => schedule(`${prefix}{"session_id": "${known.sessionId}"}`, headers);
  const releaseKnown = (headers: Record<string, string>, prefix = '') => () => release(`${prefix}{"release_id": "${known.releaseId}"}`, headers);
  const cases = [];
  for (const contentType of ['Application/Json', 'application/JSON', 'application/json ; charset=utf-8', 'application/json; charset=UTF-8', 'application/json;charset="utf-8"']) {
    cases.push({ name: `schedule: content-type ${contentType}`, request: scheduleKnown({ 'content-type': contentType }) });
    cases.push({ name: `release: content-type ${contentType}`, request: releaseKnown({ 'content-type': contentType }) });
  }
  cases.push(
    { name: 'schedule: a byte-order mark before the JSON', request: scheduleKnown(JSON_TYPE, '\uFEFF') },
    { name: 'release: a byte-order mark before the JSON', request: releaseKnown(JSON_TYPE, '\uFEFF') },
    { name: 'schedule: content-encoding identity', request: scheduleKnown({ ...JSON_TYPE, 'content-encoding': 'identity' }) },
    { name: 'page: after_number=00000000000000001', request: () => page(`batch_id=${known.collectingBatch}&after_number=00000000000000001`) },
    { name: 'page: limit=010', request: () => page(`batch_id=${known.collectingBatch}&limit=010`) },
    { name: 'page: events_limit=0000000000000000000001000', request: () => page(`batch_id=${known.releasedBatch}&events_limit=0000000000000000000001000`) },
  );
  return cases;
}

interface ImportCase {
  name: string;
  line: () => Buffer;
  /** What the reason must name. */
  mentions: RegExp;
  /** Rejected (the default), or skipped: reported, not an error, and nothing written. */
  outcome?: 'rejected' | 'skipped';
}

const sessionLine = (overrides: Record<string, unknown> = {}, events: unknown[] = []) =>
  Buffer.from(JSON.stringify({ ...makeSession({ session_id: uniqueId('imp') }), ...overrides, events }));

function importCases(): ImportCase[] {
  const withEvents = (events: (sessionId: string) => unknown[]) => () => {
    const session = makeSession({ session_id: uniqueId('imp') });
    return Buffer.from(JSON.stringify({ ...session, events: events(session.session_id) }));
  };
  return [
    { name: 'a session item over 400 KB', line: () => sessionLine({ search_query: 'q'.repeat(450 * 1024) }), mentions: /bytes/ },
    {
      name: 'an event item over 400 KB',
      line: withEvents((id) => [makeEvent(id, { meta: { blob: 'e'.repeat(410 * 1024) } })]),
      mentions: /events\[0\].*bytes/,
    },
    {
      name: 'the same event twice',
      line: withEvents((id) => {
        const event = makeEvent(id);
        return [event, event];
      }),
      mentions: /twice|event_id/,
    },
    { name: 'bytes that are not UTF-8', line: () => Buffer.concat([Buffer.from('{"session_id":"'), Buffer.from([0xc3, 0x28]), Buffer.from('"}')]), mentions: /UTF-8/ },
    { name: 'a number DynamoDB cannot store (1e200)', line: () => sessionLine({ search_meta: { score: 1e200 } }), mentions: /number/ },
    { name: 'a number too close to zero (1e-200)', line: () => sessionLine({ search_meta: { score: 1e-200 } }), mentions: /number/ },
    {
      name: 'nesting deeper than DynamoDB allows (33 levels)',
      line: () => sessionLine({ search_meta: JSON.parse(nestedObject(33)) }),
      mentions: /nested/,
    },
    {
      name: 'nesting 10,000 levels deep in search_query',
      // Spliced in as text: JSON.stringify itself overflows the stack on 10,000 levels.
      line: () => Buffer.from(sessionLine({ search_query: 'DEEP' }).toString().replace('"DEEP"', nested(10_000))),
      mentions: /nested/,
    },
    { name: "an event of another session", line: withEvents(() => [makeEvent('someone-else')]), mentions: /session_id/ },
    { name: 'truncated JSON', line: () => sessionLine().subarray(0, 40), mentions: /JSON/i },
    { name: 'a JSON array', line: () => Buffer.from('[]'), mentions: /object/ },
    { name: 'a key-like session_id', line: () => sessionLine({ session_id: 'SESSION#x' }), mentions: /session_id/ },
    { name: 'a key-like event_id', line: withEvents((id) => [makeEvent(id, { event_id: 'EVENT#1' })]), mentions: /event_id/ },
    { name: 'a "__proto__" key', line: () => Buffer.from(`{"__proto__":{"is_payload_search":false},${sessionLine().toString().slice(1)}`), mentions: /__proto__/i },
    { name: 'an unknown session field', line: () => sessionLine({ priority: 1 }), mentions: /priority/ },
    { name: 'a fractional created_at', line: () => sessionLine({ created_at: 1.5 }), mentions: /created_at/ },
    { name: 'a negative created_at', line: () => sessionLine({ created_at: -1 }), mentions: /created_at/ },
    { name: 'search_results not an array', line: () => sessionLine({ search_results: { object_id: 'p1' } }), mentions: /search_results/ },
    { name: 'search_meta as an array', line: () => sessionLine({ search_meta: ['x'] }), mentions: /search_meta/ },
    { name: 'events not an array', line: () => Buffer.from(JSON.stringify({ ...makeSession({ session_id: uniqueId('imp') }), events: {} })), mentions: /events/ },
    { name: 'a lone UTF-16 surrogate in an object key', line: () => Buffer.from(sessionLine({ search_meta: { K: 1 } }).toString().replace('"K"', '"\\udc00"')), mentions: /surrogate/ },
    { name: 'a lone UTF-16 surrogate in a string', line: () => Buffer.from(`{"session_id":"${uniqueId('imp')}","search_query":"\\ud800","created_at":1,"search_results":[]}`), mentions: /search_query.*surrogate/ },
    { name: 'a key twice', line: () => Buffer.from(sessionLine().toString().replace('{', '{"user_id":"a","user_id":"b",')), mentions: /"user_id".*twice/ },
    { name: 'a key twice in a nested object', line: () => Buffer.from(sessionLine({ search_meta: { x: 1 } }).toString().replace('"x":1', '"x":1,"x":2')), mentions: /"x".*twice/ },
    { name: 'a line of UTF-16 (NUL bytes)', line: () => Buffer.from(sessionLine().toString(), 'utf16le'), mentions: /UTF-16/ },
    // JSON.parse quotes the line in its message: a terminal would ring, and turn red.
    { name: 'control characters echoed in the JSON error', line: () => Buffer.from('{"a":\u0007\u001b[31m}'), mentions: /\\u0007\\u001b\[31m/ },
    {
      name: 'a scheduled session marked as a payload search',
      line: () => Buffer.from(JSON.stringify(makeSession({ session_id: known.sessionId, is_payload_search: true }))),
      mentions: new RegExp(`scheduled in batch ${known.collectingBatch}.*payload search`),
    },
    {
      name: 'a session of a released batch, changed',
      line: () => Buffer.from(JSON.stringify(makeSession({ session_id: known.releasedSessionId, search_query: 'changed' }))),
      mentions: /^in released batch 000001$/,
      outcome: 'skipped',
    },
    {
      name: 'a new event for a session of a released batch',
      line: () => Buffer.from(JSON.stringify({ ...makeSession({ session_id: known.releasedSessionId }), events: [makeEvent(known.releasedSessionId)] })),
      mentions: /^in released batch 000001$/,
      outcome: 'skipped',
    },
    {
      name: 'a byte-order mark before a line of a released batch (the mark is ignored)',
      line: () => Buffer.from(`\uFEFF${JSON.stringify(makeSession({ session_id: known.releasedSessionId }))}`),
      mentions: /^in released batch 000001$/,
      outcome: 'skipped',
    },
  ];
}


/** One UBI document per case: a query (a session if accepted) or an event, each bad in one way. */
function ubiCases(): ImportCase[] {
  const query = (overrides: Record<string, unknown>) =>
    Buffer.from(JSON.stringify({ query_id: uniqueId('ubi'), user_query: 'q', timestamp: '2024-12-10T00:00:00Z', ...overrides }));
  const event = (overrides: Record<string, unknown>) =>
    Buffer.from(JSON.stringify({ action_name: 'click', query_id: uniqueId('ubi'), timestamp: 0, ...overrides }));
  return [
    { name: 'a key-like query_id', line: () => query({ query_id: 'SESSION#x' }), mentions: /query_id/ },
    { name: 'a query_id of 129 characters', line: () => query({ query_id: 'q'.repeat(129) }), mentions: /query_id/ },
    { name: 'a timestamp that is no date', line: () => query({ timestamp: 'yesterday' }), mentions: /timestamp/ },
    { name: 'a date before 1970', line: () => query({ timestamp: '1969-12-31T23:59:59Z' }), mentions: /timestamp/ },
    { name: 'negative epoch milliseconds', line: () => query({ timestamp: -1 }), mentions: /timestamp/ },
    { name: 'epoch milliseconds past the year 33658', line: () => query({ timestamp: 1e20 }), mentions: /created_at/ },
    { name: 'user_query as an object', line: () => query({ user_query: { q: 1 } }), mentions: /user_query/ },
    { name: 'a lone UTF-16 surrogate in user_query', line: () => Buffer.from(query({ user_query: 'X' }).toString().replace('"X"', '"\\ud800"')), mentions: /surrogate/ },
    { name: 'a user_query over 400 KB', line: () => query({ user_query: 'q'.repeat(450 * 1024) }), mentions: /bytes/ },
    { name: 'a number DynamoDB cannot store in query_attributes', line: () => query({ query_attributes: { boost: 1e200 } }), mentions: /number/ },
    { name: 'query_attributes nested 33 levels', line: () => query({ query_attributes: JSON.parse(nestedObject(33)) }), mentions: /nested/ },
    { name: 'an empty hit id', line: () => query({ query_response_hit_ids: [''] }), mentions: /object_id/ },
    { name: 'an event with no timestamp', line: () => event({ timestamp: undefined }), mentions: /timestamp/ },
    { name: 'an event with an empty action_name', line: () => event({ action_name: '' }), mentions: /action_name/ },
    { name: 'event_attributes as an array', line: () => event({ event_attributes: [] }), mentions: /event_attributes/ },
    { name: 'a bulk delete action', line: () => Buffer.from('{"delete":{"_index":"ubi_events","_id":"x"}}'), mentions: /neither/ },
    { name: 'a bare string', line: () => Buffer.from('"ubi"'), mentions: /object/ },
  ];
}

/** Sends exactly these bytes and headers (fetch would add a content type and normalise the path). */
function send(server: LocalServer, raw: RawRequest): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    const body = raw.body === undefined ? undefined : Buffer.isBuffer(raw.body) ? raw.body : Buffer.from(raw.body);
    const request = httpRequest(
      {
        host: '127.0.0.1',
        port: server.port,
        method: raw.method,
        path: raw.path,
        headers: { ...raw.headers, ...(body ? { 'content-length': String(body.length) } : {}) },
        timeout: 10_000,
      },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () =>
          resolve({ status: response.statusCode ?? 0, headers: response.headers, text: Buffer.concat(chunks).toString('utf8') }),
        );
        response.on('error', reject);
      },
    );
    // The server may answer 413 and close before the whole body is written: the answer still arrives.
    request.on('error', (error) => setTimeout(() => reject(error), 100));
    request.on('timeout', () => request.destroy(new Error(`${raw.method} ${raw.path} timed out`)));
    request.end(body);
  });
}

/** What a client may send, by name: an error message may start with one of these, spelled as sent. */
const FIELD_NAMES = [...Object.keys(ScheduleSessionBody.entries), ...Object.keys(ReleaseBatchBody.entries), ...Object.keys(BatchPageQuery.entries)];

const STACK_TRACE = /\n\s+at |\bat .+:\d+:\d+|node_modules|\.[jt]s:\d+/;

let server: LocalServer;
let before: Array<Record<string, unknown>>;
const serverErrors: unknown[] = [];

beforeAll(async () => {
  await createTestTable();
  // Real data for the bad requests to aim at: a released batch, a collecting one, an unscheduled session.
  await seedSession({ session_id: known.releasedSessionId }, 2);
  expect((await scheduleOverHttp(known.releasedSessionId)).body).toMatchObject({ status: 'scheduled', batch_id: known.releasedBatch });
  expect((await releaseOverHttp(known.releaseId)).body).toMatchObject({ batch_id: known.releasedBatch });
  await seedSession({ session_id: known.sessionId }, 1);
  expect((await scheduleOverHttp(known.sessionId)).body).toMatchObject({ batch_id: known.collectingBatch });
  await seedSession({}, 1);
  await writer().upsertSession(makeSession({ session_id: uniqueId('payload'), is_payload_search: true }));
  await writer().upsertSession(known.reservedKeysSession);

  server = await createLocalServer({ port: 0, log: () => undefined, logError: (_message, error) => serverErrors.push(error) });
  before = await scanTable(documentClient, process.env.TABLE_NAME!);
});
afterAll(() => server?.close());

const HTTP_CASES = httpCases();
const ACCEPTED_CASES = acceptedCases();
const IMPORT_CASES = importCases();
const UBI_CASES = ubiCases();

test('the corpus has at least 60 cases', () => {
  expect(HTTP_CASES.length + IMPORT_CASES.length + UBI_CASES.length).toBeGreaterThanOrEqual(60);
  expect(new Set(HTTP_CASES.map((c) => c.name)).size).toBe(HTTP_CASES.length);
});

describe('HTTP', () => {
  test.each(HTTP_CASES.map((c) => [c.name, c] as const))('%s', async (_name, hostile) => {
    const answer = await send(server, hostile.request);
    expect(answer.status).toBe(hostile.status);
    expect(answer.headers['content-type']).toBe('application/json');
    expect(answer.text).not.toMatch(STACK_TRACE);
    const body = JSON.parse(answer.text);
    expect(body).toEqual({ error: { code: hostile.code, message: expect.any(String) } });
    const headers = new Headers(Object.entries(answer.headers).map(([name, value]): [string, string] => [name, String(value)]));
    const path = hostile.request.path.split('?')[0]!;
    expect(checkAgainstBuiltDocument({ method: hostile.request.method, path, status: answer.status, headers, body })).toEqual([]);
    // A sentence: starts with a capital or with a field named exactly as sent, ends with a full stop, short enough to read.
    expect(body.error.message).toMatch(new RegExp(`^([A-Z]|(${FIELD_NAMES.join('|')}) ).{8,400}\\.$`, 's'));
    if (hostile.mentions) expect(body.error.message).toMatch(hostile.mentions);
  });
});

describe('HTTP, accepted where accepting changes nothing', () => {
  test.each(ACCEPTED_CASES.map((c) => [c.name, c] as const))('%s → 200', async (_name, accepted) => {
    const request = accepted.request();
    const answer = await send(server, request);
    expect(answer.status).toBe(200);
    const body = JSON.parse(answer.text);
    const headers = new Headers(Object.entries(answer.headers).map(([name, value]): [string, string] => [name, String(value)]));
    expect(checkAgainstBuiltDocument({ method: request.method, path: request.path.split('?')[0]!, status: 200, headers, body })).toEqual([]);
    if (request.path === SCHEDULE) expect(body).toMatchObject({ session_id: known.sessionId, status: 'already_scheduled' });
    if (request.path === RELEASE) expect(body).toMatchObject({ release_id: known.releaseId, batch_id: known.releasedBatch });
  });
});

/** Control characters a terminal would act on: never in what the import reports. */
const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/;

describe('import', () => {
  test.each(IMPORT_CASES.map((c) => [c.name, c] as const))('%s → the line is rejected or skipped with a reason', async (_name, hostile) => {
    const reported: Array<{ line: number; reason: string }> = [];
    const line = hostile.line();
    const source = (async function* () {
      yield line;
    })();
    const report = await importSessions(source, writer(), { onReject: (r) => reported.push(r), onSkip: (r) => reported.push(r) });
    expect(report).toMatchObject({ lines: 1, sessions: 0, events: 0 });
    expect(hostile.outcome === 'skipped' ? report.skippedLines : report.rejected).toEqual([{ line: 1, reason: expect.stringMatching(hostile.mentions) }]);
    expect(reported).toEqual([{ line: 1, reason: expect.stringMatching(hostile.mentions) }]);
    expect(reported[0]!.reason).not.toMatch(STACK_TRACE);
    expect(reported[0]!.reason).not.toMatch(CONTROL);
  });

  test('a line whose free objects use reserved-looking keys, imported again as stored: accepted, and nothing changes', async () => {
    const source = (async function* () {
      yield Buffer.from(`{"session_id":"${known.reservedKeysSession.session_id}","search_query":"red shoes","created_at":1700000000,"search_results":[{"object_id":"p1","rank":1}],"search_meta":{"constructor":"Bosch","prototype":{"a":1},"__proto__":{"admin":true},"~constructor":1}}`);
    })();
    const report = await importSessions(source, writer());
    expect(report).toMatchObject({ lines: 1, sessions: 1, rejected: [], skippedLines: [] });
  });
});

describe('UBI import', () => {
  test.each(UBI_CASES.map((c) => [c.name, c] as const))('%s → the document is rejected with a reason', async (_name, hostile) => {
    const rejected: Array<{ line: number; reason: string }> = [];
    const source = (async function* () {
      yield hostile.line();
    })();
    const report = await importUbi(source, writer(), { onReject: (r) => rejected.push(r) });
    expect(report).toMatchObject({ lines: 1, sessions: 0, events: 0 });
    expect(rejected).toEqual([{ line: 1, reason: expect.stringMatching(hostile.mentions) }]);
    expect(rejected[0]!.reason).not.toMatch(STACK_TRACE);
  });
});

test('a "__proto__" query parameter as Lambda receives it (an event parsed from JSON) → 400', async () => {
  const event = JSON.parse(
    JSON.stringify(buildHttpEvent({ method: 'GET', url: `${PAGE}?batch_id=${known.collectingBatch}` }, `GET ${PAGE}`)).replace(
      '"queryStringParameters":{',
      '"queryStringParameters":{"__proto__":"x",',
    ),
  );
  expect(Object.keys(event.queryStringParameters)).toContain('__proto__');
  const result = await pageHandler(event, buildLambdaContext('GetBatchPage', 20));
  expect(result.statusCode).toBe(400);
  expect(JSON.parse(result.body ?? '').error).toEqual({ code: 'invalid_request', message: expect.stringMatching(/__proto__/) });
});

test('the local server cannot be reached on any non-loopback address of this machine', async () => {
  const external = Object.values(networkInterfaces())
    .flat()
    .filter((address) => address && !address.internal)
    .map((address) => address!.address);
  for (const address of external) {
    const reached = await new Promise<boolean>((resolve) => {
      const socket = connect({ host: address, port: server.port, timeout: 2_000 });
      socket.once('connect', () => (socket.destroy(), resolve(true)));
      socket.once('error', () => resolve(false));
      socket.once('timeout', () => (socket.destroy(), resolve(false)));
    });
    expect([address, reached]).toEqual([address, false]);
  }
});

test('after the whole corpus, a scan of the table is identical to the one before', async () => {
  expect(serverErrors).toEqual([]);
  expect(await scanTable(documentClient, process.env.TABLE_NAME!)).toEqual(before);
});
