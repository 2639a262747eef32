import {
  GetCommand,
  PutCommand,
  QueryCommand,
  UpdateCommand,
  type DynamoDBDocumentClient,
  type QueryCommandInput,
} from '@aws-sdk/lib-dynamodb';
import { ServiceUnavailable } from '../domain/errors';
import {
  batchIdOf,
  type Assignment,
  type CollectingPointer,
  type Release,
  type ReleaseOrigin,
  type ReleaseStamp,
  type ShardState,
} from '../domain/model';
import { checkShardCount, DEFAULT_SHARDS } from '../domain/numbering';
import type {
  BatchEntry,
  FinishingStore,
  Membership,
  PagingStore,
  ReleasingStore,
  SchedulingStore,
  SessionStore,
} from '../domain/store';
import type { Event } from '../schemas';
import { call, conditional } from './errors';
import { expression } from './expressions';
import {
  assignmentItem,
  batchRecordItem,
  membershipItem,
  POINTER,
  releaseItem,
  SHARD,
  toAssignment,
  toBatchEntry,
  toEvent,
  toPointer,
  toRelease,
  toShard,
  toStoredSession,
} from './items';
import {
  assignmentKey,
  batchPartition,
  collectingPointerKey,
  isAssignmentSortKey,
  isSessionSortKey,
  memberSortKey,
  membershipPartition,
  readableSortKeyEnd,
  releaseKey,
  shardKey,
  sessionPartition,
} from './keys';
import { TABLE } from './table';

type Item = Record<string, unknown>;

/** The table a store works on: the client, the table's name, and the shards a batch it opens gets. */
export interface Table {
  db: DynamoDBDocumentClient;
  tableName: string;
  shards: number;
}

export interface StoreOptions {
  /** Shards a batch opened by this store gets (1 to 64); the count of a batch only grows. @default DEFAULT_SHARDS */
  shards?: number;
}

export function tableOf(db: DynamoDBDocumentClient, tableName: string, options: StoreOptions = {}): Table {
  return { db, tableName, shards: checkShardCount(options.shards ?? DEFAULT_SHARDS) };
}

/*
 * One store per operation, built from plain functions rather than one class:
 * each handler bundle then holds only the requests its own operation sends
 * (a class keeps every method), which keeps the bundles near a bare client.
 */

/** What scheduling needs: its own requests, and finishing a release it finds fenced. */
export const schedulingStore = (t: Table): SchedulingStore => ({
  shards: t.shards,
  findSession: (sessionId) => findSession(t, sessionId),
  readShard: (shard) => readShard(t, shard),
  touchShard: (shard, batchSeq) => touchShard(t, shard, batchSeq),
  listMember: (membership) => listMember(t, membership),
  commitAssignment: (sessionId, assignment, scheduledAt, deadline) => commitAssignment(t, sessionId, assignment, scheduledAt, deadline),
  readPointer: () => readPointer(t),
  openBatch: (after, openedAt) => openBatch(t, after, openedAt),
  widenBatch: (pointer, openedAt) => widenBatch(t, pointer, openedAt),
  placeShard: (shard, pointer) => placeShard(t, shard, pointer),
  ...finishingStore(t),
});

/** What releasing needs. */
export const releasingStore = (t: Table): ReleasingStore => ({
  readReleaseState: (releaseId) => readReleaseState(t, releaseId),
  fencePointer: (pointer, stamp) => fencePointer(t, pointer, stamp),
  ...finishingStore(t),
});

/** What paging needs. */
export const pagingStore = (t: Table): PagingStore => ({
  shards: t.shards,
  readPointer: () => readPointer(t),
  listBatchEntries: (batchId, afterNumber, limit, shards) => listBatchEntries(t, batchId, afterNumber, limit, shards),
  readSession: (sessionId, eventsLimit) => readSession(t, sessionId, eventsLimit),
});

/** Finishing a fenced release: what a release and a schedule that rolls one forward share. */
const finishingStore = (t: Table): FinishingStore => ({
  readRelease: (releaseId) => readRelease(t, releaseId),
  fenceShards: (pointer) => fenceShards(t, pointer),
  writeBatchRecord: (release) => writeBatchRecord(t, release),
  writeRelease: (release, origin) => writeRelease(t, release, origin),
});

