/**
 * An in-memory SessionStore with the semantics of DynamoSessionStore: every
 * method is atomic (one conditional write or one consistent read), results are
 * copies, and the same conditions decide the same races. Domain unit tests run
 * against it; `beforeCall` lets a test slip other requests in between two
 * store calls of the request under test, or fail a call.
 */
import { SessionNotFound } from '../../shared/domain/errors';
import {
  batchIdOf,
  type Assignment,
  type CollectingPointer,
  type Release,
  type ReleaseOrigin,
  type ReleaseStamp,
  type StoredSession,
} from '../../shared/domain/model';
import type { BatchEntry, BatchRecord, BatchRecordReader, NumberGrant, SessionLookup, SessionStore } from '../../shared/domain/store';
import type { Event, Session } from '../../shared/schemas';

export type StoreMethod = keyof SessionStore | keyof BatchRecordReader;

type StoredWithTime = StoredSession & { scheduledAt?: number };

const copy = <T>(value: T): T => (value === undefined ? value : structuredClone(value));

export class MemorySessionStore implements SessionStore, BatchRecordReader {
  private readonly sessions = new Map<string, StoredWithTime>();
  private readonly events = new Map<string, Event[]>();
  private readonly releases = new Map<string, Release>();
  private readonly origins = new Map<string, ReleaseOrigin>();
  private readonly batchRecords = new Map<string, BatchRecord>();
  private pointer: CollectingPointer | undefined;

  /** Every store call made, in order: what a test asserts round trips with. */
  readonly calls: StoreMethod[] = [];

  /**
   * Runs before each call takes effect. A test uses it to run other requests
   * at exactly that point (a race) or to throw (a crash before the call).
   */
  beforeCall?: (method: StoreMethod) => void | Promise<void>;

  /** Runs `action` once, the first time a request reaches `method`: stages a race between two store calls. */
  onFirstCall(method: StoreMethod, action: () => Promise<unknown>): void {
    let done = false;
    this.beforeCall = async (m) => {
      if (m !== method || done) return;
      done = true;
      await action();
    };
  }

  // --- seeding and inspection (not part of SessionStore) ---

  putSession(session: Session, assignment?: Assignment): void {
    this.sessions.set(session.session_id, { ...copy(session), ...(assignment ? { assignment: { ...assignment } } : {}) });
  }

  putEvents(...events: Event[]): void {
    for (const event of events) {
      const list = this.events.get(event.session_id) ?? [];
      // Same (session, created_at, event_id) is the same item: writing it again replaces it.
      const kept = list.filter((e) => !(e.event_id === event.event_id && e.created_at === event.created_at));
      this.events.set(event.session_id, [...kept, copy(event)]);
    }
  }

  /** Index entries no session item holds: what dynalite can keep after a crash between its two writes. */
  private readonly staleEntries: BatchEntry[] = [];

  /** Lists a session under an assignment its item does not hold. */
  plantStaleEntry(sessionId: string, assignment: Assignment): void {
    this.staleEntries.push({ sessionId, assignment: { ...assignment } });
  }

  /** Puts the pointer in a given state, e.g. a batch fenced by a release whose record was never written. */
  setPointer(pointer: CollectingPointer | undefined): void {
    this.pointer = copy(pointer);
  }

  pointerNow(): CollectingPointer | undefined {
    return copy(this.pointer);
  }

  releaseRecord(releaseId: string): Release | undefined {
    return copy(this.releases.get(releaseId));
  }

  /** The origin the release record was written with: who announces it. */
  releaseOrigin(releaseId: string): ReleaseOrigin | undefined {
    return this.origins.get(releaseId);
  }

  assignmentOf(sessionId: string): Assignment | undefined {
    return copy(this.sessions.get(sessionId)?.assignment);
  }

  // --- SessionStore ---

  async findSession(sessionId: string): Promise<SessionLookup | undefined> {
    await this.enter('findSession');
    const stored = this.sessions.get(sessionId);
    if (!stored) return undefined;
    const { scheduledAt: _, ...session } = stored;
    return { session: copy(session), hasEvents: (this.events.get(sessionId)?.length ?? 0) > 0 };
  }

