import {
  GetCommand,
  PutCommand,
  QueryCommand,
  UpdateCommand,
  type DynamoDBDocumentClient,
  type QueryCommandInput,
} from '@aws-sdk/lib-dynamodb';
import { ServiceUnavailable, SessionNotFound } from '../domain/errors';
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
import {
  assignmentAttributes,
  pointerKey,
  releaseItem,
  toEvent,
  toPointer,
  toRelease,
  toStoredSession,
} from './items';
import { batchPartition, isSessionSortKey, releaseKey, sessionKey, sessionPartition } from './keys';
import { TABLE } from './table';

type Item = Record<string, unknown>;

/** Pointer reads and writes one request may make before giving up with a 503 (contention is transient). */
const MAX_POINTER_ROUNDS = 8;

/** Writes a map of attributes as `SET #a = :a, …` so callers never spell expressions by hand. */
function setExpression(attributes: Item) {
  const names: Record<string, string> = {};
  const values: Record<string, unknown> = {};
  const parts = Object.entries(attributes).map(([name, value], i) => {
    names[`#s${i}`] = name;
    values[`:s${i}`] = value;
    return `#s${i} = :s${i}`;
  });
  return { expression: `SET ${parts.join(', ')}`, names, values };
}

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
    for (let attempt = 0; attempt < MAX_POINTER_ROUNDS; attempt++) {
      const updated = await conditional(() =>
        this.db.send(
          new UpdateCommand({
            TableName: this.tableName,
            Key: pointerKey(),
            UpdateExpression:
              'SET batch_id = if_not_exists(batch_id, :firstBatch), batch_seq = if_not_exists(batch_seq, :one) ADD last_number :one',
            ConditionExpression: 'attribute_not_exists(release_id)',
            ExpressionAttributeValues: { ':firstBatch': batchIdOf(1), ':one': 1 },
            ReturnValues: 'ALL_NEW',
          }),
        ),
      );
      if (updated?.Attributes) {
        const pointer = toPointer(updated.Attributes);
        return { granted: { batchId: pointer.batchId, sessionNumber: pointer.lastNumber } };
      }
      // dynalite ignores ReturnValuesOnConditionCheckFailure, so read the released pointer.
      const pointer = await this.readPointer();
      if (pointer?.release) return { released: pointer };
      // Replaced by the next batch between our two calls: take a number from it.
    }
    throw new ServiceUnavailable('The collecting batch keeps changing under this request; try again.');
  }

  async openNextBatch(released: CollectingPointer): Promise<Assignment | undefined> {
    const next = { batchSeq: released.batchSeq + 1, batchId: batchIdOf(released.batchSeq + 1) };
    const opened = await conditional(() =>
      this.db.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: pointerKey(),
          UpdateExpression:
            'SET batch_id = :batchId, batch_seq = :batchSeq, last_number = :one REMOVE release_id, released_at, release_origin',
          ConditionExpression: 'release_id = :releaseId AND batch_seq = :releasedSeq',
          ExpressionAttributeValues: {
            ':batchId': next.batchId,
            ':batchSeq': next.batchSeq,
            ':one': 1,
            ':releaseId': released.release?.releaseId,
            ':releasedSeq': released.batchSeq,
          },
        }),
      ),
    );
    return opened ? { batchId: next.batchId, sessionNumber: 1 } : undefined;
  }

  async assignSession(sessionId: string, assignment: Assignment, scheduledAt: number): Promise<Assignment> {
    const set = setExpression(assignmentAttributes(assignment.batchId, assignment.sessionNumber, scheduledAt));
    const written = await conditional(() =>
      this.db.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: sessionKey(sessionId),
          UpdateExpression: set.expression,
          ConditionExpression: 'attribute_exists(#pk) AND attribute_not_exists(#batch)',
          ExpressionAttributeNames: { ...set.names, '#pk': TABLE.partitionKey, '#batch': 'batch_id' },
          ExpressionAttributeValues: set.values,
        }),
      ),
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
    const updated = await conditional(() =>
      this.db.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: pointerKey(),
          UpdateExpression: 'SET release_id = :releaseId, released_at = :releasedAt, release_origin = :origin',
          ConditionExpression: 'batch_seq = :seq AND attribute_not_exists(release_id)',
          ExpressionAttributeValues: {
            ':releaseId': stamp.releaseId,
            ':releasedAt': stamp.releasedAt,
            ':origin': stamp.origin,
            ':seq': pointer.batchSeq,
          },
          ReturnValues: 'ALL_NEW',
        }),
      ),
    );
    return updated?.Attributes ? toPointer(updated.Attributes) : undefined;
  }

  async writeRelease(release: Release, origin: ReleaseOrigin): Promise<void> {
    // Unconditional: a released pointer always yields the same record, so a
    // second writer (roll-forward) writes the same bytes.
    await call(() => this.db.send(new PutCommand({ TableName: this.tableName, Item: releaseItem(release, origin) })));
  }

  async readPointer(): Promise<CollectingPointer | undefined> {
    const item = await this.get(pointerKey());
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
