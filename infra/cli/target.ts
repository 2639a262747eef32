/**
 * The table a command-line tool works on: the local store of `npm start` by
 * default (127.0.0.1:$DYNAMODB_PORT, table $TABLE_NAME), or any endpoint with
 * DYNAMODB_ENDPOINT and TABLE_NAME (a deployed table included). Resolved and
 * checked the same way by every tool, before it reads its input. Likewise the
 * bucket exports go to: the local S3 server's, or EXPORT_BUCKET.
 */
import { HeadBucketCommand } from '@aws-sdk/client-s3';
import { createDynamoClient } from '../../shared/data/client';
import { tableStatus } from '../../shared/data/table-status';
import { createS3Client } from '../../shared/s3-client';
import { LOCAL_DEFAULTS, localStoreEndpoint, portFromEnv } from '../local/local-config';

export interface Target {
  endpoint: string;
  tableName: string;
}

export const TARGET_HELP = `Target: the local store of \`npm start\` (http://127.0.0.1:$DYNAMODB_PORT, default
${LOCAL_DEFAULTS.dynamodbPort}; table $TABLE_NAME, default "${LOCAL_DEFAULTS.tableName}"), or any endpoint
with DYNAMODB_ENDPOINT (e.g. https://dynamodb.eu-west-1.amazonaws.com) and TABLE_NAME.`;

export function resolveTarget(env: NodeJS.ProcessEnv = process.env): Target {
  return {
    endpoint: env.DYNAMODB_ENDPOINT || localStoreEndpoint(portFromEnv('DYNAMODB_PORT', LOCAL_DEFAULTS.dynamodbPort)),
    tableName: env.TABLE_NAME || LOCAL_DEFAULTS.tableName,
  };
}

/**
 * Says plainly when nothing answers at the endpoint or the table is missing.
 * Anything else (e.g. no dynamodb:DescribeTable permission) is left for the
 * tool's own calls to report.
 */
export async function checkTarget({ endpoint, tableName }: Target): Promise<void> {
  const client = createDynamoClient({ endpoint, maxAttempts: 1 });
  try {
    const table = await tableStatus(client, tableName);
    if (table.status === 'missing') {
      throw new Error(`No table "${tableName}" at ${endpoint}. Start the local service with \`npm start\`, or set TABLE_NAME.`);
    }
    if (table.status === 'unreachable') {
      throw new Error(`Nothing answers at ${endpoint}. Start the local service with \`npm start\`, or set DYNAMODB_ENDPOINT.`);
    }
  } finally {
    client.destroy();
  }
}

export interface ExportTarget {
  /** undefined: S3 itself, in AWS_REGION. */
  endpoint: string | undefined;
  bucket: string;
}

export const EXPORT_TARGET_HELP = `Exports go to the local S3 server of \`npm start\` (http://127.0.0.1:$S3_PORT, default
${LOCAL_DEFAULTS.s3Port}; bucket "${LOCAL_DEFAULTS.exportBucket}"), or to EXPORT_BUCKET in S3 (the stack's
ExportBucketName output; your AWS credentials), or to any S3-compatible endpoint with S3_ENDPOINT.`;

export function resolveExportTarget(env: NodeJS.ProcessEnv = process.env): ExportTarget {
  const local = localStoreEndpoint(portFromEnv('S3_PORT', LOCAL_DEFAULTS.s3Port));
  return {
    // A bucket named without an endpoint is a bucket in S3.
    endpoint: env.S3_ENDPOINT || (env.EXPORT_BUCKET ? undefined : local),
    bucket: env.EXPORT_BUCKET || LOCAL_DEFAULTS.exportBucket,
  };
}

/** Says plainly when nothing answers at the endpoint or the bucket is missing; anything else is left to the export's own calls. */
export async function checkExportTarget({ endpoint, bucket }: ExportTarget): Promise<void> {
  const client = createS3Client({ endpoint, maxAttempts: 1 });
  const where = endpoint ?? 'S3';
  try {
    await client.send(new HeadBucketCommand({ Bucket: bucket }));
  } catch (error) {
    const e = error as { name?: string; code?: string; $metadata?: { httpStatusCode?: number } };
    if (e.$metadata?.httpStatusCode === 404 || e.name === 'NotFound' || e.name === 'NoSuchBucket') {
      throw new Error(`No bucket "${bucket}" at ${where}. Start the local service with \`npm start\`, or set EXPORT_BUCKET.`);
    }
    if (e.$metadata?.httpStatusCode === undefined && endpoint) {
      throw new Error(`Nothing answers at ${endpoint}. Start the local service with \`npm start\`, or set S3_ENDPOINT or EXPORT_BUCKET.`);
    }
  } finally {
    client.destroy();
  }
}
