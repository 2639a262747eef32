import { startLocalStore } from '../../infra/local/local-store';
import { startRealismProxy, type RealismOptions } from './dynamo-realism/proxy';

/** What the shared realism proxy simulates (see through-realism.ts). */
export const REALISM_SETTINGS = {
  indexLagMs: 250,
  throttle: { scale: 1 / 100 },
} as const satisfies RealismOptions;

/**
 * One in-memory dynalite for the whole run; each test file gets its own table
 * on it (see env.ts). In front of it, one DynamoDB realism proxy with index
 * lag and scaled per-key throttling, for the test files that import
 * through-realism.ts first.
 */
export default async function globalSetup(): Promise<void> {
  const store = await startLocalStore();
  const proxy = await startRealismProxy({ target: store.endpoint, ...REALISM_SETTINGS });
  process.env.DYNAMODB_ENDPOINT = store.endpoint;
  process.env.REALISM_ENDPOINT = proxy.endpoint;
  Object.assign(globalThis, { __LOCAL_STORE__: store, __REALISM_PROXY__: proxy });
}
