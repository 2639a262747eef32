import {
  GetCommand,
  PutCommand,
  QueryCommand,
  UpdateCommand,
  type DynamoDBDocumentClient,
  type QueryCommandInput,
} from '@aws-sdk/lib-dynamodb';
import { SessionNotFound } from '../domain/errors';
import {
  batchIdOf,
  type Assignment,
  type CollectingPointer,
  type Release,
  type ReleaseOrigin,
  type ReleaseStamp,
} from '../domain/model';
import type { BatchEntry, NumberGrant, SessionStore } from '../domain/store';
import { call, conditional } from './errors';
import { expression } from './expressions';
import {
  assignmentAttributes,
  batchRecordItem,
  POINTER,
  releaseItem,
  toEvent,
  toPointer,
  toRelease,
  toStoredSession,
} from './items';
import { batchPartition, collectingPointerKey, isSessionSortKey, releaseKey, sessionKey, sessionPartition } from './keys';
import { TABLE } from './table';

type Item = Record<string, unknown>;

export class DynamoSessionStore implements SessionStore {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  async findSession(sessionId: string) {
    const { Items = [] } = await call(() =>
      this.db.send(
        new QueryCommand({
          TableName: this.tableName,
          KeyConditionExpression: '#pk = :pk',
          ExpressionAttributeNames: { '#pk': TABLE.partitionKey },
          ExpressionAttributeValues: { ':pk': sessionPartition(sessionId) },
          ConsistentRead: true,
          Limit: 2,
        }),
      ),
    );
    const [first] = Items;
    if (!first || !isSessionSortKey(first[TABLE.sortKey])) return undefined;
    return { session: toStoredSession(first), hasEvents: Items.length > 1 };
  }

  async takeNumber(): Promise<NumberGrant> {
    const take = expression()
      .setIfMissing({ [POINTER.batchId]: batchIdOf(1), [POINTER.batchSeq]: 1 })
      .add(POINTER.lastNumber, 1)
      .ifNotExists(POINTER.releaseId);
    const updated = await conditional(() =>
      this.db.send(
        new UpdateCommand({ TableName: this.tableName, Key: collectingPointerKey(), ...take.build(), ReturnValues: 'ALL_NEW' }),
      ),
    );
    if (updated?.Attributes) {
      const pointer = toPointer(updated.Attributes);
      return { granted: { batchId: pointer.batchId, sessionNumber: pointer.lastNumber } };
    }
    // dynalite ignores ReturnValuesOnConditionCheckFailure, so read the released pointer.
    const pointer = await this.readPointer();
    // Replaced by the next batch between our two calls: the caller takes a number again.
    return pointer?.release ? { released: pointer } : { moved: true };
  }

  async openNextBatch(released: CollectingPointer): Promise<Assignment | undefined> {
    const next = { batchSeq: released.batchSeq + 1, batchId: batchIdOf(released.batchSeq + 1) };
    const open = expression()
      .set({ [POINTER.batchId]: next.batchId, [POINTER.batchSeq]: next.batchSeq, [POINTER.lastNumber]: 1 })
      .remove(POINTER.releaseId, POINTER.releasedAt, POINTER.releaseOrigin)
      .ifEquals(POINTER.releaseId, released.release?.releaseId)
      .ifEquals(POINTER.batchSeq, released.batchSeq);
    const opened = await conditional(() =>
      this.db.send(new UpdateCommand({ TableName: this.tableName, Key: collectingPointerKey(), ...open.build() })),
    );
    return opened ? { batchId: next.batchId, sessionNumber: 1 } : undefined;
  }

  async assignSession(sessionId: string, assignment: Assignment, scheduledAt: number): Promise<Assignment> {
    const assign = expression()
      .set(assignmentAttributes(assignment.batchId, assignment.sessionNumber, scheduledAt))
      .ifExists(TABLE.partitionKey)
      .ifNotExists('batch_id');
    const written = await conditional(() =>
      this.db.send(new UpdateCommand({ TableName: this.tableName, Key: sessionKey(sessionId), ...assign.build() })),
    );
    if (written) return assignment;
    // A concurrent request assigned it first: ours is a burnt number, theirs stands.
    const { Item } = await call(() =>
      this.db.send(new GetCommand({ TableName: this.tableName, Key: sessionKey(sessionId), ConsistentRead: true })),
    );
    const existing = Item && toStoredSession(Item).assignment;
    if (!existing) throw new SessionNotFound(sessionId);
    return existing;
  }

