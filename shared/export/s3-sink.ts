/**
 * The export's objects in an S3 bucket: each one streamed through
 * lib-storage's Upload (a single PutObject when it is small, a multipart
 * upload of 5 MiB parts otherwise), so a part is never held whole in memory.
 */
import { S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { isOutage } from '../data/errors';
import { ServiceUnavailable } from '../domain/errors';
import type { ExportSink } from './sink';

export interface S3ClientOptions {
  /** An S3-compatible endpoint (the local server of `npm start`); unset means S3 itself. */
  endpoint?: string;
  region?: string;
  /** @default 3, the SDK's */
  maxAttempts?: number;
}

/**
 * Against a local endpoint: path-style addressing (the bucket in the path,
 * not the host name) and placeholder credentials unless real ones are set;
 * the local server accepts any.
 */
export function createS3Client(options: S3ClientOptions = {}): S3Client {
  const { endpoint } = options;
  const local = endpoint !== undefined && !/\.(amazonaws\.com|amazonaws\.com\.cn|api\.aws)$/.test(new URL(endpoint).hostname);
  return new S3Client({
    endpoint,
    region: options.region ?? process.env.AWS_REGION ?? (local ? 'us-east-1' : undefined),
    forcePathStyle: local,
    maxAttempts: options.maxAttempts,
    ...(local && !process.env.AWS_ACCESS_KEY_ID ? { credentials: { accessKeyId: 'local', secretAccessKey: 'local' } } : {}),
  });
}

export function s3Sink(client: S3Client, bucket: string): ExportSink {
  return {
    location: bucket,
    async put(key, body, contentType) {
      try {
        // A failing body makes Upload abort its multipart upload (if it had started one) before done() rejects.
        await new Upload({ client, params: { Bucket: bucket, Key: key, Body: body, ContentType: contentType } }).done();
      } catch (error) {
        // S3 throttling or down past the SDK's retries: the workflow retries the call from its cursor.
        if (isOutage(error)) throw new ServiceUnavailable('The export bucket is unavailable right now.', { cause: error });
        throw error;
      }
    },
  };
}
