import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { requireEnv } from '../shared/config';
import { SessionWriter } from '../shared/data/session-writer';
import { table } from '../shared/data/store-from-env';
import { ingestTask } from '../shared/ingest/ingest-task';
import { invocationHandler } from '../shared/http/middleware';
import { createS3Client } from '../shared/s3-client';

const sqs = new SQSClient({});
const queueUrl = requireEnv('INGEST_QUEUE_URL');

/**
 * Invoked by the ingest queue (S3 notifications of objects created under
 * incoming/ of INGEST_BUCKET): imports each object into the table, writes its
 * report under reports/, and answers the messages that failed (partial batch
 * response) so only those are delivered again.
 */
export const handler = invocationHandler(
  ingestTask({
    s3: createS3Client({ endpoint: process.env.S3_ENDPOINT || undefined }),
    writer: new SessionWriter(table.db, table.tableName),
    requeue: async (object) => {
      await sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: JSON.stringify({ continue: object }) }));
    },
  }),
);
