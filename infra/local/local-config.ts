/**
 * Defaults of the local runtime, shared by `npm start` and `npm run import`
 * so that the import lands, by default, in the store `npm start` serves.
 */
export const LOCAL_DEFAULTS = {
  /** HTTP port of the local API. */
  port: 3000,
  /** Port of the embedded DynamoDB-compatible store (dynalite). */
  dynamodbPort: 8000,
  /** Where the embedded store keeps its data between runs. */
  dataDir: '.data',
  /** The local table's name. */
  tableName: 'session-improvement',
  /** Port of the embedded S3-compatible server (s3rver). */
  s3Port: 4568,
  /** The local bucket exports go to (in AWS: the stack's ExportBucketName). */
  exportBucket: 'session-improvement-exports',
  /** The local bucket for objects to import (ingestion). */
  ingestBucket: 'session-improvement-ingest',
} as const;

/** The buckets the local S3 server creates at start. */
export const LOCAL_BUCKETS = [LOCAL_DEFAULTS.exportBucket, LOCAL_DEFAULTS.ingestBucket] as const;

/** The endpoint of the embedded store on this machine (and of the embedded S3 server: same form). */
export const localStoreEndpoint = (port: number): string => `http://127.0.0.1:${port}`;

/** A TCP port from the environment, or the fallback; anything else is a clear startup error. */
export function portFromEnv(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const port = Number(raw);
  if (!/^\d+$/.test(raw) || port > 65_535) throw new Error(`${name} must be a port number (0-65535), not "${raw}"`);
  return port;
}
