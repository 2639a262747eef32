/**
 * Writes sessions and events (the import command, the demo seed and tests).
 *
 * Events go in BatchWriteItem requests of 25, retrying unprocessed items:
 * an event's key is (session, created_at, event_id), so a rewrite is a no-op.
 * Sessions go one UpdateItem each, because BatchWriteItem can only Put whole
 * items, and a Put would erase the batch assignment of a scheduled session.
 */
import { BatchWriteCommand, GetCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { Assignment, CollectingPointer } from '../domain/model';
import type { Event, Session } from '../schemas';
import { backoff, batchGetAll, MAX_UNPROCESSED_ROUNDS } from './batch-get';
import { call } from './errors';
import { expression } from './expressions';
import { eventItem, storedSessionFields, toAssignment, toPointer } from './items';
import { assignmentKey, collectingPointerKey, sessionKey } from './keys';
import { TABLE } from './table';

export const BATCH_WRITE_SIZE = 25;

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
    const [pointer, found] = await Promise.all([
      this.db.send(new GetCommand({ TableName: this.tableName, Key: collectingPointerKey(), ConsistentRead: true })),
      // Each session's assignment item, and its session item for sessions the counter layout scheduled.
      batchGetAll(this.db, this.tableName, sessionIds.flatMap((id) => [assignmentKey(id), sessionKey(id)]), {
        attributes: [TABLE.partitionKey, TABLE.sortKey, 'session_id', 'batch_id', 'session_number'],
      }),
    ]);
    const assignments = new Map<string, Assignment>();
    for (const item of found) {
      const assignment = toAssignment(item);
      if (assignment) assignments.set(item.session_id as string, assignment);
    }
    return { assignments, pointer: pointer.Item && toPointer(pointer.Item) };
  }

  /** Writes the session's fields, removing optional ones it no longer has; never touches its batch assignment. */
  async upsertSession(session: Session): Promise<void> {
    const upsert = expression().set(storedSessionFields(session));
    await call(() => this.db.send(new UpdateCommand({ TableName: this.tableName, Key: sessionKey(session.session_id), ...upsert.build() })));
  }

  private async batchPut(items: Record<string, unknown>[]): Promise<void> {
    let requests = items.map((Item) => ({ PutRequest: { Item } }));
    for (let round = 0; requests.length > 0; round++) {
      if (round === MAX_UNPROCESSED_ROUNDS) throw new Error(`${requests.length} items stayed unprocessed after ${round} rounds`);
      if (round > 0) await backoff(round);
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

