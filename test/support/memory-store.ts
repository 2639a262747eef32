/**
 * An in-memory SessionStore with the semantics of the DynamoDB store (shared/data/dynamo-store.ts): every
 * method is atomic (one conditional write or one consistent read, or, where
 * the real one sends a round of requests, each of them atomic), results are
 * copies, and the same conditions decide the same races. Domain unit tests
 * run against it; `beforeCall` lets a test slip other requests in between
 * two store calls of the request under test, or fail a call.
 */
import { ServiceUnavailable } from '../../shared/domain/errors';
import {
  batchIdOf,
  type Assignment,
  type CollectingPointer,
  type Release,
  type ReleaseOrigin,
  type ReleaseStamp,
  type ShardState,
  type StoredSession,
} from '../../shared/domain/model';
import type {
  BatchEntry,
  BatchRecord,
  BatchRecordReader,
  Membership,
  SessionLookup,
  SessionStore,
} from '../../shared/domain/store';
import type { Event, Session } from '../../shared/schemas';

export type StoreMethod = keyof Omit<SessionStore, 'shards'> | keyof BatchRecordReader;

interface StoredShard {
  batchSeq: number;
  openedAt?: number;
  numberFloor?: number;
  releaseId?: string;
}

const copy = <T>(value: T): T => (value === undefined ? value : structuredClone(value));

export class MemorySessionStore implements SessionStore, BatchRecordReader {
  private readonly sessions = new Map<string, Session>();
  private readonly assignments = new Map<string, Assignment & { scheduledAt: number }>();
  /** Sessions scheduled by the counter layout (before sharding): their assignment sits on the session item. */
  private readonly legacyAssignments = new Map<string, Assignment>();
  private readonly events = new Map<string, Event[]>();
  private readonly releases = new Map<string, Release>();
  private readonly origins = new Map<string, ReleaseOrigin>();
  private readonly batchRecords = new Map<string, BatchRecord>();
  private readonly shardItems = new Map<number, StoredShard>();
  /** batch id → shard → number → session id */
  private readonly members = new Map<string, Map<number, Map<number, string>>>();
  private pointer: CollectingPointer | undefined;

  /** Every store call made, in order: what a test asserts round trips with. */
  readonly calls: StoreMethod[] = [];

  /**
   * Runs before each call takes effect. A test uses it to run other requests
   * at exactly that point (a race) or to throw (a crash before the call).
   */
  beforeCall?: (method: StoreMethod) => void | Promise<void>;

  constructor(readonly shards = 4) {}

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

  /** A session, scheduled by the counter layout (before sharding) if an assignment is given. */
  putSession(session: Session, legacyAssignment?: Assignment): void {
    this.sessions.set(session.session_id, copy(session));
    if (legacyAssignment) this.legacyAssignments.set(session.session_id, { ...legacyAssignment });
  }

  putEvents(...events: Event[]): void {
    for (const event of events) {
      const list = this.events.get(event.session_id) ?? [];
      // Same (session, created_at, event_id) is the same item: writing it again replaces it.
      const kept = list.filter((e) => !(e.event_id === event.event_id && e.created_at === event.created_at));
      this.events.set(event.session_id, [...kept, copy(event)]);
    }
  }

  /** Lists a session under a number its assignment does not hold: an orphan membership, as a crash or a lost race leaves one. */
  plantOrphan(sessionId: string, assignment: Assignment, shard = 0): void {
    this.membersOf(assignment.batchId, shard).set(assignment.sessionNumber, sessionId);
  }

  /** Puts the pointer in a given state, e.g. a batch fenced by a release whose record was never written. */
  setPointer(pointer: CollectingPointer | undefined): void {
    this.pointer = copy(pointer);
  }

  pointerNow(): CollectingPointer | undefined {
    return copy(this.pointer);
  }

  shardNow(shard: number): StoredShard | undefined {
    return copy(this.shardItems.get(shard));
  }

