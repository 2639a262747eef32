/**
 * Calls the real handlers in process, with the events API Gateway and Step
 * Functions would send, against this test file's table.
 */
import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { buildHttpEvent, buildLambdaContext } from '../../infra/local/lambda-event';
import { ensureTable } from '../../infra/local/local-store';
import { documentClient } from '../../shared/data/store-from-env';
import { SessionWriter } from '../../shared/data/session-writer';
import { routeNamed, type Route } from '../../shared/routes';
import type { Event, Session } from '../../shared/schemas';
import { handler as schedule } from '../../functions/schedule-session';
import { handler as page } from '../../functions/get-batch-page';
import { handler as release } from '../../functions/release-batch';

export interface JsonResult {
  status: number;
  headers: Record<string, string>;
  body: any;
}

export const createTestTable = () => ensureTable(process.env.DYNAMODB_ENDPOINT!, process.env.TABLE_NAME!);

export const writer = () => new SessionWriter(documentClient, process.env.TABLE_NAME!);

let counter = 0;
/** Ids unique per test run, so tests never see each other's data. */
export const uniqueId = (prefix = 's') => `${prefix}-${Date.now().toString(36)}-${(counter++).toString(36)}`;

export function makeSession(overrides: Partial<Session> = {}): Session {
  return {
    session_id: uniqueId(),
    search_query: 'red shoes',
    created_at: 1_700_000_000,
    search_results: [{ object_id: 'p1', rank: 1 }],
    is_irrelevant: false,
    is_payload_search: false,
    ...overrides,
  };
}

export function makeEvent(sessionId: string, overrides: Partial<Event> = {}): Event {
  return {
    event_id: uniqueId('e'),
    session_id: sessionId,
    object_id: 'p1',
    event_type: 'click',
    created_at: 1_700_000_010,
    ...overrides,
  };
}

/** Writes a session with `eventCount` events and returns its id. */
export async function seedSession(overrides: Partial<Session> = {}, eventCount = 1): Promise<string> {
  const session = makeSession(overrides);
  const events = Array.from({ length: eventCount }, (_, i) =>
    makeEvent(session.session_id, { created_at: session.created_at + i }),
  );
  await writer().putEvents(events);
  await writer().upsertSession(session);
  return session.session_id;
}

function toJsonResult(result: APIGatewayProxyStructuredResultV2): JsonResult {
  return {
    status: result.statusCode ?? 200,
    headers: (result.headers ?? {}) as Record<string, string>,
    body: result.body ? JSON.parse(result.body) : undefined,
  };
}

async function invokeHttp(
  route: Route,
  handler: (event: any, context: any) => Promise<any>,
  request: { url?: string; body?: string; headers?: Record<string, string> },
): Promise<JsonResult> {
  const event = buildHttpEvent(
    { method: route.method, url: request.url ?? route.path, body: request.body, headers: request.headers },
    `${route.method} ${route.path}`,
  );
  return toJsonResult(await handler(event, buildLambdaContext(route.name, route.timeoutSeconds)));
}

const json = { 'content-type': 'application/json' };

export const scheduleOverHttp = (sessionId: string) =>
  invokeHttp(routeNamed('ScheduleSession'), schedule, { body: JSON.stringify({ session_id: sessionId }), headers: json });

export const releaseOverHttp = (releaseId: string) =>
  invokeHttp(routeNamed('ReleaseBatch'), release, { body: JSON.stringify({ release_id: releaseId }), headers: json });

export const pageOverHttp = (query: Record<string, string | number>) =>
  invokeHttp(routeNamed('GetBatchPage'), page, {
    url: `/batch/sessions?${new URLSearchParams(Object.entries(query).map(([k, v]): [string, string] => [k, String(v)]))}`,
  });

/** Invokes the release handler as Step Functions does: the bare payload, no HTTP. */
export const releaseDirect = (payload: unknown) =>
  release(payload, buildLambdaContext('ReleaseBatch', routeNamed('ReleaseBatch').timeoutSeconds));

export { schedule as scheduleHandler, page as pageHandler, release as releaseHandler };
