/**
 * The export as the release workflow invokes it: one call per loop of the
 * workflow, with the release it exports and the cursor the last call
 * returned, answering either "not done, here is the cursor" or where the
 * finished export is. The Lambda handler (functions/export-batch.ts) is this
 * with the store and the bucket taken from its environment.
 */
import type { Context } from 'aws-lambda';
import * as v from 'valibot';
import type { PagingStore } from '../domain/store';
import { parseInput } from '../http/middleware';
import { countMetric, logger } from '../observability';
import { UnixSeconds } from '../data-schemas';
import { Id } from '../schemas';
import { exportBatch, type ExportCursor } from './export-batch';
import { partKey, type PartLimits } from './layout';
import type { ExportSink } from './sink';

/**
 * How long before its timeout a call stops starting sessions and returns its
 * cursor: time to give up the part in progress and answer, with room for a
 * slow last read.
 */
export const EXPORT_TIME_RESERVE_MS = 30_000;

const Count = v.pipe(v.number('must be a number'), v.integer('must be an integer'), v.minValue(0, 'must not be negative'));

const PartEntry = v.strictObject({
  key: v.string('must be a string'),
  sessions: Count,
  events: Count,
  bytes: Count,
  sha256: v.pipe(v.string('must be a string'), v.regex(/^[0-9a-f]{64}$/, 'must be 64 hex digits')),
});

const Cursor = v.strictObject(
  {
    after_number: v.pipe(Count, v.maxValue(Number.MAX_SAFE_INTEGER, 'must be a safe integer')),
    parts: v.array(PartEntry, 'must be an array'),
  },
  'must be an export cursor',
);

export const ExportTaskInput = v.pipe(
  v.strictObject(
    {
      batch_id: Id,
      release_id: Id,
      released_at: UnixSeconds,
      /** null on the first call. */
      cursor: v.nullable(Cursor),
    },
    'must be an object',
  ),
  // A cursor names the parts of this batch, in order: anything else is not one this export returned.
  v.check(
    ({ batch_id, cursor }) => !cursor || cursor.parts.every((part, i) => part.key === partKey(batch_id, i)),
    'the cursor names parts that are not this batch\'s, in order',
  ),
);

export type ExportTaskResult =
  | { done: false; cursor: ExportCursor }
  | { done: true; bucket: string; manifest_key: string; sessions: number; events: number };

export interface ExportTaskOptions {
  store: PagingStore;
  sink: ExportSink;
  /** @default PART_LIMITS */
  limits?: PartLimits;
  /** @default EXPORT_TIME_RESERVE_MS */
  reserveMs?: number;
}

export function exportTask(options: ExportTaskOptions) {
  const reserveMs = options.reserveMs ?? EXPORT_TIME_RESERVE_MS;
  return async (event: unknown, context: Context): Promise<ExportTaskResult> => {
    const input = parseInput(ExportTaskInput, event);
    logger.appendKeys({ batch_id: input.batch_id, release_id: input.release_id });
    const step = await exportBatch(options.store, options.sink, {
      batchId: input.batch_id,
      releaseId: input.release_id,
      releasedAt: input.released_at,
      cursor: input.cursor,
      limits: options.limits,
      timeLeftMs: () => context.getRemainingTimeInMillis() - reserveMs,
      onPart: (part) => logger.info('Part stored', { ...part }),
    });
    const partsBefore = input.cursor?.parts.length ?? 0;
    countMetric('PartsExported', (step.done ? step.manifest.parts.length : step.cursor.parts.length) - partsBefore);
    if (!step.done) {
      logger.info('Export continues in the next call', { after_number: step.cursor.after_number, parts: step.cursor.parts.length });
      return { done: false, cursor: step.cursor };
    }
    const { sessions, events } = step.manifest;
    countMetric('SessionsExported', sessions);
    logger.info('Batch exported', { manifest_key: step.manifestKey, sessions, events, parts: step.manifest.parts.length });
    return { done: true, bucket: options.sink.location, manifest_key: step.manifestKey, sessions, events };
  };
}