  releaseRecord(releaseId: string): Release | undefined {
    return copy(this.releases.get(releaseId));
  }

  /** The origin the release record was written with: who announces it. */
  releaseOrigin(releaseId: string): ReleaseOrigin | undefined {
    return this.origins.get(releaseId);
  }

  assignmentOf(sessionId: string): Assignment | undefined {
    const held = this.assignments.get(sessionId) ?? this.legacyAssignments.get(sessionId);
    return held && { batchId: held.batchId, sessionNumber: held.sessionNumber };
  }

  // --- SessionStore ---

  async findSession(sessionId: string): Promise<SessionLookup | undefined> {
    await this.enter('findSession');
    const session = this.storedSession(sessionId);
    if (!session) return undefined;
    return { session, hasEvents: (this.events.get(sessionId)?.length ?? 0) > 0 };
  }

  async readShard(shard: number): Promise<ShardState | undefined> {
    await this.enter('readShard');
    const item = this.shardItems.get(shard);
    if (!item) return undefined;
    return { shard, batchSeq: item.batchSeq, openedAt: item.openedAt ?? 0, numberFloor: item.numberFloor ?? 0, fenced: item.releaseId !== undefined };
  }

  async touchShard(shard: number, batchSeq: number): Promise<boolean> {
    await this.enter('touchShard');
    const item = this.shardItems.get(shard);
    return item !== undefined && item.batchSeq === batchSeq && item.releaseId === undefined;
  }

  async listMember(membership: Membership): Promise<boolean> {
    await this.enter('listMember');
    const members = this.membersOf(membership.assignment.batchId, membership.shard);
    if (members.has(membership.assignment.sessionNumber)) return false;
    members.set(membership.assignment.sessionNumber, membership.sessionId);
    return true;
  }

  async commitAssignment(sessionId: string, assignment: Assignment, scheduledAt: number, deadline?: number): Promise<Assignment> {
    await this.enter('commitAssignment');
    if (deadline !== undefined && Date.now() > deadline) throw new ServiceUnavailable('The request ran out of time (deadline).');
    const existing = this.assignments.get(sessionId);
    if (existing) return { batchId: existing.batchId, sessionNumber: existing.sessionNumber };
    this.assignments.set(sessionId, { ...assignment, scheduledAt });
    return { ...assignment };
  }

  async readPointer(): Promise<CollectingPointer | undefined> {
    await this.enter('readPointer');
    return copy(this.pointer);
  }

  async openBatch(after: CollectingPointer | undefined, openedAt: number): Promise<CollectingPointer | undefined> {
    await this.enter('openBatch');
    const current = this.pointer;
    if (after) {
      // DynamoDB refuses the condition with an undefined value: a caller bug, not a lost race.
      if (!after.release) throw new Error('openBatch needs a released pointer');
      if (!current || current.release?.releaseId !== after.release.releaseId || current.batchSeq !== after.batchSeq) return undefined;
    } else if (current) return undefined;
    const batchSeq = (after?.batchSeq ?? 0) + 1;
    this.pointer = {
      batchSeq,
      batchId: batchIdOf(batchSeq),
      openedAt,
      shards: Math.max(this.shards, after?.shards ?? 0),
      numberFloor: 0,
    };
    return copy(this.pointer);
  }

  async widenBatch(pointer: CollectingPointer, openedAt: number): Promise<CollectingPointer | undefined> {
    await this.enter('widenBatch');
    const current = this.pointer;
    if (!current || current.batchSeq !== pointer.batchSeq || current.release) return undefined;
    current.shards = Math.max(this.shards, pointer.shards ?? 0);
    current.openedAt ??= openedAt;
    current.numberFloor ??= pointer.lastNumber ?? 0;
    return copy(current);
  }

