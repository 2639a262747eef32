/**
 * The ingest function's work, one SQS batch at a time: each message is an S3
 * event notification of objects created in the ingest bucket (or one of this
 * function's own continuations), and each object is imported by
 * importObject. Messages are handled one after another, so the time budget
 * is shared and one object's chunk is in memory at a time; Powertools'
 * batch processor answers the ones that failed (partial batch response), so
 * only those are delivered again, and after INGEST_QUEUE.maxReceiveCount
 * deliveries go to the dead-letter queue.
 *
 * An object that is not finished when the call's time runs low (or not
 * started) is sent back to the queue as a continuation message: the next call
 * resumes it from its checkpoint. A continuation counts as a new message, so a
 * large object does not use up its deliveries; every call writes at least one
 * chunk before it stops, so the continuations end.
 */
import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import type { S3Client } from '@aws-sdk/client-s3';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import * as v from 'valibot';
import { countMetric, logger } from '../observability';
import { importObject, type ObjectImportInput, type ObjectOutcome } from './object-import';

/** How long before the call's timeout it stops starting chunks and objects: time to save the report and answer. */
export const INGEST_TIME_RESERVE_MS = 30_000;

const ObjectRef = v.object({ bucket: v.string(), key: v.string() });
export type ObjectRef = v.InferOutput<typeof ObjectRef>;

/** The messages the queue carries. */
const IngestMessage = v.union([
  // An S3 event notification. Keys arrive URL-encoded, with "+" for a space.
  v.object({
    Records: v.array(
      v.object({
        eventName: v.string(),
        s3: v.object({ bucket: v.object({ name: v.string() }), object: v.object({ key: v.string() }) }),
      }),
    ),
  }),
  // What S3 sends once when a notification is configured.
  v.object({ Event: v.literal('s3:TestEvent') }),
  // This function's own: an object to go on with.
  v.object({ continue: ObjectRef }),
]);

/** The objects a message names; an unreadable message throws (it is retried, then dead-lettered). */
export function objectsOf(body: string): ObjectRef[] {
  const message = v.parse(IngestMessage, JSON.parse(body));
  if ('continue' in message) return [message.continue];
  if ('Event' in message) return [];
  return message.Records.filter((r) => r.eventName.startsWith('ObjectCreated:')).map((r) => ({
    bucket: r.s3.bucket.name,
    key: decodeURIComponent(r.s3.object.key.replace(/\+/g, ' ')),
  }));
}

export interface IngestTaskOptions {
  s3: S3Client;
  writer: ObjectImportInput['writer'];
  /** Sends a continuation message to the queue. */
  requeue: (object: ObjectRef) => Promise<void>;
  /** @default INGEST_TIME_RESERVE_MS */
  reserveMs?: number;
  /** @default CHECKPOINT_EVERY_MS */
  checkpointEveryMs?: number;
  /** Sees each object handled (the local server prints a line per object). */
  onOutcome?: (object: ObjectRef, result: ObjectOutcome) => void;
}

export function ingestTask(options: IngestTaskOptions) {
  const reserveMs = options.reserveMs ?? INGEST_TIME_RESERVE_MS;
  return async (event: SQSEvent, context: Context): Promise<SQSBatchResponse> => {
    const timeIsShort = () => context.getRemainingTimeInMillis() < reserveMs;
    const handleRecord = async (record: SQSRecord) => {
      for (const object of objectsOf(record.body)) {
        if (timeIsShort()) {
          await options.requeue(object);
          continue;
        }
        const result = await importObject({
          ...object,
          s3: options.s3,
          writer: options.writer,
          shouldStop: timeIsShort,
          checkpointEveryMs: options.checkpointEveryMs,
        });
        logOutcome(object, result);
        options.onOutcome?.(object, result);
        // Each call writes at least one chunk before it stops: a continuation always makes progress.
        if (result.outcome === 'continues') await options.requeue(object);
      }
    };
    return processPartialResponse(event, handleRecord, new BatchProcessor(EventType.SQS), {
      context,
      // One object at a time: the time budget is shared, and memory holds one chunk.
      processInParallel: false,
      // Failed messages are answered as failures, not thrown: Lambda's Errors then mean a crash.
      throwOnFullBatchFailure: false,
    });
  };
}

/** One log line per object and call; the metrics of each object once it is finished (its report's totals). */
function logOutcome(object: ObjectRef, result: ObjectOutcome): void {
  if (result.outcome === 'ignored' || result.outcome === 'duplicate') {
    logger.info(`Object ${result.outcome}`, { ...object, ...(result.outcome === 'ignored' ? { reason: result.reason } : {}) });
    return;
  }
  const { report } = result;
  if (result.outcome !== 'continues') {
    countMetric('SessionsIngested', report.sessions);
    countMetric('EventsIngested', report.events);
    countMetric('LinesRejected', report.rejected.length);
  }
  // Rejected lines are counted (an alarm watches them) and listed in the report; only an unreadable object warns.
  const level = result.outcome === 'failed' ? 'warn' : 'info';
  logger[level](`Object ${result.outcome}`, {
    ...object,
    status: report.status,
    lines: report.lines,
    sessions: report.sessions,
    events: report.events,
    rejected: report.rejected.length,
    skipped: report.skipped.length,
    ...(report.error ? { error: report.error } : {}),
  });
}
