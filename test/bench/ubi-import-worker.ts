/**
 * The UBI import's memory: it holds the whole input before writing (events may
 * precede their query), so its heap grows with the file. Imports COPIES copies
 * of the demo sample (query ids made distinct per copy) into a writer that
 * discards, in a process of its own, and reports the heap still in use, after
 * a full garbage collection, when the first write comes: everything is read
 * and held then.
 *
 * Input (argv[2], JSON): {copies}.
 */
import { readFileSync } from 'node:fs';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { DEMO_DATA_FILE } from '../../infra/local/demo-data';
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
  /** Heap in use at the first write, after a full collection, above what it was before the import. */
  heldHeapMb: number;
  heapPerDocumentKb: number;
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
  let held: number | undefined;
  const measureOnce = async () => {
    if (held !== undefined) return;
    gc();
    held = process.memoryUsage().heapUsed - before;
  };
  const report = await importUbi(source, {
    readImportState: async () => ({ assignments: new Map(), pointer: undefined }),
    putEvents: measureOnce,
    upsertSession: measureOnce,
  });
  return {
    documents,
    fileMb: file.length / 1024 ** 2,
    sessions: report.sessions,
    events: report.events,
    heldHeapMb: held! / 1024 ** 2,
    heapPerDocumentKb: held! / documents / 1024,
  };
});
