import type { Context } from 'aws-lambda';
import { releasingStore } from '../shared/data/dynamo-store';
import { table } from '../shared/data/store-from-env';
import type { ReleaseOrigin } from '../shared/domain/model';
import { releaseCollectingBatch } from '../shared/domain/release-batch';
import { httpHandler, invocationHandler, parseInput, type HttpEvent } from '../shared/http/middleware';
import { jsonResponse } from '../shared/http/response';
import { countMetric, logger } from '../shared/observability';
import { ReleaseBatchBody } from '../shared/schemas';

const store = releasingStore(table);

async function release(input: unknown, origin: ReleaseOrigin) {
  const { release_id } = parseInput(ReleaseBatchBody, input);
  logger.appendKeys({ release_id });
  const release = await releaseCollectingBatch(store, release_id, { origin });
  countMetric('BatchReleased');
  logger.info('Batch released', { batch_id: release.batch_id, released_at: release.released_at });
  return release;
}

/**
 * POST /batch/release — releases the collecting batch. Its record is written
 * with origin "api": the table's stream starts the workflow that waits out the
 * settle window and announces it, as for a scheduled release.
 */
const releaseOverHttp = httpHandler(async (event) => jsonResponse(200, await release(event.body, 'api')), {
  jsonBody: true,
});

/**
 * Invoked by Step Functions with {"release_id"}: returns the same object, and
 * lets domain errors (named NoCollectingBatch, ServiceUnavailable,
 * InvalidRequest) propagate so the workflow can catch or retry them by name.
 */
const releaseForWorkflow = invocationHandler((event) => release(event, 'workflow'));

const isHttpEvent = (event: unknown): event is HttpEvent =>
  typeof (event as HttpEvent)?.requestContext?.http?.method === 'string';

export const handler = (event: unknown, context: Context) =>
  isHttpEvent(event) ? releaseOverHttp(event, context) : releaseForWorkflow(event, context);
