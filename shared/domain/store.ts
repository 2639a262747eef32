/**
 * The narrow interface the domain needs from storage. Every method is one
 * DynamoDB request (or one parallel round) unless its doc says otherwise, so
 * the domain's call sequence is the sequence of round trips, and no method
 * retries: the domain owns every loop. shared/data/dynamo-store.ts implements
 * it, tests implement it in memory.
 */
import type { Event } from '../schemas';
import type {
  Assignment,
  BatchSummary,
  CollectingPointer,
  Release,
  ReleaseOrigin,
  ReleaseStamp,
  ShardState,
  StoredSession,
} from './model';

/** Which release fenced a batch. */
export type BatchRecord = Required<Pick<BatchSummary, 'batch_id' | 'release_id' | 'released_at'>>;

export interface SessionLookup {
  /** With its assignment, if it has one. */
  session: StoredSession;
  hasEvents: boolean;
}

/** A session listed in a batch under a number: trusted only once the session's own assignment says the same. */
export interface BatchEntry {
  sessionId: string;
  assignment: Assignment;
}

export interface Membership extends BatchEntry {
  shard: number;
  scheduledAt: number;
}

/**
 * Reading batch records, apart from SessionStore so that no handler bundle
 * carries it: only the batch list (console, export tool) reads them.
 */
export interface BatchRecordReader {
  /** The batch records of these batches, by batch id, strongly consistent (one round; 100 ids a request). */
  readBatchRecords(batchIds: readonly string[]): Promise<Map<string, BatchRecord>>;
}

export interface SessionStore {
  /** How many shards a batch this store opens gets (the deployment's setting). */
  readonly shards: number;

  /** The session with its assignment, and whether it has at least one event, in one strongly consistent read. */
  findSession(sessionId: string): Promise<SessionLookup | undefined>;

  /** The shard's state, eventually consistent (a stale answer only costs a failed touch); undefined if never placed. */
  readShard(shard: number): Promise<ShardState | undefined>;

  /**
   * The schedule's fence check: a conditional write that succeeds only while the
   * shard takes sessions for this batch and no release has fenced it. A
   * schedule whose touch succeeded may commit to the batch until its deadline.
   */
  touchShard(shard: number, batchSeq: number): Promise<boolean>;

  /** Lists the session in its batch's shard under its number; false if another session holds that number. */
  listMember(membership: Membership): Promise<boolean>;

  /**
   * The commit point: gives the session this assignment unless it has one, and
   * returns the assignment it ends up with (the existing one if a concurrent
   * request won). One conditional write, abandoned at `deadline` (epoch ms)
   * with ServiceUnavailable; when its condition fails, one read.
   */
  commitAssignment(sessionId: string, assignment: Assignment, scheduledAt: number, deadline?: number): Promise<Assignment>;

  /** The collecting pointer, strongly consistent. */
  readPointer(): Promise<CollectingPointer | undefined>;

  /**
   * Opens batch 1 (no pointer yet), or the batch after a released pointer whose
   * release is finished, with `shards` shards. Undefined if the pointer changed first.
   */
  openBatch(after: CollectingPointer | undefined, openedAt: number): Promise<CollectingPointer | undefined>;

  /**
   * Gives a collecting batch `shards` shards (a batch the counter layout opened,
   * or one opened with fewer), numbers above its counter's. Undefined if the
   * pointer changed first (fenced, or moved on).
   */
  widenBatch(pointer: CollectingPointer, openedAt: number): Promise<CollectingPointer | undefined>;

  /** Moves the shard into the pointer's batch, unless it is there (or later) already. */
  placeShard(shard: number, pointer: CollectingPointer): Promise<void>;

  /**
   * The collecting pointer, then the release record of this id (two rounds, in that order): an
   * absent record then means this id has not released a batch the pointer has moved past.
   */
  readReleaseState(releaseId: string): Promise<{ release?: Release; pointer?: CollectingPointer }>;

  /** The release record of this id, strongly consistent: written last, it marks a release finished. */
  readRelease(releaseId: string): Promise<Release | undefined>;

  /** Fences the collecting batch for this release: the one decision of which release id owns it. Undefined if it changed meanwhile. */
  fencePointer(pointer: CollectingPointer, stamp: ReleaseStamp): Promise<CollectingPointer | undefined>;

  /**
   * Fences every shard of a fenced batch (one round of one conditional write
   * per shard): a shard at the batch is fenced, one behind it is moved to it
   * fenced, so nothing can take sessions for the batch afterwards. Idempotent.
   */
  fenceShards(pointer: CollectingPointer): Promise<void>;

  /** Writes the batch record of a release: the release found by its batch id (idempotent). */
  writeBatchRecord(release: Release): Promise<void>;

  /** Writes the release record of a released pointer (idempotent: same pointer, same record). */
  writeRelease(release: Release, origin: ReleaseOrigin): Promise<void>;

  /**
   * The batch's sessions numbered above `afterNumber`, ascending, at most
   * `limit`, from shards `fromShard` to `toShard` - 1 and, for batches numbered
   * before sharding, the batch index: one round of strongly consistent Queries
   * (the index's is eventually consistent), merged by number.
   */
  listBatchEntries(batchId: string, afterNumber: number, limit: number, shards: { from: number; to: number }): Promise<BatchEntry[]>;

  /** The session's own item with its assignment, strongly consistent, and its oldest `eventsLimit` events: one read of its partition. */
  readSession(sessionId: string, eventsLimit: number): Promise<{ session?: StoredSession; events: Event[] }>;
}

/** Finishing a fenced release: what a release and a schedule that rolls one forward share. */
export type FinishingStore = Pick<SessionStore, 'readRelease' | 'fenceShards' | 'writeBatchRecord' | 'writeRelease'>;

/** What scheduling a session sends. */
export type SchedulingStore = FinishingStore &
  Pick<
    SessionStore,
    'shards' | 'findSession' | 'readShard' | 'touchShard' | 'listMember' | 'commitAssignment' | 'readPointer' | 'openBatch' | 'widenBatch' | 'placeShard'
  >;

/** What releasing the collecting batch sends. */
export type ReleasingStore = FinishingStore & Pick<SessionStore, 'readReleaseState' | 'fencePointer'>;

/** What a page sends. */
export type PagingStore = Pick<SessionStore, 'shards' | 'readPointer' | 'listBatchEntries' | 'readSession'>;
