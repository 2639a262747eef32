/**
 * The narrow interface the domain needs from storage. Every method is one
 * DynamoDB request (or one parallel round) unless its doc says otherwise, so
 * the domain's call sequence is the sequence of round trips, and no method
 * retries: the domain owns every loop. shared/data/dynamo-store.ts implements
 * it, tests implement it in memory.
 */
import type { Event } from '../schemas';
import type { Assignment, BatchSummary, CollectingPointer, Release, ReleaseOrigin, ReleaseStamp, StoredSession } from './model';

/** Which release fenced a batch. */
export type BatchRecord = Required<Pick<BatchSummary, 'batch_id' | 'release_id' | 'released_at'>>;

export interface SessionLookup {
  session: StoredSession;
  hasEvents: boolean;
}

/** An entry of the batch index: a session listed under a number. */
export interface BatchEntry {
  sessionId: string;
  assignment: Assignment;
}

/**
 * A number in the collecting batch; or the collecting batch is released (roll
 * its release forward, then open the next); or the pointer moved between the
 * write and the read that explains its failure (take a number again).
 */
export type NumberGrant = { granted: Assignment } | { released: CollectingPointer } | { moved: true };

/**
 * Reading batch records, apart from SessionStore so that no handler bundle
 * carries it: only the batch list (console, export tool) reads them.
 */
export interface BatchRecordReader {
  /** The batch records of these batches, by batch id, strongly consistent (one round; 100 ids a request). */
  readBatchRecords(batchIds: readonly string[]): Promise<Map<string, BatchRecord>>;
}

export interface SessionStore {
  /** The session and whether it has at least one event, in one strongly consistent read. */
  findSession(sessionId: string): Promise<SessionLookup | undefined>;

  /**
   * Hands out the next number of the collecting batch (opening batch 1 if no
   * batch exists yet), unless the collecting batch is released: then returns it.
   * One conditional write; when its condition fails, one read of the pointer.
   */
  takeNumber(): Promise<NumberGrant>;

  /**
   * Replaces a released pointer (whose release record is already written) by
   * the next batch and hands out its number 1. Undefined if another request
   * replaced it first.
   */
  openNextBatch(released: CollectingPointer): Promise<Assignment | undefined>;

  /**
   * Gives the session its number unless it has one: returns the assignment
   * the session ends up with (the existing one if a concurrent request won).
   * One conditional write; when its condition fails, one read of the session.
   */
  assignSession(sessionId: string, assignment: Assignment, scheduledAt: number): Promise<Assignment>;

  /**
   * The collecting pointer, then the release record of this id (two rounds, in that order): an
   * absent record then means this id has not released a batch the pointer has moved past.
   */
  readReleaseState(releaseId: string): Promise<{ release?: Release; pointer?: CollectingPointer }>;

  /** Fences the collecting batch for this release. Undefined if the pointer changed meanwhile. */
  markReleased(pointer: CollectingPointer, stamp: ReleaseStamp): Promise<CollectingPointer | undefined>;

  /** Writes the release record of a released pointer (idempotent: same pointer, same record). */
  writeRelease(release: Release, origin: ReleaseOrigin): Promise<void>;

  /** Writes the batch record of a release: the release found by its batch id (idempotent too). */
  writeBatchRecord(release: Release): Promise<void>;


  /** The collecting pointer, strongly consistent. */
  readPointer(): Promise<CollectingPointer | undefined>;

  /**
   * The batch index: which session each number > afterNumber was given, ascending,
   * at most `limit`. An index is eventually consistent, and dynalite killed mid-write
   * can keep an entry for an assignment that never reached the session: trust an
   * entry only once the session's own item holds it (readSession).
   */
  listBatchEntries(batchId: string, afterNumber: number, limit: number): Promise<BatchEntry[]>;

  /** The session's own item, strongly consistent, with its oldest `eventsLimit` events, in one read of its partition. */
  readSession(sessionId: string, eventsLimit: number): Promise<{ session?: StoredSession; events: Event[] }>;
}
