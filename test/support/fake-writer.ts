/** Import writers that write nothing to a store, for tests of the import's own logic: they find no session scheduled. */
import type { UbiSources } from '../../shared/data/session-writer';
import type { ImportWriter } from '../../shared/ingest/run';
import type { UbiImportWriter } from '../../shared/ingest/ubi';

export function fakeWriter(parts: { putEvents?: ImportWriter['putEvents']; upsertSession?: (...args: Parameters<ImportWriter['upsertSession']>) => Promise<unknown> }): ImportWriter {
  return {
    readImportState: async () => ({ assignments: new Map(), pointer: undefined }),
    putEvents: parts.putEvents ?? (async () => undefined),
    upsertSession: async (...args) => void (await parts.upsertSession?.(...args)),
  };
}

/** A UBI import writer that keeps the sources in memory, so sessions are recomputed as against a store. */
export function fakeUbiWriter(parts: {
  putEvents?: UbiImportWriter['putEvents'];
  upsertSession?: (...args: Parameters<UbiImportWriter['upsertUbiSession']>) => Promise<unknown>;
}): UbiImportWriter {
  const stored = new Map<string, UbiSources>();
  const of = (sessionId: string) => stored.get(sessionId) ?? stored.set(sessionId, { sessionId, queries: [], impressions: [] }).get(sessionId)!;
  return {
    readImportState: async () => ({ assignments: new Map(), pointer: undefined }),
    putEvents: parts.putEvents ?? (async () => undefined),
    putUbiSources: async (sources) => {
      for (const source of sources) {
        const { queries, impressions } = of(source.sessionId);
        if ('query' in source && !queries.some((q) => q.documentId === source.query.documentId)) queries.push(source.query);
        if ('impression' in source && !impressions.some((i) => i.eventId === source.impression.eventId)) impressions.push(source.impression);
      }
    },
    readUbiSources: async (sessionId) => structuredClone(of(sessionId)),
    upsertUbiSession: async (...args) => {
      await parts.upsertSession?.(...args);
      return true;
    },
  };
}
