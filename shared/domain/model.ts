import type { Event, Session } from '../schemas';

/** Where a scheduled session sits: its batch and its number within it. */
export interface Assignment {
  batchId: string;
  sessionNumber: number;
}

/** A session as stored. Its assignment, if scheduled, is read with it (its own item, or, before sharding, the session item). */
export interface StoredSession extends Session {
  assignment?: Assignment;
}

/**
 * Who announces a release once its settle window is over: the workflow
 * execution that made it, or, for a release made over the API, the workflow
 * the table's stream starts when the release record is first written.
 */
export type ReleaseOrigin = 'workflow' | 'api';

/** What the release that fences a batch writes on the pointer. */
export interface ReleaseStamp {
  releaseId: string;
  releasedAt: number;
  origin: ReleaseOrigin;
}

/**
 * The one item that says which batch is collecting (the leader of its
 * shards). `release` is set, once, by the release that fences the batch.
 */
export interface CollectingPointer {
  batchSeq: number;
  batchId: string;
  /** When the batch opened (epoch ms): session numbers count from it. Absent on a batch the counter layout opened. */
  openedAt?: number;
  /** How many shards take sessions for this batch; absent until a sharded schedule first touches a counter-layout batch. */
  shards?: number;
  /** Numbers below this belong to sessions numbered by the counter layout before it was sharded (0 otherwise). */
  numberFloor?: number;
  /** The counter layout's last number handed out; kept, never advanced, once the batch is sharded. */
  lastNumber?: number;
  release?: ReleaseStamp;
}

/** What a schedule request reads of its shard: the batch it takes sessions for, and whether a release fenced it. */
export interface ShardState {
  shard: number;
  batchSeq: number;
  /** Copied from the batch's pointer when the shard was placed in it. */
  openedAt: number;
  numberFloor: number;
  fenced: boolean;
}

export interface Release {
  release_id: string;
  batch_id: string;
  released_at: number;
  /**
   * Only for a batch numbered by the counter layout (before sharding): the
   * highest number it handed out. Sharded numbers come from the clock, so no
   * such bound is known at release.
   */
  last_session_number?: number;
}

/** A batch as the batch list shows it; release_id and released_at once it is released. */
export interface BatchSummary {
  batch_id: string;
  state: BatchState;
  release_id?: string;
  released_at?: number;
}

/** The state of a batch that exists, given the collecting pointer: every batch below the pointer's is released. */
export const batchStateOf = (batchSeq: number, pointer: CollectingPointer): BatchState =>
  batchSeq < pointer.batchSeq || pointer.release ? 'released' : 'collecting';

export interface BatchSession extends Session {
  batch_id: string;
  session_number: number;
  events: Event[];
  /** Present and true only when the session alone would overflow a page and its events were cut. */
  events_truncated?: true;
}

/** collecting: sessions may still join it. released: fenced by a release; complete once announced. */
export type BatchState = 'collecting' | 'released';

export interface BatchPage {
  batch_id: string;
  state: BatchState;
  last_number: number | null;
  sessions: BatchSession[];
}

/** Batches are numbered 1, 2, 3…; their ids are those numbers, zero-padded so they sort. */
export const batchIdOf = (batchSeq: number): string => String(batchSeq).padStart(6, '0');

/** The sequence number of a well-formed batch id ("000042" → 42), else undefined. */
export const batchSeqOf = (batchId: string): number | undefined => {
  const seq = /^\d{1,15}$/.test(batchId) ? Number(batchId) : 0;
  return seq >= 1 && batchIdOf(seq) === batchId ? seq : undefined;
};
