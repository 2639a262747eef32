/**
 * Ingestion on this machine: every object created in the local ingest bucket
 * goes through the ingest function's own code (ingestTask), as an SQS
 * message carrying S3's notification would in AWS, one object after another.
 * In place of the queue, an in-process list: continuations (an object not
 * finished within the function's timeout) and failures are handled again
 * from it; a failure is retried up to the queue's delivery count, then
 * reported. One line per object is printed. At start, every object already
 * in the bucket is looked at again (what a stop interrupted resumes from its
 * checkpoint; what was imported is a duplicate, said nothing about).
 */
import type { Context, SQSRecord } from 'aws-lambda';
import { paginateListObjectsV2, type S3Client } from '@aws-sdk/client-s3';
import { INGEST_FUNCTION } from '../../shared/ingest/ingest-function';
import { ingestTask, type ObjectRef } from '../../shared/ingest/ingest-task';
import { formatOf, reportKeyOf, type ObjectImportInput, type ObjectOutcome } from '../../shared/ingest/object-import';
import { printable } from '../../shared/ingest/lines';
import { invocationHandler } from '../../shared/http/middleware';
import { buildLambdaContext } from './lambda-event';
import type { LocalS3 } from './local-s3';

export interface LocalIngestOptions {
  server: LocalS3;
  bucket: string;
  s3: S3Client;
  writer: ObjectImportInput['writer'];
  print: (line: string) => void;
}

/** S3 writes a notification's key URL-encoded, with "+" for a space; the task decodes it so. */
const encodeKey = (key: string) => encodeURIComponent(key).replace(/%20/g, '+').replace(/%2F/g, '/');

export function ingestLocally(options: LocalIngestOptions): { catchUp(): Promise<void>; idle(): Promise<void> } {
  const pending: { body: string; deliveries: number; quietIfDuplicate?: boolean }[] = [];
  let quiet = false;
  const handler = invocationHandler(
    ingestTask({
      s3: options.s3,
      writer: options.writer,
      requeue: async (object) => void pending.push({ body: JSON.stringify({ continue: object }), deliveries: 0 }),
      onOutcome: (object, result) => {
        if (!(quiet && result.outcome === 'duplicate')) options.print(describe(object, result));
      },
    }),
  );
  let running: Promise<void> = Promise.resolve();

  const drain = async () => {
    for (let message = pending.shift(); message; message = pending.shift()) {
      message.deliveries += 1;
      quiet = message.quietIfDuplicate ?? false;
      const record = { messageId: String(message.deliveries), body: message.body } as SQSRecord;
      const context: Context = buildLambdaContext(INGEST_FUNCTION.name, INGEST_FUNCTION.timeoutSeconds);
      const { batchItemFailures } = await handler({ Records: [{ ...record, eventSource: 'aws:sqs' }] }, context).catch(() => ({
        batchItemFailures: [record],
      }));
      if (batchItemFailures.length === 0) continue;
      if (message.deliveries < INGEST_FUNCTION.queue.maxReceiveCount) pending.push(message);
      else options.print(`S3 ${printable(message.body)} failed ${message.deliveries} times; see the logs (POWERTOOLS_LOG_LEVEL=INFO)`);
    }
  };

  const enqueue = (key: string, quietIfDuplicate = false) => {
    const notification = { Records: [{ eventName: 'ObjectCreated:Put', s3: { bucket: { name: options.bucket }, object: { key: encodeKey(key) } } }] };
    pending.push({ body: JSON.stringify(notification), deliveries: 0, quietIfDuplicate });
    running = running.then(drain);
  };
  options.server.onObjectCreated((bucket, key) => {
    if (bucket === options.bucket && formatOf(key)) enqueue(key);
  });
  return {
    async catchUp() {
      for await (const page of paginateListObjectsV2({ client: options.s3 }, { Bucket: options.bucket, Prefix: 'incoming/' })) {
        for (const { Key } of page.Contents ?? []) if (Key && formatOf(Key)) enqueue(Key, true);
      }
    },
    idle: () => running,
  };
}

function describe(object: ObjectRef, result: ObjectOutcome): string {
  const name = `S3 ${printable(object.key)}`;
  if (result.outcome === 'ignored') return `${name} ignored: ${result.reason}`;
  if (result.outcome === 'duplicate') return `${name} already imported (this version): nothing to do`;
  const { report } = result;
  const counts = `${report.sessions} sessions, ${report.events} events, ${report.rejected.length} lines rejected, ${report.skipped.length} skipped`;
  const where = `report ${reportKeyOf(object.key)}`;
  if (result.outcome === 'failed') return `${name} failed after ${report.lines} lines: ${report.error} (${counts}; ${where})`;
  if (result.outcome === 'continues') return `${name} continues after line ${report.resume_after_line} (${counts} so far)`;
  return `${name} imported: ${counts} (${where})`;
}
