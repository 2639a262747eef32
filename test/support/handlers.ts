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
import type { Session } from '../../shared/schemas';
import { makeEvent, makeSession, uniqueId } from './fixtures';
import { checkAgainstBuiltDocument } from './openapi-validator';
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

/** The handler's answer, checked against the OpenAPI document like every HTTP answer of the suite. */
function toJsonResult(route: Route, result: APIGatewayProxyStructuredResultV2): JsonResult {
  const answer = {
    status: result.statusCode ?? 200,
    headers: (result.headers ?? {}) as Record<string, string>,
    body: result.body ? JSON.parse(result.body) : undefined,
  };
  // Thrown rather than expect()ed: the unreachable-store probe runs these helpers outside jest.
  const problems = checkAgainstBuiltDocument({ method: route.method, path: route.path, ...answer, headers: new Headers(answer.headers) });
  if (problems.length > 0) throw new Error(`The answer breaks the OpenAPI document:\n${problems.join('\n')}`);
  return answer;
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
  return toJsonResult(route, await handler(event, buildLambdaContext(route.name, route.timeoutSeconds)));
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

export { makeEvent, makeSession, uniqueId };
export { schedule as scheduleHandler, page as pageHandler, release as releaseHandler };
