import { rmSync } from 'node:fs';
import type { LocalS3 } from '../../infra/local/local-s3';
import type { LocalStore } from '../../infra/local/local-store';
import type { RealismProxy } from './dynamo-realism/proxy';

export default async function globalTeardown(): Promise<void> {
  const { __LOCAL_STORE__: store, __REALISM_PROXIES__: proxies = [], __LOCAL_S3__: s3 } = globalThis as {
    __LOCAL_STORE__?: LocalStore;
    __REALISM_PROXIES__?: RealismProxy[];
    __LOCAL_S3__?: { s3: LocalS3; directory: string };
  };
  await Promise.all(proxies.map((proxy) => proxy.close()));
  await store?.close();
  await s3?.s3.close();
  if (s3) rmSync(s3.directory, { recursive: true, force: true });
}
