/**
 * The export's objects in an S3 bucket: each one streamed through
 * lib-storage's Upload (a single PutObject when it is small, a multipart
 * upload of 5 MiB parts otherwise), so a part is never held whole in memory.
 */
import type { S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { isOutage } from '../data/errors';
import { ServiceUnavailable } from '../domain/errors';
import type { ExportSink } from './sink';

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
