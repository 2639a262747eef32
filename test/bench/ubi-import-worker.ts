/**
 * The UBI import's memory: it reads and writes the input chunk by chunk, so
 * its heap is bounded by a chunk, not the file. Imports COPIES copies of the
 * demo sample (query ids made distinct per copy) into a writer that keeps
 * only the current chunk's sources (as a store would hand them back), in a
 * process of its own, and reports the most heap in use, after a full garbage
 * collection, when a chunk's writes begin: that chunk is read and held then.
 *
 * Input (argv[2], JSON): {copies}.
 */
import { readFileSync } from 'node:fs';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { DEMO_DATA_FILE } from '../../infra/local/demo-data';
import type { UbiSource } from '../../shared/data/session-writer';
import { importUbi } from '../../shared/ingest/ubi';
import { answerParent } from './workers';

export interface UbiImportInput {
  copies: number;
}

export interface UbiImportResult {
  documents: number;
  fileMb: number;
  sessions: number;
  events: number;
  /** Chunks the input was written in. */
  chunks: number;
  /** The most heap in use when a chunk's writes began, after a full collection, above what it was before the import. */
  heldHeapMb: number;
}

answerParent(async (): Promise<UbiImportResult> => {
  const { copies } = JSON.parse(process.argv[2]!) as UbiImportInput;
  const sample = readFileSync(DEMO_DATA_FILE, 'utf8');
  const copy = (k: number) => sample.replace(/"query_id": "([^"]+)"/g, `"query_id": "$1-${k}"`);
  const file = Buffer.from(Array.from({ length: copies }, (_, k) => copy(k)).join(''));
  const documents = copies * sample.split('\n').filter((line) => line.trim() && !line.startsWith('{"index"')).length;

  const source = (async function* () {
    for (let i = 0; i < file.length; i += 64 * 1024) yield file.subarray(i, i + 64 * 1024);
  })();
  // gc() without starting the worker with --expose-gc: the flag can be set at run time.
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  gc();
  const before = process.memoryUsage().heapUsed;
  let held = 0;
  let chunks = 0;
  // Each chunk begins with the state read: measured there, and the previous chunk's sources forgotten.
  let sources: UbiSource[] = [];
  const report = await importUbi(source, {
    readImportState: async () => {
      chunks++;
      sources = [];
      gc();
      held = Math.max(held, process.memoryUsage().heapUsed - before);
      return { assignments: new Map(), pointer: undefined };
    },
    putEvents: async () => undefined,
    putUbiSources: async (batch) => void sources.push(...batch),
    readUbiSources: async (sessionId) => {
      const of = sources.filter((s) => s.sessionId === sessionId);
      return {
        sessionId,
        queries: of.flatMap((s) => ('query' in s ? [s.query] : [])),
        impressions: of.flatMap((s) => ('impression' in s ? [s.impression] : [])),
      };
    },
    upsertUbiSession: async () => true,
  });
  return {
    documents,
    fileMb: file.length / 1024 ** 2,
    sessions: report.sessions,
    events: report.events,
    chunks,
    heldHeapMb: held / 1024 ** 2,
  };
});
