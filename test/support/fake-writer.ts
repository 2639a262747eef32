/** An import writer that writes nothing, for tests of the import's own logic: it finds no session scheduled. */
import type { ImportWriter } from '../../shared/ingest/run';

export function fakeWriter(parts: { putEvents?: ImportWriter['putEvents']; upsertSession?: (...args: Parameters<ImportWriter['upsertSession']>) => Promise<unknown> }): ImportWriter {
  return {
    readImportState: async () => ({ assignments: new Map(), pointer: undefined }),
    putEvents: parts.putEvents ?? (async () => undefined),
    upsertSession: async (...args) => void (await parts.upsertSession?.(...args)),
  };
}
