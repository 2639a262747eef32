/**
 * The local server on a free port, with the real handlers on this test
 * file's table, and a fetch wrapper that checks what every answer must be:
 * JSON by content type and by body, with no stack trace in it, and what the
 * served OpenAPI document promises for that operation and status.
 */
import { createLocalServer, OPENAPI_PATH, type LocalServer, type LocalServerOptions } from '../../infra/local/server';
import type { OpenApiDocument } from '../../shared/openapi';
import { createTestTable } from './handlers';
import { contractCheckFor, type ContractCheck } from './openapi-validator';

export interface ApiAnswer {
  status: number;
  headers: Headers;
  body: any;
}

export interface TestApi {
  server: LocalServer;
  /** The request lines the server logged. */
  log: string[];
  /** The failures the server reported. */
  errors: unknown[];
  request(path: string, init?: RequestInit): Promise<ApiAnswer>;
  schedule(sessionId: string): Promise<ApiAnswer>;
  release(releaseId: string): Promise<ApiAnswer>;
  page(query: Record<string, string | number> | string): Promise<ApiAnswer>;
  postJson(path: string, body: unknown): Promise<ApiAnswer>;
}

/** Creates the table and starts the server; pair with `afterAll(() => api.server.close())`. */
export async function startTestApi(options: Partial<LocalServerOptions> = {}): Promise<TestApi> {
  await createTestTable();
  const log: string[] = [];
  const errors: unknown[] = [];
  const server = await createLocalServer({
    port: 0,
    // The contract check's own fetch of the document is not a request of the test.
    log: (line) => void (line.startsWith(`GET ${OPENAPI_PATH} `) || log.push(line)),
    logError: (_message, error) => errors.push(error),
    ...options,
  });

  // Fetched from this server once, on the first request, so the served document is the one checked.
  let contractCheck: Promise<ContractCheck> | undefined;
  const contract = () =>
    (contractCheck ??= fetch(`${server.url}${OPENAPI_PATH}`).then(async (response) =>
      contractCheckFor((await response.json()) as OpenApiDocument),
    ));

  const request = async (path: string, init?: RequestInit): Promise<ApiAnswer> => {
    const response = await fetch(`${server.url}${path}`, init);
    const text = await response.text();
    expect(response.headers.get('content-type')).toBe('application/json');
    expect(text).not.toMatch(/\n\s+at |\.ts:\d+|node_modules/);
    const answer = { status: response.status, headers: response.headers, body: JSON.parse(text) };
    const pathname = new URL(path, server.url).pathname;
    if (pathname !== OPENAPI_PATH) {
      const check = await contract();
      expect(check({ method: init?.method ?? 'GET', path: pathname, ...answer })).toEqual([]);
    }
    return answer;
  };
  const postJson = (path: string, body: unknown) =>
    request(path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

  return {
    server,
    log,
    errors,
    request,
    postJson,
    schedule: (sessionId) => postJson('/session/use-for-improvement', { session_id: sessionId }),
    release: (releaseId) => postJson('/batch/release', { release_id: releaseId }),
    page: (query) =>
      request(
        `/batch/sessions?${typeof query === 'string' ? query : new URLSearchParams(Object.entries(query).map(([k, v]): [string, string] => [k, String(v)]))}`,
      ),
  };
}

/** Asserts the contract's error shape and returns the code. */
export function errorCode(answer: ApiAnswer): string {
  expect(answer.body).toEqual({ error: { code: expect.any(String), message: expect.any(String) } });
  return answer.body.error.code;
}
