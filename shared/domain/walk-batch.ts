/**
 * A whole batch, walked from a number on, in ascending session numbers: what
 * the export reads, where a consumer pages.
 *
 * A page lists every shard with its own limit and merges the listings, so
 * each session it serves costs one membership read per shard. A walk keeps a
 * cursor per shard instead and merges them k-way, so each membership is read
 * once: a shard's next listing is read only once its buffer runs empty (all
 * the empty ones in one round). The sessions themselves are read and
 * confirmed by the page's own code (confirmedSessions), so a walk serves
 * exactly what a page walk serves, session for session.
 */
import { confirmedSessions, shardsOfBatch, stateOfBatch } from './get-batch-page';
import type { BatchSession, BatchState } from './model';
import type { BatchEntry, PagingStore } from './store';

/** Listings a shard's buffer is refilled with at a time: few rounds, and a bounded buffer whatever the batch's size. */
export const LISTING_PAGE = 300;

export interface WalkRequest {
  batchId: string;
  /** The walk starts after this number (0: from the batch's first session). */
  afterNumber: number;
  eventsLimit: number;
}

export interface BatchWalk {
  state: BatchState;
  /**
   * The confirmed sessions among the next `count` listings (at least one
   * listing's worth if any is left: a run of orphans is read past), or none
   * once the batch has no session left. Calls must not overlap.
   */
  next(count: number): Promise<BatchSession[]>;
}

/** Opens a walk: the pointer first (one round), which says whether the batch exists, its state and its shards. */
export async function walkBatch(store: PagingStore, request: WalkRequest): Promise<BatchWalk> {
  const { batchId, afterNumber, eventsLimit } = request;
  const pointer = await store.readPointer();
  const state = stateOfBatch(batchId, pointer);
  const merge = new ShardMerge(store, batchId, afterNumber, shardsOfBatch(store, pointer));
  return {
    state,
    async next(count) {
      for (;;) {
        const entries = await merge.take(count);
        if (entries.length === 0) return [];
        const sessions = await confirmedSessions(store, entries, eventsLimit);
        if (sessions.length > 0) return sessions;
      }
    },
  };
}

interface ShardCursor {
  shard: number;
  buffered: BatchEntry[];
  /** The first buffered entry not taken yet. */
  at: number;
  /** The number the shard's next listing starts after. */
  after: number;
  /** The last listing came back short: the shard has nothing left past `after`. */
  drained: boolean;
}

/** The shards' listings merged by number, each shard read once, in order, LISTING_PAGE at a time. */
class ShardMerge {
  private readonly cursors: ShardCursor[];

  constructor(
    private readonly store: PagingStore,
    private readonly batchId: string,
    afterNumber: number,
    shards: number,
  ) {
    this.cursors = Array.from({ length: shards }, (_, shard) => ({ shard, buffered: [], at: 0, after: afterNumber, drained: false }));
  }

  /** The next `count` entries in ascending numbers; fewer only at the end of the batch. */
  async take(count: number): Promise<BatchEntry[]> {
    const taken: BatchEntry[] = [];
    while (taken.length < count) {
      // The smallest next number can sit in any shard: every shard must show its head first.
      await this.refillEmpty();
      let lowest: ShardCursor | undefined;
      for (const cursor of this.cursors) {
        const head = cursor.buffered[cursor.at];
        if (head && (!lowest || head.assignment.sessionNumber < lowest.buffered[lowest.at]!.assignment.sessionNumber)) lowest = cursor;
      }
      if (!lowest) break;
      taken.push(lowest.buffered[lowest.at++]!);
    }
    return taken;
  }

  /** Lists on every shard whose buffer ran empty, in one round. */
  private async refillEmpty(): Promise<void> {
    const empty = this.cursors.filter((cursor) => cursor.at === cursor.buffered.length && !cursor.drained);
    if (empty.length > 0) await Promise.all(empty.map((cursor) => this.refill(cursor)));
  }

  private async refill(cursor: ShardCursor): Promise<void> {
    // Shard 0's listing also holds the batch index's, for sessions an earlier layout scheduled, merged in.
    const listed = await this.store.listBatchEntries(this.batchId, cursor.after, LISTING_PAGE, { from: cursor.shard, to: cursor.shard + 1 });
    cursor.buffered = listed;
    cursor.at = 0;
    cursor.drained = listed.length < LISTING_PAGE;
    if (listed.length > 0) cursor.after = listed.at(-1)!.assignment.sessionNumber;
  }
}
