import type { LocalStore } from '../../infra/local/local-store';

export default async function globalTeardown(): Promise<void> {
  await (globalThis as { __LOCAL_STORE__?: LocalStore }).__LOCAL_STORE__?.close();
}
