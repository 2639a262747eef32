/**
 * Writes sessions and events (the import command, the demo seed and tests).
 *
 * Events go in BatchWriteItem requests of 25, retrying unprocessed items:
 * an event's key is (session, created_at, event_id), so a rewrite is a no-op.
 * Sessions go one UpdateItem each, because BatchWriteItem can only Put whole
 * items, and a Put would erase the batch assignment of a scheduled session.
 */
import { BatchGetCommand, BatchWriteCommand, GetCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { Assignment, CollectingPointer } from '../domain/model';
import type { Event, Session } from '../schemas';
import { conditional } from './errors';
import { expression } from './expressions';
import { eventItem, storedSessionFields, toPointer, toStoredSession } from './items';
import { collectingPointerKey, sessionKey } from './keys';
import { TABLE } from './table';

export const BATCH_WRITE_SIZE = 25;
const BATCH_GET_SIZE = 100;
const MAX_UNPROCESSED_ROUNDS = 10;

export class SessionWriter {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  async putEvents(events: readonly Event[]): Promise<void> {
    const chunks: Event[][] = [];
    for (let i = 0; i < events.length; i += BATCH_WRITE_SIZE) chunks.push(events.slice(i, i + BATCH_WRITE_SIZE));
    await Promise.all(chunks.map((chunk) => this.batchPut(chunk.map(eventItem))));
  }

  /**
   * Where each of these sessions sits, for those scheduled, and the collecting
   * pointer: what an import checks its lines against right before writing them.
   */
  async readImportState(sessionIds: readonly string[]): Promise<ImportState> {
    const chunks: string[][] = [];
    for (let i = 0; i < sessionIds.length; i += BATCH_GET_SIZE) chunks.push(sessionIds.slice(i, i + BATCH_GET_SIZE));
    const [pointer, ...found] = await Promise.all([
      this.db.send(new GetCommand({ TableName: this.tableName, Key: collectingPointerKey(), ConsistentRead: true })),
      ...chunks.map((chunk) => this.batchGet(chunk.map(sessionKey))),
    ]);
    const assignments = new Map<string, Assignment>();
    for (const item of found.flat()) {
      const { session_id, assignment } = toStoredSession(item);
      if (assignment) assignments.set(session_id, assignment);
    }
    return { assignments, pointer: pointer.Item && toPointer(pointer.Item) };
  }

  /**
   * Writes the session's fields, removing optional ones it no longer has; never touches its batch assignment.
   * With `ifUnscheduled`, only while it has no assignment: false if it was scheduled meanwhile.
   */
  async upsertSession(session: Session, options: { ifUnscheduled?: boolean } = {}): Promise<boolean> {
    const upsert = expression().set(storedSessionFields(session));
    if (options.ifUnscheduled) upsert.ifNotExists('batch_id');
    const written = await conditional(() =>
      this.db.send(new UpdateCommand({ TableName: this.tableName, Key: sessionKey(session.session_id), ...upsert.build() })),
    );
    return written !== undefined;
  }

  /** The items at these keys (assignment attributes only), retrying unprocessed keys. */
  private async batchGet(keys: Record<string, unknown>[]): Promise<Record<string, unknown>[]> {
    const items: Record<string, unknown>[] = [];
    let pending = keys;
    for (let round = 0; pending.length > 0; round++) {
      if (round === MAX_UNPROCESSED_ROUNDS) throw new Error(`${pending.length} keys stayed unprocessed after ${round} rounds`);
      if (round > 0) await sleep(Math.min(1000, 25 * 2 ** round) * Math.random());
      const { Responses, UnprocessedKeys } = await this.db.send(
        new BatchGetCommand({
          RequestItems: {
            [this.tableName]: {
              Keys: pending,
              ConsistentRead: true,
              ProjectionExpression: '#pk, #sk, session_id, batch_id, session_number',
              ExpressionAttributeNames: { '#pk': TABLE.partitionKey, '#sk': TABLE.sortKey },
            },
          },
        }),
      );
      items.push(...(Responses?.[this.tableName] ?? []));
      pending = (UnprocessedKeys?.[this.tableName]?.Keys ?? []) as Record<string, unknown>[];
    }
    return items;
  }

  private async batchPut(items: Record<string, unknown>[]): Promise<void> {
    let requests = items.map((Item) => ({ PutRequest: { Item } }));
    for (let round = 0; requests.length > 0; round++) {
      if (round === MAX_UNPROCESSED_ROUNDS) throw new Error(`${requests.length} items stayed unprocessed after ${round} rounds`);
      if (round > 0) await sleep(Math.min(1000, 25 * 2 ** round) * Math.random());
      const { UnprocessedItems } = await this.db.send(
        new BatchWriteCommand({ RequestItems: { [this.tableName]: requests } }),
      );
      requests = (UnprocessedItems?.[this.tableName] ?? []) as typeof requests;
    }
  }
}

/** Where the sessions an import is about to write sit, and which batches are released. */
export interface ImportState {
  assignments: Map<string, Assignment>;
  pointer: CollectingPointer | undefined;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