/** Every request of the store (tests, the local tools, the bench). */
export const sessionStore = (t: Table): SessionStore => ({ ...schedulingStore(t), ...releasingStore(t), ...pagingStore(t) });

async function findSession(t: Table, sessionId: string) {
  // `#ASSIGNMENT`, then `#SESSION`, then the oldest event: Limit 3 answers all three questions
  // (bounded below the UBI sources, so a session with impressions and no events has none).
  const { Items = [] } = await call(() =>
    t.db.send(
      new QueryCommand({
        TableName: t.tableName,
        ...readablePartition(sessionId),
        ConsistentRead: true,
        Limit: 3,
      }),
    ),
  );
  const { session, assignment, rest } = splitSessionPartition(Items);
  if (!session) return undefined;
  return { session: toStoredSession(session, assignment), hasEvents: rest.length > 0 };
}

async function readShard(t: Table, shard: number): Promise<ShardState | undefined> {
  // Eventually consistent: a stale answer only makes the touch that follows fail.
  const { Item } = await call(() => t.db.send(new GetCommand({ TableName: t.tableName, Key: shardKey(shard) })));
  return Item ? toShard(shard, Item) : undefined;
}

async function touchShard(t: Table, shard: number, batchSeq: number): Promise<boolean> {
  const touch = expression().set({ [SHARD.batchSeq]: batchSeq }).ifEquals(SHARD.batchSeq, batchSeq).ifNotExists(SHARD.releaseId);
  const written = await conditional(() =>
    t.db.send(new UpdateCommand({ TableName: t.tableName, Key: shardKey(shard), ...touch.build() })),
  );
  return written !== undefined;
}

async function listMember(t: Table, membership: Membership): Promise<boolean> {
  const written = await conditional(() =>
    t.db.send(
      new PutCommand({ TableName: t.tableName, Item: membershipItem(membership), ...expression().ifNotExists(TABLE.partitionKey).build() }),
    ),
  );
  return written !== undefined;
}

async function commitAssignment(t: Table, sessionId: string, assignment: Assignment, scheduledAt: number, deadline?: number): Promise<Assignment> {
  // Abandoned at the deadline, SDK retries included: a commit sent later could land in a batch already announced.
  const abortSignal = deadline === undefined ? undefined : AbortSignal.timeout(Math.max(0, deadline - Date.now()));
  const commit = expression().ifNotExists(TABLE.partitionKey);
  let written: unknown;
  try {
    written = await conditional(() =>
      t.db.send(
        new PutCommand({ TableName: t.tableName, Item: assignmentItem(sessionId, assignment, scheduledAt), ...commit.build() }),
        { abortSignal },
      ),
    );
  } catch (error) {
    if (abortSignal?.aborted) throw new ServiceUnavailable('The request ran out of time before the session could be scheduled.', { cause: error });
    throw error;
  }
  if (written !== undefined) return assignment;
  // A concurrent request committed first: ours is a burnt number (an orphan membership), theirs stands.
  const existing = toAssignment(await get(t, assignmentKey(sessionId)));
  if (!existing) throw new ServiceUnavailable(`The assignment of session ${sessionId} could not be read back; try again.`);
  return existing;
}

async function readPointer(t: Table): Promise<CollectingPointer | undefined> {
  const item = await get(t, collectingPointerKey());
  return item && toPointer(item);
}

async function openBatch(t: Table, after: CollectingPointer | undefined, openedAt: number): Promise<CollectingPointer | undefined> {
  const batchSeq = (after?.batchSeq ?? 0) + 1;
  const fields = {
    [POINTER.batchSeq]: batchSeq,
    [POINTER.batchId]: batchIdOf(batchSeq),
    [POINTER.openedAt]: openedAt,
    // The count of a batch only grows: a listing reads every shard a batch may have had.
    [POINTER.shards]: Math.max(t.shards, after?.shards ?? 0),
    [POINTER.numberFloor]: 0,
  };
  if (!after) {
    const created = await conditional(() =>
      t.db.send(
        new PutCommand({
          TableName: t.tableName,
          Item: { ...collectingPointerKey(), ...fields },
          ...expression().ifNotExists(TABLE.partitionKey).build(),
        }),
      ),
    );
    return created && toPointer(fields);
  }
  if (!after.release) throw new Error('openBatch needs a released pointer');
  const open = expression()
    .set(fields)
    .remove(POINTER.releaseId, POINTER.releasedAt, POINTER.releaseOrigin, POINTER.lastNumber)
    .ifEquals(POINTER.releaseId, after.release.releaseId)
    .ifEquals(POINTER.batchSeq, after.batchSeq);
  return updatePointer(t, open);
}

