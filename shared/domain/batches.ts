/**
 * The batches there are, with their state and, once released, their release:
 * what the API has no route for, for the local console and the export tool.
 */
import { batchIdOf, batchSeqOf, batchStateOf, type BatchSummary, type CollectingPointer } from './model';
import type { BatchRecord, BatchRecordReader, SessionStore } from './store';

type BatchSources = Pick<SessionStore, 'readPointer'> & BatchRecordReader;

/** Every batch, oldest first (two rounds: the pointer, then the batch records). */
export async function listBatches(store: BatchSources): Promise<BatchSummary[]> {
  const pointer = await store.readPointer();
  if (!pointer) return [];
  const ids = Array.from({ length: pointer.batchSeq }, (_, i) => batchIdOf(i + 1));
  const records = await store.readBatchRecords(ids);
  return ids.map((id, i) => summary(id, i + 1, pointer, records.get(id)));
}

/** One batch, or undefined if there is no such batch. */
export async function describeBatch(store: BatchSources, batchId: string): Promise<BatchSummary | undefined> {
  const seq = batchSeqOf(batchId);
  const pointer = await store.readPointer();
  if (seq === undefined || !pointer || seq > pointer.batchSeq) return undefined;
  const records = await store.readBatchRecords([batchId]);
  return summary(batchId, seq, pointer, records.get(batchId));
}

function summary(batchId: string, seq: number, pointer: CollectingPointer, record: BatchRecord | undefined): BatchSummary {
  const state = batchStateOf(seq, pointer);
  if (record) return { ...record, state };
  // Fenced, but its release not finished yet (the releaser may have crashed): the pointer knows which release it is.
  if (seq === pointer.batchSeq && pointer.release) {
    return { batch_id: batchId, state, release_id: pointer.release.releaseId, released_at: pointer.release.releasedAt };
  }
  // Released before batch records were written (an older version of the service): its release is only known by release id.
  return { batch_id: batchId, state };
}
