import { scheduleSession } from '../shared/domain/schedule-session';
import { schedulingStore } from '../shared/data/dynamo-store';
import { table } from '../shared/data/store-from-env';
import { httpHandler, parseInput } from '../shared/http/middleware';
import { jsonResponse } from '../shared/http/response';
import { countMetric, countSkip, logger } from '../shared/observability';
import { ScheduleSessionBody } from '../shared/schemas';

const store = schedulingStore(table);

/** Time kept back from the Lambda timeout for answering after the last write. */
const DEADLINE_MARGIN_MS = 1_000;

/** POST /session/use-for-improvement — schedules a session into the collecting batch. */
export const handler = httpHandler(
  async (event, context) => {
    const { session_id } = parseInput(ScheduleSessionBody, event.body);
    logger.appendKeys({ session_id });

    const outcome = await scheduleSession(store, session_id, {
      deadline: Date.now() + context.getRemainingTimeInMillis() - DEADLINE_MARGIN_MS,
    });

    if (outcome.status === 'skipped') countSkip(outcome.reason);
    else countMetric(outcome.status === 'scheduled' ? 'SessionScheduled' : 'SessionAlreadyScheduled');
    logger.info('Session handled', { ...outcome });
    return jsonResponse(200, outcome);
  },
  { jsonBody: true },
);