async function widenBatch(t: Table, pointer: CollectingPointer, openedAt: number): Promise<CollectingPointer | undefined> {
  const widen = expression()
    .set({ [POINTER.shards]: Math.max(t.shards, pointer.shards ?? 0) })
    // A batch the counter layout opened: sharded numbers start above the numbers its counter handed out.
    .setIfMissing({ [POINTER.openedAt]: openedAt, [POINTER.numberFloor]: pointer.lastNumber ?? 0 })
    .ifEquals(POINTER.batchSeq, pointer.batchSeq)
    .ifNotExists(POINTER.releaseId);
  return updatePointer(t, widen);
}

async function placeShard(t: Table, shard: number, pointer: CollectingPointer): Promise<void> {
  const place = expression()
    .set({ [SHARD.batchSeq]: pointer.batchSeq, [SHARD.openedAt]: pointer.openedAt, [SHARD.numberFloor]: pointer.numberFloor ?? 0 })
    .remove(SHARD.releaseId)
    // Only forward: a shard already at this batch (or fenced there) stays as it is.
    .where((e) => `attribute_not_exists(${e.name(SHARD.batchSeq)}) OR ${e.name(SHARD.batchSeq)} < ${e.value(pointer.batchSeq)}`);
  await conditional(() => t.db.send(new UpdateCommand({ TableName: t.tableName, Key: shardKey(shard), ...place.build() })));
}

async function readReleaseState(t: Table, releaseId: string) {
  // Pointer first, then the record: a record still absent after the pointer read means the
  // pointer has not moved past this release. Read in parallel, a roll-forward could land in
  // between and the retry would fence the next batch under the same id.
  const pointer = await readPointer(t);
  return { release: await readRelease(t, releaseId), pointer };
}

async function readRelease(t: Table, releaseId: string): Promise<Release | undefined> {
  const item = await get(t, releaseKey(releaseId));
  return item && toRelease(item);
}

async function fencePointer(t: Table, pointer: CollectingPointer, stamp: ReleaseStamp) {
  const fence = expression()
    .set({ [POINTER.releaseId]: stamp.releaseId, [POINTER.releasedAt]: stamp.releasedAt, [POINTER.releaseOrigin]: stamp.origin })
    .ifEquals(POINTER.batchSeq, pointer.batchSeq)
    .ifNotExists(POINTER.releaseId);
  return updatePointer(t, fence);
}

async function fenceShards(t: Table, pointer: CollectingPointer): Promise<void> {
  const releaseId = pointer.release?.releaseId;
  if (!releaseId) throw new Error('fenceShards needs a fenced pointer');
  const shards = Array.from({ length: pointer.shards ?? 0 }, (_, shard) => shard);
  await Promise.all(
    shards.map((shard) => {
      // At this batch (fenced by no one else) or behind it, or never placed. A shard already past it
      // was moved on by the batch after, which opened only once this release was finished.
      const fence = expression()
        .set({ [SHARD.batchSeq]: pointer.batchSeq, [SHARD.releaseId]: releaseId })
        .where((e) => {
          const [seq, release, batch] = [e.name(SHARD.batchSeq), e.name(SHARD.releaseId), e.value(pointer.batchSeq)];
          return `attribute_not_exists(${seq}) OR ${seq} < ${batch} OR (${seq} = ${batch} AND (attribute_not_exists(${release}) OR ${release} = ${e.value(releaseId)}))`;
        });
      return conditional(() => t.db.send(new UpdateCommand({ TableName: t.tableName, Key: shardKey(shard), ...fence.build() })));
    }),
  );
}

async function writeRelease(t: Table, release: Release, origin: ReleaseOrigin): Promise<void> {
  // Unconditional: a released pointer always yields the same record, so a
  // second writer (roll-forward) writes the same bytes.
  await call(() => t.db.send(new PutCommand({ TableName: t.tableName, Item: releaseItem(release, origin) })));
}

async function writeBatchRecord(t: Table, release: Release): Promise<void> {
  await call(() => t.db.send(new PutCommand({ TableName: t.tableName, Item: batchRecordItem(release) })));
}

