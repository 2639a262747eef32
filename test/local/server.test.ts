/**
 * What the local server adds around the handlers, as API Gateway would:
 * routing (404 JSON), the body cap (413 without calling the handler), the
 * v2 event and Lambda context, 500 without a stack trace, one log line per
 * request, loopback only.
 */
import type { APIGatewayProxyEventV2, Context } from 'aws-lambda';
import { request as httpRequest } from 'node:http';
import { connect } from 'node:net';
import { createLocalServer, importRouteHandler, MAX_BODY_BYTES, type LambdaHandler } from '../../infra/local/server';
import { routeNamed, type Route } from '../../shared/routes';
import { uniqueId } from '../support/handlers';
import { errorCode, startTestApi, type TestApi } from '../support/local-api';

/** The real handlers, with a record of every call that reached them. */
const calls: Array<{ route: Route['name']; event: APIGatewayProxyEventV2; remainingMs: number }> = [];
const recordingHandler = async (route: Route): Promise<LambdaHandler> => {
  const real = await importRouteHandler(route);
  return (event, context: Context) => {
    // A copy: the middy stack parses the body in place.
    calls.push({ route: route.name, event: structuredClone(event as APIGatewayProxyEventV2), remainingMs: context.getRemainingTimeInMillis() });
    return real(event, context);
  };
};

let api: TestApi;
beforeAll(async () => {
  api = await startTestApi({ loadHandler: recordingHandler });
});
afterAll(() => api.server.close());
beforeEach(() => {
  calls.length = 0;
});

const json = { 'content-type': 'application/json' };

describe('request bodies are capped at 1 MB', () => {
  test('a body of exactly 1 MB reaches the handler', async () => {
    const body = JSON.stringify({ session_id: uniqueId('big') });
    const answer = await api.request('/session/use-for-improvement', {
      method: 'POST',
      headers: json,
      body: body.padEnd(MAX_BODY_BYTES, ' '),
    });
    expect(answer.status).toBe(404); // well-formed, unknown session
    expect(calls).toHaveLength(1);
  });

  test('one byte more → 413 payload_too_large, and the handler is not called', async () => {
    const answer = await api.request('/session/use-for-improvement', {
      method: 'POST',
      headers: json,
      body: 'x'.repeat(MAX_BODY_BYTES + 1),
    });
    expect(answer.status).toBe(413);
    expect(errorCode(answer)).toBe('payload_too_large');
    expect(calls).toHaveLength(0);
  });

  test('a chunked body without content-length is cut off as it streams in', async () => {
    const piece = new Uint8Array(64 * 1024).fill(0x20);
    let sent = 0;
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        // 20 MB on offer; the server stops reading after the first 1 MB.
        if (sent >= 20 * MAX_BODY_BYTES) return controller.close();
        sent += piece.length;
        controller.enqueue(piece);
      },
    });
    const answer = await api.request('/batch/release', { method: 'POST', headers: json, body, duplex: 'half' } as RequestInit);
    expect(answer.status).toBe(413);
    expect(errorCode(answer)).toBe('payload_too_large');
    expect(calls).toHaveLength(0);
    expect(sent).toBeLessThan(20 * MAX_BODY_BYTES);
  });

  test('the server keeps serving after a 413', async () => {
    await api.request('/batch/release', { method: 'POST', headers: json, body: 'x'.repeat(2 * MAX_BODY_BYTES) });
    expect((await api.release(uniqueId('r'))).status).toBe(404); // nothing collecting in this file's table
  });
});

describe('routing', () => {
  test.each([
    ['GET', '/'],
    ['GET', '/nope'],
    ['GET', '/session/use-for-improvement'],
    ['POST', '/batch/sessions'],
    ['DELETE', '/batch/release'],
    ['GET', '/batch/sessions/'],
    ['GET', '/BATCH/SESSIONS'],
  ])('%s %s → 404 route_not_found, JSON', async (method, path) => {
    const answer = await api.request(path, { method });
    expect(answer.status).toBe(404);
    expect(errorCode(answer)).toBe('route_not_found');
    expect(calls).toHaveLength(0);
  });

  test('each route reaches its handler with an API Gateway v2 event and a context counting down from its timeout', async () => {
    await api.request('/batch/sessions?batch_id=000001&limit=1&limit=2', { headers: { 'X-Trace': 'abc' } });
    const [call] = calls;
    const route = routeNamed('GetBatchPage');
    expect(call?.route).toBe(route.name);
    expect(call?.event).toMatchObject({
      version: '2.0',
      routeKey: 'GET /batch/sessions',
      rawPath: '/batch/sessions',
      rawQueryString: 'batch_id=000001&limit=1&limit=2',
      queryStringParameters: { batch_id: '000001', limit: '1,2' },
      headers: { 'x-trace': 'abc' },
      requestContext: { http: { method: 'GET', path: '/batch/sessions' } },
    });
    expect(call?.remainingMs).toBeGreaterThan(route.timeoutSeconds * 1000 - 2000);
    expect(call?.remainingMs).toBeLessThanOrEqual(route.timeoutSeconds * 1000);

    await api.schedule(uniqueId('s'));
    expect(calls[1]?.event).toMatchObject({ routeKey: 'POST /session/use-for-improvement', body: expect.stringContaining('session_id') });
  });
});

