import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { startLocalS3 } from '../../infra/local/local-s3';
import { startLocalStore } from '../../infra/local/local-store';

/**
 * One in-memory dynalite and one S3 server (in a temporary directory) for the
 * whole run; each test file gets its own table and bucket on them (see env.ts).
 */
export default async function globalSetup(): Promise<void> {
  const store = await startLocalStore();
  process.env.DYNAMODB_ENDPOINT = store.endpoint;
  const s3Directory = mkdtempSync(path.join(tmpdir(), 'jest-s3-'));
  const s3 = await startLocalS3({ directory: s3Directory, buckets: [] });
  process.env.S3_ENDPOINT = s3.endpoint;
  Object.assign(globalThis, { __LOCAL_STORE__: store, __LOCAL_S3__: { s3, directory: s3Directory } });
}
