/**
 * The S3 client of the export and the ingest, in AWS or against the
 * embedded S3-compatible server of `npm start`.
 */
import { S3Client } from '@aws-sdk/client-s3';

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