  async readReleaseState(releaseId: string) {
    // Pointer first, then the record: a record still absent after the pointer read means the
    // pointer has not moved past this release. Read in parallel, a roll-forward could land in
    // between and the retry would fence the next batch under the same id.
    const pointer = await this.readPointer();
    const release = await this.get(releaseKey(releaseId));
    return { release: release && toRelease(release), pointer };
  }

  async markReleased(pointer: CollectingPointer, stamp: ReleaseStamp) {
    const fence = expression()
      .set({ [POINTER.releaseId]: stamp.releaseId, [POINTER.releasedAt]: stamp.releasedAt, [POINTER.releaseOrigin]: stamp.origin })
      .ifEquals(POINTER.batchSeq, pointer.batchSeq)
      .ifNotExists(POINTER.releaseId);
    const updated = await conditional(() =>
      this.db.send(
        new UpdateCommand({ TableName: this.tableName, Key: collectingPointerKey(), ...fence.build(), ReturnValues: 'ALL_NEW' }),
      ),
    );
    return updated?.Attributes ? toPointer(updated.Attributes) : undefined;
  }

  async writeRelease(release: Release, origin: ReleaseOrigin): Promise<void> {
    // Unconditional: a released pointer always yields the same record, so a
    // second writer (roll-forward) writes the same bytes.
    await call(() => this.db.send(new PutCommand({ TableName: this.tableName, Item: releaseItem(release, origin) })));
  }

  async writeBatchRecord(release: Release): Promise<void> {
    await call(() => this.db.send(new PutCommand({ TableName: this.tableName, Item: batchRecordItem(release) })));
  }

  async readPointer(): Promise<CollectingPointer | undefined> {
    const item = await this.get(collectingPointerKey());
    return item && toPointer(item);
  }

  async listBatchEntries(batchId: string, afterNumber: number, limit: number): Promise<BatchEntry[]> {
    // The session's id and number only: its content comes from its own item, read next.
    const items = await this.queryAll(
      {
        IndexName: TABLE.gsi1.indexName,
        KeyConditionExpression: '#pk = :pk AND #sk > :after',
        ProjectionExpression: '#id, #sk',
        ExpressionAttributeNames: { '#pk': TABLE.gsi1.partitionKey, '#sk': TABLE.gsi1.sortKey, '#id': 'session_id' },
        ExpressionAttributeValues: { ':pk': batchPartition(batchId), ':after': afterNumber },
      },
      limit,
    );
    return items.map((item) => ({
      sessionId: item.session_id as string,
      assignment: { batchId, sessionNumber: item[TABLE.gsi1.sortKey] as number },
    }));
  }

  async readSession(sessionId: string, eventsLimit: number) {
    // `#SESSION` sorts before `EVENT#…`: the item first, then its events, oldest first.
    const items = await this.queryAll(
      {
        KeyConditionExpression: '#pk = :pk',
        ExpressionAttributeNames: { '#pk': TABLE.partitionKey },
        ExpressionAttributeValues: { ':pk': sessionPartition(sessionId) },
        ConsistentRead: true,
      },
      eventsLimit + 1,
    );
    const [first] = items;
    const session = first && isSessionSortKey(first[TABLE.sortKey]) ? toStoredSession(first) : undefined;
    const events = (session ? items.slice(1) : items.slice(0, eventsLimit)).map(toEvent);
    return { session, events };
  }

  private async get(key: Item): Promise<Item | undefined> {
    const { Item } = await call(() =>
      this.db.send(new GetCommand({ TableName: this.tableName, Key: key, ConsistentRead: true })),
    );
    return Item;
  }

  /** Queries up to `limit` items, following LastEvaluatedKey: DynamoDB ends every page at 1 MB. */
  private async queryAll(input: Omit<QueryCommandInput, 'TableName' | 'Limit'>, limit: number): Promise<Item[]> {
    const items: Item[] = [];
    let startKey: Item | undefined;
    do {
      const page = await call(() =>
        this.db.send(
          new QueryCommand({
            ...input,
            TableName: this.tableName,
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
}