/** Sends exactly this request line (fetch and URL parsing would normalise the path) and reads the answer. */
function rawRequest(method: string, path: string, body?: string): Promise<{ status: number; body: any }> {
  return new Promise((resolve, reject) => {
    const request = httpRequest(
      { host: '127.0.0.1', port: api.server.port, method, path, headers: body === undefined ? {} : { ...json, 'content-length': Buffer.byteLength(body) } },
      (response) => {
        let text = '';
        response.on('data', (chunk: Buffer) => (text += chunk));
        response.on('end', () => resolve({ status: response.statusCode ?? 0, body: JSON.parse(text) }));
      },
    );
    request.on('error', reject);
    request.end(body);
  });
}

describe('routing on the raw path, exactly as sent (as API Gateway does)', () => {
  test.each([
    ['POST', '//evil.example/session/use-for-improvement'],
    ['POST', '//session/use-for-improvement'],
    ['GET', '/batch\\sessions?batch_id=000001'],
    ['GET', '//batch/sessions?batch_id=000001'],
    ['POST', '/batch/./release'],
    ['POST', '/batch/x/../release'],
    ['POST', 'http://127.0.0.1/batch/release'],
  ])('%s %s → 404 naming the path as sent, and no handler runs', async (method, path) => {
    const answer = await rawRequest(method, path, method === 'POST' ? '{"release_id":"r-raw"}' : undefined);
    expect(answer.status).toBe(404);
    expect(answer.body).toEqual({ error: { code: 'route_not_found', message: `No route for ${method} ${path.split('?')[0]}.` } });
    expect(calls).toHaveLength(0);
  });

  test('the handler gets the raw path and query string as sent', async () => {
    await rawRequest('GET', '/batch/sessions?batch_id=000001&x=%2F');
    expect(calls[0]?.event).toMatchObject({
      rawPath: '/batch/sessions',
      rawQueryString: 'batch_id=000001&x=%2F',
      queryStringParameters: { batch_id: '000001', x: '/' },
      requestContext: { http: { path: '/batch/sessions' } },
    });
  });
});

describe('a client that drops the connection mid-body', () => {
  /** Sends the headers and part of the body, then closes its side (or resets); resolves with whatever the server sent back. */
  const dropMidBody = (how: 'end' | 'destroy') =>
    new Promise<string>((resolve, reject) => {
      let received = '';
      const socket = connect(api.server.port, '127.0.0.1', () => {
        socket.write('POST /session/use-for-improvement HTTP/1.1\r\nHost: x\r\ncontent-type: application/json\r\ncontent-length: 1000\r\n\r\n{"session_id":');
        setTimeout(() => (how === 'end' ? socket.end() : socket.destroy()), 50);
      });
      socket.on('data', (chunk) => (received += chunk));
      socket.on('close', () => resolve(received));
      socket.on('error', reject);
    });

  test('one log line, no error report, nothing sent back, no handler call; the server keeps serving', async () => {
    api.log.length = 0;
    api.errors.length = 0;
    const answers = await Promise.all((['end', 'end', 'end', 'destroy', 'destroy'] as const).map(dropMidBody));
    expect(answers).toEqual(['', '', '', '', '']);
    // The log line is written when the server notices, which may be just after the client's socket closed.
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(api.log).toEqual(Array(5).fill('POST /session/use-for-improvement: the client closed the connection before the whole body arrived'));
    expect(api.errors).toEqual([]);
    expect(calls).toHaveLength(0);
    expect((await api.schedule(uniqueId('s'))).status).toBe(404);
  });
});

test('one log line per request: method, path, status, milliseconds', async () => {
  api.log.length = 0;
  await api.schedule(uniqueId('s'));
  await api.request('/nope');
  expect(api.log).toEqual([
    expect.stringMatching(/^POST \/session\/use-for-improvement 404 \d+ms$/),
    expect.stringMatching(/^GET \/nope 404 \d+ms$/),
  ]);
});

test('a handler that throws → 500 internal_error, no stack trace in the body, the error is logged', async () => {
  const reported: unknown[] = [];
  const failing = await createLocalServer({
    port: 0,
    log: () => undefined,
    logError: (_message, error) => reported.push(error),
    loadHandler: async () => async () => {
      throw new Error('boom: secret detail');
    },
  });
  try {
    const response = await fetch(`${failing.url}/batch/release`, { method: 'POST', headers: json, body: '{}' });
    const text = await response.text();
    expect(response.status).toBe(500);
    expect(response.headers.get('content-type')).toBe('application/json');
    expect(JSON.parse(text)).toEqual({ error: { code: 'internal_error', message: expect.any(String) } });
    expect(text).not.toMatch(/boom|secret|\bat\b.*:\d+/);
    expect(reported).toEqual([expect.objectContaining({ message: 'boom: secret detail' })]);
  } finally {
    await failing.close();
  }
});

test('a handler result without a statusCode is a 200 with that result as JSON, as in API Gateway', async () => {
  const server = await createLocalServer({ port: 0, log: () => undefined, loadHandler: async () => async () => ({ ok: true }) });
  try {
    const response = await fetch(`${server.url}/batch/sessions`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('application/json');
    expect(await response.json()).toEqual({ ok: true });
  } finally {
    await server.close();
  }
});

test('listens on 127.0.0.1 only, and refuses any other address', async () => {
  expect(api.server.host).toBe('127.0.0.1');
  expect(api.server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
  await expect(createLocalServer({ port: 0, host: '0.0.0.0' as '127.0.0.1' })).rejects.toThrow(/loopback/);
});
