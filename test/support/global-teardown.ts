import type { LocalStore } from '../../infra/local/local-store';
import type { RealismProxy } from './dynamo-realism/proxy';

export default async function globalTeardown(): Promise<void> {
  const { __LOCAL_STORE__: store, __REALISM_PROXIES__: proxies = [] } = globalThis as {
    __LOCAL_STORE__?: LocalStore;
    __REALISM_PROXIES__?: RealismProxy[];
  };
  await Promise.all(proxies.map((proxy) => proxy.close()));
  await store?.close();
}
