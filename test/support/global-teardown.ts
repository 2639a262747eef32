import type { LocalStore } from '../../infra/local/local-store';
import type { RealismProxy } from './dynamo-realism/proxy';

export default async function globalTeardown(): Promise<void> {
  const { __LOCAL_STORE__: store, __REALISM_PROXY__: proxy } = globalThis as { __LOCAL_STORE__?: LocalStore; __REALISM_PROXY__?: RealismProxy };
  await proxy?.close();
  await store?.close();
}