  async takeNumber(): Promise<NumberGrant> {
    await this.enter('takeNumber');
    if (!this.pointer) {
      this.pointer = { batchSeq: 1, batchId: batchIdOf(1), lastNumber: 1 };
      return { granted: { batchId: this.pointer.batchId, sessionNumber: 1 } };
    }
    if (this.pointer.release) return { released: copy(this.pointer) };
    this.pointer.lastNumber += 1;
    return { granted: { batchId: this.pointer.batchId, sessionNumber: this.pointer.lastNumber } };
  }

  async openNextBatch(released: CollectingPointer): Promise<Assignment | undefined> {
    await this.enter('openNextBatch');
    // DynamoDB refuses the condition with an undefined value: a caller bug, not a lost race.
    if (!released.release) throw new Error('openNextBatch needs a released pointer');
    const current = this.pointer;
    if (!current || current.release?.releaseId !== released.release.releaseId || current.batchSeq !== released.batchSeq) {
      return undefined;
    }
    const batchSeq = released.batchSeq + 1;
    this.pointer = { batchSeq, batchId: batchIdOf(batchSeq), lastNumber: 1 };
    return { batchId: batchIdOf(batchSeq), sessionNumber: 1 };
  }

  async assignSession(sessionId: string, assignment: Assignment, scheduledAt: number): Promise<Assignment> {
    await this.enter('assignSession');
    const stored = this.sessions.get(sessionId);
    if (!stored) throw new SessionNotFound(sessionId);
    if (stored.assignment) return copy(stored.assignment);
    stored.assignment = { ...assignment };
    stored.scheduledAt = scheduledAt;
    return copy(assignment);
  }

  async readReleaseState(releaseId: string): Promise<{ release?: Release; pointer?: CollectingPointer }> {
    await this.enter('readReleaseState');
    return { release: copy(this.releases.get(releaseId)), pointer: copy(this.pointer) };
  }

  async markReleased(pointer: CollectingPointer, stamp: ReleaseStamp) {
    await this.enter('markReleased');
    const current = this.pointer;
    if (!current || current.batchSeq !== pointer.batchSeq || current.release) return undefined;
    current.release = { ...stamp };
    return copy(current);
  }

  async writeRelease(release: Release, origin: ReleaseOrigin): Promise<void> {
    await this.enter('writeRelease');
    // Unconditional, as in DynamoDB: the same released pointer always yields the same record.
    this.releases.set(release.release_id, copy(release));
    this.origins.set(release.release_id, origin);
  }

  async writeBatchRecord(release: Release): Promise<void> {
    await this.enter('writeBatchRecord');
    this.batchRecords.set(release.batch_id, {
      batch_id: release.batch_id,
      release_id: release.release_id,
      released_at: release.released_at,
    });
  }

  async readBatchRecords(batchIds: readonly string[]): Promise<Map<string, BatchRecord>> {
    await this.enter('readBatchRecords');
    return new Map(batchIds.flatMap((id) => (this.batchRecords.has(id) ? [[id, copy(this.batchRecords.get(id)!)]] : [])));
  }

  async readPointer(): Promise<CollectingPointer | undefined> {
    await this.enter('readPointer');
    return copy(this.pointer);
  }

  async listBatchEntries(batchId: string, afterNumber: number, limit: number): Promise<BatchEntry[]> {
    await this.enter('listBatchEntries');
    const entries = [
      ...[...this.sessions.values()].flatMap((s) => (s.assignment ? [{ sessionId: s.session_id, assignment: s.assignment }] : [])),
      ...this.staleEntries,
    ];
    return entries
      .filter((e) => e.assignment.batchId === batchId && e.assignment.sessionNumber > afterNumber)
      .sort((a, b) => a.assignment.sessionNumber - b.assignment.sessionNumber)
      .slice(0, limit)
      .map(copy);
  }

  async readSession(sessionId: string, eventsLimit: number): Promise<{ session?: StoredSession; events: Event[] }> {
    await this.enter('readSession');
    const stored = this.sessions.get(sessionId);
    // The table's event sort key is (created_at, event_id): oldest first, ties by id.
    const events = [...(this.events.get(sessionId) ?? [])]
      .sort((a, b) => a.created_at - b.created_at || (a.event_id < b.event_id ? -1 : a.event_id > b.event_id ? 1 : 0))
      .slice(0, eventsLimit)
      .map(copy);
    if (!stored) return { events };
    const { scheduledAt: _, ...session } = stored;
    return { session: copy(session), events };
  }

  private async enter(method: StoreMethod): Promise<void> {
    this.calls.push(method);
    await this.beforeCall?.(method);
  }
}
