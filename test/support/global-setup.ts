import { startLocalStore } from '../../infra/local/local-store';

/** One in-memory dynalite for the whole run; each test file gets its own table on it (see env.ts). */
export default async function globalSetup(): Promise<void> {
  const store = await startLocalStore();
  process.env.DYNAMODB_ENDPOINT = store.endpoint;
  (globalThis as { __LOCAL_STORE__?: typeof store }).__LOCAL_STORE__ = store;
}
