import { getBatchPage } from '../shared/domain/get-batch-page';
import { pagingStore } from '../shared/data/dynamo-store';
import { table } from '../shared/data/store-from-env';
import { httpHandler, parseInput } from '../shared/http/middleware';
import { jsonTextResponse } from '../shared/http/response';
import { countMetric, logger } from '../shared/observability';
import { BatchPageQuery } from '../shared/schemas';

const store = pagingStore(table);

/** GET /batch/sessions — one page of a batch's sessions with their events. */
export const handler = httpHandler(
  async (event) => {
    const query = parseInput(BatchPageQuery, event.queryStringParameters ?? {});
    logger.appendKeys({ batch_id: query.batch_id });

    const { page, json } = await getBatchPage(store, {
      batchId: query.batch_id,
      afterNumber: query.after_number,
      limit: query.limit,
      eventsLimit: query.events_limit,
    });

    countMetric('SessionsPaged', page.sessions.length);
    logger.info('Page served', { after_number: query.after_number, sessions: page.sessions.length });
    return jsonTextResponse(200, json);
  },
  { jsonBody: false },
);
