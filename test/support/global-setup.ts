import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { startLocalS3 } from '../../infra/local/local-s3';
import { startLocalStore } from '../../infra/local/local-store';
import { startRealismProxy, type RealismOptions } from './dynamo-realism/proxy';

/** The realism proxies in front of dynalite, by the variable that holds each one's endpoint. */
export const REALISM_PROXIES = {
  /** Used by through-realism.ts: throttling the SDK's retries mostly absorb. */
  REALISM_ENDPOINT: { indexLagMs: 250, throttle: { scale: 1 / 100 } },
  /** Used by through-overloaded-realism.ts: throttling that often outlasts them. */
  OVERLOADED_REALISM_ENDPOINT: { indexLagMs: 250, throttle: { scale: 1 / 300 } },
} as const satisfies Record<string, RealismOptions>;

/**
 * One in-memory dynalite and one S3 server (in a temporary directory) for the
 * whole run; each test file gets its own table and bucket on them (see env.ts).
 * In front of dynalite, the realism proxies, for the test files that import
 * through-realism.ts or through-overloaded-realism.ts first.
 */
export default async function globalSetup(): Promise<void> {
  const store = await startLocalStore();
  const proxies = [];
  for (const [variable, options] of Object.entries(REALISM_PROXIES)) {
    const proxy = await startRealismProxy({ target: store.endpoint, ...options });
    process.env[variable] = proxy.endpoint;
    proxies.push(proxy);
  }
  process.env.DYNAMODB_ENDPOINT = store.endpoint;
  const s3Directory = mkdtempSync(path.join(tmpdir(), 'jest-s3-'));
  const s3 = await startLocalS3({ directory: s3Directory, buckets: [] });
  process.env.S3_ENDPOINT = s3.endpoint;
  Object.assign(globalThis, { __LOCAL_STORE__: store, __REALISM_PROXIES__: proxies, __LOCAL_S3__: { s3, directory: s3Directory } });
}