async function listBatchEntries(t: Table, batchId: string, afterNumber: number, limit: number, shards: { from: number; to: number }) {
  const listings = Array.from({ length: shards.to - shards.from }, (_, i) =>
    queryAll(t,
      {
        KeyConditionExpression: '#pk = :pk AND #sk > :after',
        ExpressionAttributeNames: { '#pk': TABLE.partitionKey, '#sk': TABLE.sortKey },
        ExpressionAttributeValues: { ':pk': membershipPartition(batchId, shards.from + i), ':after': memberSortKey(afterNumber) },
        ConsistentRead: true,
      },
      limit,
    ),
  );
  // Sessions scheduled before sharding are listed in the batch index only (listed once, with shard 0).
  if (shards.from === 0) {
    listings.push(
      queryAll(t,
        {
          IndexName: TABLE.gsi1.indexName,
          KeyConditionExpression: '#pk = :pk AND #sk > :after',
          ProjectionExpression: '#id, #sk',
          ExpressionAttributeNames: { '#pk': TABLE.gsi1.partitionKey, '#sk': TABLE.gsi1.sortKey, '#id': 'session_id' },
          ExpressionAttributeValues: { ':pk': batchPartition(batchId), ':after': afterNumber },
        },
        limit,
      ),
    );
  }
  const entries: BatchEntry[] = (await Promise.all(listings)).flat().map((item) => toBatchEntry(item, batchId));
  return entries.sort((a, b) => a.assignment.sessionNumber - b.assignment.sessionNumber).slice(0, limit);
}

async function readSession(t: Table, sessionId: string, eventsLimit: number) {
  // The assignment and the session item come first, then the events, oldest first.
  const items = await queryAll(t,
    {
      ...readablePartition(sessionId),
      ConsistentRead: true,
    },
    eventsLimit + 2,
  );
  const { session, assignment, rest } = splitSessionPartition(items);
  const events: Event[] = rest.slice(0, eventsLimit).map(toEvent);
  return { session: session && toStoredSession(session, assignment), events };
}

async function updatePointer(t: Table, update: ReturnType<typeof expression>): Promise<CollectingPointer | undefined> {
  const updated = await conditional(() =>
    t.db.send(
      new UpdateCommand({ TableName: t.tableName, Key: collectingPointerKey(), ...update.build(), ReturnValues: 'ALL_NEW' }),
    ),
  );
  return updated?.Attributes ? toPointer(updated.Attributes) : undefined;
}

async function get(t: Table, key: Item): Promise<Item | undefined> {
  const { Item } = await call(() =>
    t.db.send(new GetCommand({ TableName: t.tableName, Key: key, ConsistentRead: true })),
  );
  return Item;
}

/** Queries up to `limit` items, following LastEvaluatedKey: DynamoDB ends every page at 1 MB. */
async function queryAll(t: Table, input: Omit<QueryCommandInput, 'TableName' | 'Limit'>, limit: number): Promise<Item[]> {
  const items: Item[] = [];
  let startKey: Item | undefined;
  do {
    const page = await call(() =>
      t.db.send(
        new QueryCommand({
          ...input,
          TableName: t.tableName,
          Limit: limit - items.length,
          ExclusiveStartKey: startKey,
        }),
      ),
    );
    items.push(...(page.Items ?? []));
    startKey = page.LastEvaluatedKey;
  } while (startKey && items.length < limit);
  return items;
}

/** A session's partition up to its events: the UBI import's sources, sorted after them, are the import's alone. */
const readablePartition = (sessionId: string) => ({
  KeyConditionExpression: '#pk = :pk AND #sk < :end',
  ExpressionAttributeNames: { '#pk': TABLE.partitionKey, '#sk': TABLE.sortKey },
  ExpressionAttributeValues: { ':pk': sessionPartition(sessionId), ':end': readableSortKeyEnd },
});

/** A session partition's items, in key order: its assignment (if any), its session item (if any), then the rest (events). */
function splitSessionPartition(items: Item[]) {
  let i = 0;
  const assignment = isAssignmentSortKey(items[i]?.[TABLE.sortKey]) ? items[i++] : undefined;
  const session = isSessionSortKey(items[i]?.[TABLE.sortKey]) ? items[i++] : undefined;
  return { assignment, session, rest: items.slice(i) };
}
