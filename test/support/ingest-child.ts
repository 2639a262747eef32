/**
 * The ingest function in a process of its own, handling one SQS message that
 * notifies one object of the test's bucket: its memory is the ingest's alone,
 * and it can be killed mid-object as Lambda kills a function. Answers over
 * IPC with the function's answer, the continuations it sent, and its memory.
 *
 * argv[2] (JSON): {key, checkpointEveryMs?}.
 */
import { readFileSync } from 'node:fs';
import { buildLambdaContext } from '../../infra/local/lambda-event';
import { documentClient } from '../../shared/data/store-from-env';
import { SessionWriter } from '../../shared/data/session-writer';
import { INGEST_FUNCTION } from '../../shared/ingest/ingest-function';
import { ingestTask, type ObjectRef } from '../../shared/ingest/ingest-task';
import { invocationHandler } from '../../shared/http/middleware';
import { createS3Client } from '../../shared/s3-client';

export interface IngestChildAnswer {
  response: unknown;
  requeued: ObjectRef[];
  rssBeforeMb: number;
  /** VmHWM: the kernel's high-water mark of this process's resident memory. */
  peakRssMb: number;
}

const MIB = 1024 * 1024;
const peakRssMb = () => Number(/VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'))![1]) / 1024;

async function main() {
  const { key, checkpointEveryMs } = JSON.parse(process.argv[2]!) as { key: string; checkpointEveryMs?: number };
  const requeued: ObjectRef[] = [];
  const handler = invocationHandler(
    ingestTask({
      s3: createS3Client({ endpoint: process.env.S3_ENDPOINT }),
      writer: new SessionWriter(documentClient, process.env.TABLE_NAME!),
      requeue: async (object) => void requeued.push(object),
      checkpointEveryMs,
    }),
  );
  const body = JSON.stringify({ Records: [{ eventName: 'ObjectCreated:Put', s3: { bucket: { name: process.env.EXPORT_BUCKET }, object: { key } } }] });
  const rssBeforeMb = process.memoryUsage().rss / MIB;
  const response = await handler(
    { Records: [{ messageId: 'm1', body, eventSource: 'aws:sqs' }] } as never,
    buildLambdaContext(INGEST_FUNCTION.name, INGEST_FUNCTION.timeoutSeconds),
  );
  process.send!({ response, requeued, rssBeforeMb, peakRssMb: peakRssMb() } satisfies IngestChildAnswer);
  process.disconnect();
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