  async placeShard(shard: number, pointer: CollectingPointer): Promise<void> {
    await this.enter('placeShard');
    const item = this.shardItems.get(shard);
    if (item && item.batchSeq >= pointer.batchSeq) return;
    this.shardItems.set(shard, { batchSeq: pointer.batchSeq, openedAt: pointer.openedAt, numberFloor: pointer.numberFloor ?? 0 });
  }

  async readReleaseState(releaseId: string): Promise<{ release?: Release; pointer?: CollectingPointer }> {
    await this.enter('readReleaseState');
    return { release: copy(this.releases.get(releaseId)), pointer: copy(this.pointer) };
  }

  async readRelease(releaseId: string): Promise<Release | undefined> {
    await this.enter('readRelease');
    return copy(this.releases.get(releaseId));
  }

  async fencePointer(pointer: CollectingPointer, stamp: ReleaseStamp) {
    await this.enter('fencePointer');
    const current = this.pointer;
    if (!current || current.batchSeq !== pointer.batchSeq || current.release) return undefined;
    current.release = { ...stamp };
    return copy(current);
  }

  async fenceShards(pointer: CollectingPointer): Promise<void> {
    await this.enter('fenceShards');
    const releaseId = pointer.release?.releaseId;
    if (!releaseId) throw new Error('fenceShards needs a fenced pointer');
    for (let shard = 0; shard < (pointer.shards ?? 0); shard++) {
      const item = this.shardItems.get(shard);
      if (item && item.batchSeq > pointer.batchSeq) continue;
      if (item && item.batchSeq === pointer.batchSeq && item.releaseId !== undefined && item.releaseId !== releaseId) continue;
      this.shardItems.set(shard, { ...item, batchSeq: pointer.batchSeq, releaseId });
    }
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

  async listBatchEntries(batchId: string, afterNumber: number, limit: number, shards: { from: number; to: number }) {
    await this.enter('listBatchEntries');
    const entries: BatchEntry[] = [];
    for (let shard = shards.from; shard < shards.to; shard++) {
      for (const [sessionNumber, sessionId] of this.members.get(batchId)?.get(shard) ?? []) {
        entries.push({ sessionId, assignment: { batchId, sessionNumber } });
      }
    }
    // Sessions the counter layout scheduled are listed in the batch index, once (with shard 0).
    if (shards.from === 0) {
      for (const [sessionId, assignment] of this.legacyAssignments) {
        if (assignment.batchId === batchId) entries.push({ sessionId, assignment: { ...assignment } });
      }
    }
    return entries
      .filter((e) => e.assignment.sessionNumber > afterNumber)
      .sort((a, b) => a.assignment.sessionNumber - b.assignment.sessionNumber)
      .slice(0, limit);
  }

  async readSession(sessionId: string, eventsLimit: number): Promise<{ session?: StoredSession; events: Event[] }> {
    await this.enter('readSession');
    // The table's event sort key is (created_at, event_id): oldest first, ties by id.
    const events = [...(this.events.get(sessionId) ?? [])]
      .sort((a, b) => a.created_at - b.created_at || (a.event_id < b.event_id ? -1 : a.event_id > b.event_id ? 1 : 0))
      .slice(0, eventsLimit)
      .map(copy);
    return { session: this.storedSession(sessionId), events };
  }

  private storedSession(sessionId: string): StoredSession | undefined {
    const session = this.sessions.get(sessionId);
    if (!session) return undefined;
    const assignment = this.assignmentOf(sessionId);
    return { ...copy(session), ...(assignment && { assignment }) };
  }

  private membersOf(batchId: string, shard: number): Map<number, string> {
    const byShard = this.members.get(batchId) ?? new Map<number, Map<number, string>>();
    this.members.set(batchId, byShard);
    const members = byShard.get(shard) ?? new Map<number, string>();
    byShard.set(shard, members);
    return members;
  }

  private async enter(method: StoreMethod): Promise<void> {
    this.calls.push(method);
    await this.beforeCall?.(method);
  }
}
