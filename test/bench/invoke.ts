/**
 * Calls the real handler modules in process, with the events API Gateway
 * would send (infra/local/lambda-event.ts). The handler modules read
 * TABLE_NAME and DYNAMODB_ENDPOINT when loaded, so a worker sets them first
 * and loads the handlers with loadHandlers().
 */
import type { APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import { buildHttpEvent, buildLambdaContext } from '../../infra/local/lambda-event';
import { routeNamed, type Route } from '../../shared/routes';

type Handler = (event: unknown, context: Context) => Promise<APIGatewayProxyStructuredResultV2>;

export interface Handlers {
  page: Handler;
  schedule: Handler;
  release: Handler;
  /** The DocumentClient the handlers share: workers attach counting middleware to it. */
  documentClient: typeof import('../../shared/data/store-from-env').documentClient;
  /** The shards a batch the handlers open gets (SHARD_COUNT, else the default). */
  shards: number;
}

export async function loadHandlers(): Promise<Handlers> {
  const [page, schedule, release, fromEnv] = await Promise.all([
    import('../../functions/get-batch-page'),
    import('../../functions/schedule-session'),
    import('../../functions/release-batch'),
    import('../../shared/data/store-from-env'),
  ]);
  return {
    page: page.handler as Handler,
    schedule: schedule.handler as Handler,
    release: release.handler as Handler,
    documentClient: fromEnv.documentClient,
    shards: fromEnv.table.shards,
  };
}

async function invoke(route: Route, handler: Handler, request: { url?: string; body?: string }) {
  const event = buildHttpEvent(
    {
      method: route.method,
      url: request.url ?? route.path,
      body: request.body,
      headers: request.body === undefined ? {} : { 'content-type': 'application/json' },
    },
    `${route.method} ${route.path}`,
  );
  const result = await handler(event, buildLambdaContext(route.name, route.timeoutSeconds));
  return { status: result.statusCode ?? 200, body: result.body ?? '' };
}

export interface PageQuery {
  batchId: string;
  afterNumber: number;
  limit: number;
  eventsLimit: number;
}

export const pageUrl = (q: PageQuery) =>
  `/batch/sessions?batch_id=${q.batchId}&after_number=${q.afterNumber}&limit=${q.limit}&events_limit=${q.eventsLimit}`;

/** GET /batch/sessions through the handler; the body stays a string, as Lambda would hand it on. */
export const invokePage = (handlers: Handlers, query: PageQuery) =>
  invoke(routeNamed('GetBatchPage'), handlers.page, { url: pageUrl(query) });

export const invokeSchedule = (handlers: Handlers, sessionId: string) =>
  invoke(routeNamed('ScheduleSession'), handlers.schedule, { body: JSON.stringify({ session_id: sessionId }) });

export const invokeRelease = (handlers: Handlers, releaseId: string) =>
  invoke(routeNamed('ReleaseBatch'), handlers.release, { body: JSON.stringify({ release_id: releaseId }) });

/** Fails loudly when a benchmarked call did not do what it was meant to (a fast 404 is no benchmark). */
export function expectStatus(result: { status: number; body: string }, status: number, what: string) {
  if (result.status !== status) throw new Error(`${what}: expected ${status}, got ${result.status} ${result.body.slice(0, 300)}`);
}
