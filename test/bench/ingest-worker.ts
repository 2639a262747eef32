/**
 * Ingest throughput: objects put into the bench's S3 server (a process of
 * its own) and imported by the ingest function's code (ingestTask, as SQS
 * invokes it) into a fresh table on the bench's dynalite, in a process of
 * its own: the demo UBI file as it is, and a gzip JSON Lines object of
 * generated sessions. Each object is timed from the call to its report.
 *
 * Input (argv[2], JSON): {jsonlSessions, eventsPerSession}.
 */
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { readFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { DEMO_DATA_FILE } from '../../infra/local/demo-data';
import { buildLambdaContext } from '../../infra/local/lambda-event';
import { ensureTable } from '../../infra/local/local-store';
import { createDocumentClient } from '../../shared/data/client';
import { SessionWriter } from '../../shared/data/session-writer';
import { invocationHandler } from '../../shared/http/middleware';
import { INGEST_FUNCTION } from '../../shared/ingest/ingest-function';
import { ingestTask } from '../../shared/ingest/ingest-task';
import type { ObjectReport } from '../../shared/ingest/object-import';
import { createS3Client } from '../../shared/s3-client';
import { answerParent } from './workers';

export interface IngestInput {
  jsonlSessions: number;
  eventsPerSession: number;
}

export interface IngestObjectResult {
  key: string;
  bytes: number;
  lines: number;
  sessions: number;
  events: number;
  seconds: number;
  sessionsPerSecond: number;
}

export type IngestResult = IngestObjectResult[];

answerParent(async (): Promise<IngestResult> => {
  const input = JSON.parse(process.argv[2]!) as IngestInput;
  const bucket = process.env.EXPORT_BUCKET!;
  await ensureTable(process.env.DYNAMODB_ENDPOINT!, process.env.TABLE_NAME!);
  const s3 = createS3Client({ endpoint: process.env.S3_ENDPOINT });
  const reports: ObjectReport[] = [];
  const handler = invocationHandler(
    ingestTask({
      s3,
      writer: new SessionWriter(createDocumentClient({ endpoint: process.env.DYNAMODB_ENDPOINT }), process.env.TABLE_NAME!),
      requeue: async () => {
        throw new Error('An object of the bench took longer than one call.');
      },
      onOutcome: (_object, result) => {
        if ('report' in result) reports.push(result.report);
      },
    }),
  );

  const jsonl = Array.from({ length: input.jsonlSessions }, (_, i) =>
    JSON.stringify({
      session_id: `bench-ingest-${i}`,
      search_query: `query ${i % 97}`,
      created_at: 1_790_000_000 + i,
      search_results: Array.from({ length: 10 }, (_, r) => ({ object_id: `p${(i + r) % 500}`, rank: r })),
      is_irrelevant: false,
      is_payload_search: false,
      events: Array.from({ length: input.eventsPerSession }, (_, e) => ({
        event_id: `bench-ingest-${i}-${e}`,
        object_id: `p${(i + e) % 500}`,
        event_type: e % 3 === 0 ? 'click' : 'view',
        created_at: 1_790_000_001 + i + e,
      })),
    }),
  ).join('\n');
  const objects: [string, Buffer][] = [
    ['incoming/ubi/demo.ndjson', readFileSync(DEMO_DATA_FILE)],
    ['incoming/jsonl/bench.jsonl.gz', gzipSync(`${jsonl}\n`)],
  ];

  const results: IngestResult = [];
  for (const [key, body] of objects) {
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body }));
    const record = { messageId: key, eventSource: 'aws:sqs', body: JSON.stringify({ Records: [{ eventName: 'ObjectCreated:Put', s3: { bucket: { name: bucket }, object: { key } } }] }) };
    const started = performance.now();
    const response = await handler({ Records: [record] } as never, buildLambdaContext(INGEST_FUNCTION.name, INGEST_FUNCTION.timeoutSeconds));
    const seconds = (performance.now() - started) / 1000;
    const report = reports.find((r) => r.key === key);
    if (response.batchItemFailures.length > 0 || report?.status !== 'complete') throw new Error(`${key} was not imported: ${JSON.stringify(report)}`);
    results.push({ key, bytes: body.length, lines: report.lines, sessions: report.sessions, events: report.events, seconds, sessionsPerSecond: report.sessions / seconds });
  }
  return results;
});
