/**
 * A released batch of any size with nothing stored: a PagingStore whose
 * sessions and events are made up from their index on demand, the same every
 * time. Numbers are sparse and end just below 2^53, as sharded numbering
 * makes them. It answers only what a page reads (the pointer, the batch
 * index, a session's partition); the export and the page walk it is compared
 * with both read through getBatchPage, so they see the same batch.
 */
import { batchIdOf, type Assignment, type CollectingPointer, type StoredSession } from '../../shared/domain/model';
import type { BatchEntry, PagingStore } from '../../shared/domain/store';
import type { Event } from '../../shared/schemas';

export interface SyntheticBatchOptions {
  sessions: number;
  /** Sessions (by index) with this many events; every other has index % 5. */
  longSessions?: Record<number, number>;
  /** Bytes of filler text in each session, to set its weight. @default 600 */
  fillerBytes?: number;
}

const BATCH_SEQ = 7;
const STEP = 90_000_000_000;
const RELEASED_AT = 1_790_000_000;

export class SyntheticBatch implements PagingStore {
  /** One shard: listBatchEntries ignores the range it is asked for. */
  readonly shards = 1;
  readonly batchId = batchIdOf(BATCH_SEQ);
  readonly releaseId = 'synthetic-release';
  readonly releasedAt = RELEASED_AT;
  private readonly first: number;

  constructor(private readonly options: SyntheticBatchOptions) {
    // The last number is the largest safe integer, or nearly.
    this.first = Number.MAX_SAFE_INTEGER - (options.sessions - 1) * STEP;
    if (this.first < 1) throw new Error('Too many sessions for the number spacing');
  }

  numberOf = (index: number) => this.first + index * STEP;
  eventsOf = (index: number) => this.options.longSessions?.[index] ?? index % 5;

  /** What the release task answers for this batch. */
  release() {
    return {
      release_id: this.releaseId,
      batch_id: this.batchId,
      released_at: RELEASED_AT,
      last_session_number: this.numberOf(this.options.sessions - 1),
    };
  }

  async readPointer(): Promise<CollectingPointer> {
    // The batch after it is collecting: this one is released.
    return { batchSeq: BATCH_SEQ + 1, batchId: batchIdOf(BATCH_SEQ + 1), lastNumber: 0 };
  }

  async listBatchEntries(batchId: string, afterNumber: number, limit: number): Promise<BatchEntry[]> {
    if (batchId !== this.batchId) return [];
    const from = afterNumber < this.first ? 0 : Math.floor((afterNumber - this.first) / STEP) + 1;
    const to = Math.min(this.options.sessions, from + limit);
    const entries: BatchEntry[] = [];
    for (let i = from; i < to; i++) entries.push({ sessionId: sessionIdOf(i), assignment: this.assignmentOf(i) });
    return entries;
  }

  async readSession(sessionId: string, eventsLimit: number): Promise<{ session?: StoredSession; events: Event[] }> {
    const index = Number(sessionId.slice(ID_PREFIX.length));
    const n = index * 2_654_435_761;
    const session: StoredSession = {
      session_id: sessionId,
      search_query: `${WORDS[n % WORDS.length]} ${WORDS[(n >>> 8) % WORDS.length]} ${index % 97}`,
      created_at: 1_733_788_800 + index,
      search_results: Array.from({ length: 10 }, (_, rank) => ({ object_id: `B0${((index * 31 + rank) % 1_000_000).toString().padStart(8, '0')}`, rank: rank + 1 })),
      search_meta: { application: 'synthetic', note: filler(index, this.options.fillerBytes ?? 600) },
      user_id: `client-${index % 1000}`,
      is_irrelevant: false,
      is_payload_search: false,
      assignment: this.assignmentOf(index),
    };
    const count = Math.min(this.eventsOf(index), eventsLimit);
    const events: Event[] = Array.from({ length: count }, (_, e) => ({
      event_id: `${sessionId}-e${e}`,
      session_id: sessionId,
      object_id: session.search_results[e % 10]!.object_id,
      event_type: e % 3 === 0 ? 'click' : 'impression',
      meta: { position: (e % 10) + 1 },
      created_at: session.created_at + e,
    }));
    return { session, events };
  }

  private assignmentOf(index: number): Assignment {
    return { batchId: this.batchId, sessionNumber: this.numberOf(index) };
  }

  // Nothing else is read by a page.
  findSession = unused;
  takeNumber = unused;
  openNextBatch = unused;
  assignSession = unused;
  readReleaseState = unused;
  markReleased = unused;
  writeRelease = unused;
  writeBatchRecord = unused;
}

const ID_PREFIX = 'syn-';
const sessionIdOf = (index: number) => `${ID_PREFIX}${index}`;

async function unused(): Promise<never> {
  throw new Error('A synthetic batch answers only what a page reads.');
}

const WORDS = ['portable', 'charger', 'usb', 'cable', 'headphones', 'wireless', 'mouse', 'keyboard', 'monitor', 'stand', 'lamp', 'desk'];

/** Text that compresses like prose rather than like a repeated byte. */
function filler(index: number, bytes: number): string {
  let text = '';
  for (let i = 0; text.length < bytes; i++) text += `${WORDS[(index + i * 7) % WORDS.length]}${(index * 13 + i) % 1000} `;
  return text.slice(0, bytes);
}
