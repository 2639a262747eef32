import { pagingStore } from '../shared/data/dynamo-store';
import { table } from '../shared/data/store-from-env';
import { requireEnv } from '../shared/config';
import { exportTask } from '../shared/export/export-task';
import { createS3Client } from '../shared/s3-client';
import { s3Sink } from '../shared/export/s3-sink';
import { invocationHandler } from '../shared/http/middleware';

const sink = s3Sink(createS3Client({ endpoint: process.env.S3_ENDPOINT || undefined }), requireEnv('EXPORT_BUCKET'));

/**
 * Invoked by the release workflow with {batch_id, release_id, released_at,
 * cursor}: exports the batch to EXPORT_BUCKET until done or its time runs
 * low, then answers {done: true, bucket, manifest_key, sessions, events} or
 * {done: false, cursor} for the next loop. Errors propagate by name
 * (ServiceUnavailable is retried, BatchNotFound and InvalidRequest fail the execution).
 */
export const handler = invocationHandler(exportTask({ store: pagingStore(table), sink }));
